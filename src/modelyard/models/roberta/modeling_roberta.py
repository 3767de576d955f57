"""RoBERTa: BERT's encoder (:mod:`modelyard.models.bert.modeling_bert`) with RoBERTa's position numbering and heads.

What differs from BERT, and lives here: positions are counted from ``pad_token_id + 1`` over the real tokens
(padding keeps position ``pad_token_id``, whose embedding row is the padding row), the masked-LM head is
``lm_head`` (dense, GELU, LayerNorm, tied decoder), and sequence classification reads the first token through
its own dense + tanh layer (``classifier.dense`` / ``classifier.out_proj``) instead of BERT's pooler. Weight
names follow the reference's checkpoints (``roberta.*``, ``lm_head.*``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from modelyard.generation.utils import GenerationMixin
from modelyard.layers import heads
from modelyard.layers.decoder_heads import causal_lm_loss
from modelyard.layers.init import init_normal_
from modelyard.layers.returns import finish_output
from modelyard.models.bert.modeling_bert import BertEmbeddings, BertModel, BertPreTrainedModel
from modelyard.models.roberta.configuration_roberta import RobertaConfig
from modelyard.outputs import BaseModelOutputWithPoolingAndCrossAttentions, CausalLMOutputWithCrossAttentions

logger = logging.getLogger(__name__)

Tensor = torch.Tensor


def create_position_ids_from_input_ids(input_ids: Tensor, padding_idx: int, past_key_values_length: int = 0) -> Tensor:
    """RoBERTa's positions: ``padding_idx + 1, + 2, ...`` over the tokens that are not padding (counting on from
    ``past_key_values_length`` cached tokens), ``padding_idx`` on padding."""
    real = input_ids.ne(padding_idx).int()
    return ((torch.cumsum(real, dim=1).type_as(real) + past_key_values_length) * real).long() + padding_idx


class RobertaEmbeddings(BertEmbeddings):
    """BERT's embeddings with positions numbered from the input ids (see
    :func:`create_position_ids_from_input_ids`); without ids (``inputs_embeds``) every token is real."""

    def __init__(self, config: RobertaConfig) -> None:
        super().__init__(config)  # type: ignore[arg-type]  # BERT's embeddings read the settings both configs have
        self.padding_idx = config.pad_token_id if config.pad_token_id is not None else 1
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size,
                                                padding_idx=self.padding_idx)

    def forward(
        self,
        input_ids: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        past_key_values_length: int = 0,
    ) -> Tensor:
        if position_ids is None and self.position_embedding_type == "absolute":
            if input_ids is not None:
                position_ids = create_position_ids_from_input_ids(input_ids, self.padding_idx, past_key_values_length)
            elif inputs_embeds is not None:
                start = self.padding_idx + 1 + past_key_values_length
                positions = torch.arange(start, start + inputs_embeds.shape[1], device=inputs_embeds.device)
                position_ids = positions.unsqueeze(0).expand(inputs_embeds.shape[:2])
        if position_ids is not None and int(position_ids.max()) >= self.position_embeddings.num_embeddings:
            raise ValueError(
                f"Position {int(position_ids.max())} exceeds max_position_embeddings="
                f"{self.position_embeddings.num_embeddings} of this model (RoBERTa counts positions from "
                f"pad_token_id + 1 = {self.padding_idx + 1}); truncate the input (tokenizer: truncation=True)."
            )
        return super().forward(input_ids, token_type_ids, position_ids, inputs_embeds, past_key_values_length)


class RobertaLMHead(nn.Module):
    """Dense, GELU, LayerNorm, then a vocabulary projection tied to the word embeddings. ``bias`` and
    ``decoder.bias`` are one parameter (checkpoints store it as ``lm_head.bias``)."""

    def __init__(self, config: RobertaConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.decoder.bias = self.bias

    def tie_bias(self) -> None:
        """Make ``bias`` and ``decoder.bias`` one parameter again, keeping the one with real values (after
        loading, the other is still on the meta device; after a vocabulary resize, ``decoder.bias`` is new)."""
        decoder_bias = self.decoder.bias
        use_decoder = decoder_bias is not None and decoder_bias.device.type != "meta" and (
            self.bias.device.type == "meta" or self.bias.shape[0] != self.decoder.weight.shape[0]
        )
        if use_decoder:
            self.bias = decoder_bias
        else:
            self.decoder.bias = self.bias

    def forward(self, features: Tensor) -> Tensor:
        # the exact (erf) GELU, whatever config.hidden_act says, as RoBERTa was trained
        return self.decoder(self.layer_norm(F.gelu(self.dense(features))))


class RobertaClassificationHead(nn.Module):
    """The sentence classifier: the first token (``<s>``), dropout, dense + tanh, dropout, projection."""

    def __init__(self, config: RobertaConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(_classifier_dropout(config))
        self.out_proj = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, features: Tensor) -> Tensor:
        first = self.dropout(features[:, 0, :])
        return self.out_proj(self.dropout(torch.tanh(self.dense(first))))


def _classifier_dropout(config: RobertaConfig) -> float:
    return config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob


class RobertaPreTrainedModel(BertPreTrainedModel):
    """Weight initialisation and loading rules shared by every RoBERTa class."""

    config_class = RobertaConfig  # type: ignore[assignment]  # RoBERTa's own configuration, not BERT's
    base_model_prefix = "roberta"

    def _init_weights(self, module: nn.Module) -> None:
        if not init_normal_(module, self.config.initializer_range) and isinstance(module, RobertaLMHead):
            with torch.no_grad():
                module.bias.zero_()


class RobertaModel(RobertaPreTrainedModel, BertModel):
    """The bare RoBERTa encoder: last hidden states and (with ``add_pooling_layer``) the pooled first token.

    Everything BERT's encoder offers applies (``is_decoder`` with a key/value cache, ``add_cross_attention``,
    relative position kinds, ``head_mask``); only the position numbering differs (see the module docstring).
    """

    def __init__(self, config: RobertaConfig, add_pooling_layer: bool = True) -> None:
        super().__init__(config, add_pooling_layer)  # type: ignore[arg-type]  # BERT's encoder on RoBERTa's settings
        self.embeddings = RobertaEmbeddings(config)
        self.embeddings.apply(self._init_weights)


class _RobertaHead(RobertaPreTrainedModel):
    """The task heads' forward: ``self.roberta`` on the inputs, the head's ``head_logits``, then the generic
    head (``layers.heads``) adds the loss from ``labels`` and builds the output."""

    roberta: RobertaModel

    if TYPE_CHECKING:  # the generic head (layers.heads) first in each task class's bases gives it
        def head_forward(self, *args: Any, **kwargs: Any) -> Any: ...

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        head_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        labels: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> Any:
        encoded = self.roberta(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                               output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                               return_dict=True)
        return self.head_forward(encoded, labels, return_dict)


class _TiedLMHead:
    """Output embeddings of the classes whose ``lm_head`` decoder is tied to the word embeddings."""

    lm_head: RobertaLMHead
    _tied_weights_keys: ClassVar[list[str] | None] = ["lm_head.decoder.weight", "lm_head.decoder.bias"]

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head.decoder

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        self.lm_head.decoder = new_embeddings
        if new_embeddings.bias is not None:
            self.lm_head.bias = new_embeddings.bias

    def tie_weights(self) -> None:
        super().tie_weights()  # type: ignore[misc]  # the PreTrainedModel method, later in the MRO
        self.lm_head.tie_bias()


_NO_POOLER = [r"^(roberta\.)?pooler\."]


class RobertaForMaskedLM(_TiedLMHead, heads.MaskedLMHead, _RobertaHead):
    """RoBERTa with the masked-language-modelling head: (batch, seq, vocab) logits; ``labels`` (batch, seq) token
    ids to predict, -100 where no prediction is scored."""

    _expected_unused_keys = _NO_POOLER

    def __init__(self, config: RobertaConfig) -> None:
        super().__init__(config)
        if config.is_decoder:
            logger.warning("RobertaForMaskedLM attends both ways: set is_decoder=False in the config.")
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        self.lm_head = RobertaLMHead(config)
        self.post_init()

    def head_logits(self, encoded: BaseModelOutputWithPoolingAndCrossAttentions) -> Tensor:
        return self.lm_head(encoded.last_hidden_state)  # (batch, seq, vocab)


class RobertaForCausalLM(_TiedLMHead, RobertaPreTrainedModel, GenerationMixin):
    """RoBERTa as a left-to-right language model (``is_decoder=True`` in the config): next-token logits from the
    LM head, a key/value cache for ``generate()``, and with ``add_cross_attention`` attention over
    ``encoder_hidden_states``. ``labels`` are shifted inside (pass ``labels=input_ids``; -100 is not scored)."""

    _expected_unused_keys = _NO_POOLER

    def __init__(self, config: RobertaConfig) -> None:
        super().__init__(config)
        if not config.is_decoder:
            logger.warning("RobertaForCausalLM is a causal language model: set is_decoder=True in the config to use "
                           "it on its own.")
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        self.lm_head = RobertaLMHead(config)
        self.post_init()

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        head_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        encoder_hidden_states: Tensor | None = None,
        encoder_attention_mask: Tensor | None = None,
        labels: Tensor | None = None,
        past_key_values: Any = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        cache_position: Tensor | None = None,
        **loss_kwargs: Any,
    ) -> CausalLMOutputWithCrossAttentions | tuple[Any, ...]:
        if labels is not None:
            use_cache = False
        encoded = self.roberta(
            input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
            encoder_hidden_states=encoder_hidden_states, encoder_attention_mask=encoder_attention_mask,
            past_key_values=past_key_values, use_cache=use_cache, output_attentions=output_attentions,
            output_hidden_states=output_hidden_states, return_dict=True, cache_position=cache_position,
        )
        logits = self.lm_head(encoded.last_hidden_state)  # (batch, seq, vocab)
        loss = None
        if labels is not None:
            loss = causal_lm_loss(logits, labels, self.config.vocab_size,
                                  num_items_in_batch=loss_kwargs.get("num_items_in_batch"),
                                  shift_labels=loss_kwargs.get("shift_labels"))
        output = CausalLMOutputWithCrossAttentions(
            loss=loss, logits=logits, past_key_values=encoded.past_key_values, hidden_states=encoded.hidden_states,
            attentions=encoded.attentions, cross_attentions=encoded.cross_attentions,
        )
        return finish_output(output, return_dict, self.config)


class RobertaForSequenceClassification(heads.SequenceClassificationHead, _RobertaHead):
    """RoBERTa with its classifier (or regressor) on the first token. ``labels``: (batch,) class ids,
    (batch, num_labels) floats for multi-label, or floats to regress (``config.problem_type``)."""

    _expected_unused_keys = _NO_POOLER

    def __init__(self, config: RobertaConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        self.classifier = RobertaClassificationHead(config)
        self.post_init()

    def head_logits(self, encoded: BaseModelOutputWithPoolingAndCrossAttentions) -> Tensor:
        return self.classifier(encoded.last_hidden_state)  # (batch, num_labels)


class RobertaForMultipleChoice(heads.MultipleChoiceHead, _RobertaHead):
    """RoBERTa scoring each of several choices: inputs are (batch, num_choices, seq), logits (batch, num_choices);
    ``labels``: (batch,) index of the right choice."""

    def __init__(self, config: RobertaConfig) -> None:
        super().__init__(config)
        self.roberta = RobertaModel(config)
        self.dropout = nn.Dropout(_classifier_dropout(config))
        self.classifier = nn.Linear(config.hidden_size, 1)
        self.post_init()

    def head_logits(self, encoded: BaseModelOutputWithPoolingAndCrossAttentions) -> Tensor:
        return self.classifier(self.dropout(encoded.pooler_output))  # (batch * choices, 1)

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        head_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        labels: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> Any:
        num_choices = (input_ids if input_ids is not None else inputs_embeds).shape[1]  # type: ignore[union-attr]  # one of the two is given (checked by the base model)
        flat = self.flatten_choices  # (batch, choices, ...) -> (batch * choices, ...)
        encoded = self.roberta(flat(input_ids), flat(attention_mask), flat(token_type_ids), flat(position_ids),
                               head_mask, flat(inputs_embeds, 2), output_attentions=output_attentions,
                               output_hidden_states=output_hidden_states, return_dict=True)
        return self.head_forward(encoded, labels, return_dict, num_choices=num_choices)


class RobertaForTokenClassification(heads.TokenClassificationHead, _RobertaHead):
    """RoBERTa with a linear classifier on every token. ``labels``: (batch, seq) class ids, -100 where no label is
    scored."""

    _expected_unused_keys = _NO_POOLER

    def __init__(self, config: RobertaConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(_classifier_dropout(config))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def head_logits(self, encoded: BaseModelOutputWithPoolingAndCrossAttentions) -> Tensor:
        return self.classifier(self.dropout(encoded.last_hidden_state))  # (batch, seq, num_labels)


class RobertaForQuestionAnswering(heads.QuestionAnsweringHead, _RobertaHead):
    """RoBERTa predicting the start and end token of an answer span. ``start_positions`` / ``end_positions``:
    (batch,) token indices; positions past the end are ignored."""

    _expected_unused_keys = _NO_POOLER

    def __init__(self, config: RobertaConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def head_logits(self, encoded: BaseModelOutputWithPoolingAndCrossAttentions) -> Tensor:
        return self.qa_outputs(encoded.last_hidden_state)  # (batch, seq, 2)

    def forward(  # type: ignore[override]  # start/end positions in place of labels, as the reference
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        head_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        start_positions: Tensor | None = None,
        end_positions: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> Any:
        encoded = self.roberta(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                               output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                               return_dict=True)
        return self.head_forward(encoded, start_positions, end_positions, return_dict)


__all__ = [
    "RobertaForCausalLM",
    "RobertaForMaskedLM",
    "RobertaForMultipleChoice",
    "RobertaForQuestionAnswering",
    "RobertaForSequenceClassification",
    "RobertaForTokenClassification",
    "RobertaModel",
    "RobertaPreTrainedModel",
    "create_position_ids_from_input_ids",
]
