"""RoBERTa: BERT's encoder (:mod:`modelyard.models.bert.modeling_bert`) with RoBERTa's position numbering and heads.

What differs from BERT, and lives here: positions are counted from ``pad_token_id + 1`` over the real tokens
(padding keeps position ``pad_token_id``, whose embedding row is the padding row), the masked-LM head is
``lm_head`` (dense, GELU, LayerNorm, tied decoder), and sequence classification reads the first token through
its own dense + tanh layer (``classifier.dense`` / ``classifier.out_proj``) instead of BERT's pooler. Weight
names follow the reference's checkpoints (``roberta.*``, ``lm_head.*``).

The task heads are BERT's (:class:`~modelyard.models.bert.modeling_bert.BertForMaskedLM` and the rest) with
RoBERTa's base model under ``roberta`` (:meth:`RobertaPreTrainedModel.build_base_model`) and, for the
language-model heads, ``lm_head`` in place of ``cls`` (:class:`_RobertaLMHeadMixin`); what is BERT's is not
written again here.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from modelyard.layers import heads
from modelyard.models.bert.modeling_bert import (
    BertEmbeddings,
    BertForMaskedLM,
    BertForMultipleChoice,
    BertForQuestionAnswering,
    BertForTokenClassification,
    BertLMHeadModel,
    BertModel,
    BertPreTrainedModel,
    _BertHead,
    _TiedPredictions,
    classifier_dropout_prob,
)
from modelyard.models.roberta.configuration_roberta import RobertaConfig
from modelyard.outputs import BaseModelOutputWithPoolingAndCrossAttentions

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

    def absolute_position_ids(
        self, input_ids: Tensor | None, position_ids: Tensor | None, inputs_embeds: Tensor, past_length: int
    ) -> Tensor | None:
        if position_ids is None:
            if input_ids is not None:
                position_ids = create_position_ids_from_input_ids(input_ids, self.padding_idx, past_length)
            else:
                start = self.padding_idx + 1 + past_length
                positions = torch.arange(start, start + inputs_embeds.shape[1], device=inputs_embeds.device)
                position_ids = positions.unsqueeze(0).expand(inputs_embeds.shape[:2])
        if int(position_ids.max()) >= self.position_embeddings.num_embeddings:
            raise ValueError(
                f"Position {int(position_ids.max())} exceeds max_position_embeddings="
                f"{self.position_embeddings.num_embeddings} of this model (RoBERTa counts positions from "
                f"pad_token_id + 1 = {self.padding_idx + 1}); truncate the input (tokenizer: truncation=True)."
            )
        return position_ids


class RobertaLMHead(heads.TiedDecoderBias):
    """Dense, GELU, LayerNorm, then a vocabulary projection tied to the word embeddings. ``bias`` and
    ``decoder.bias`` are one parameter (checkpoints store it as ``lm_head.bias``)."""

    def __init__(self, config: RobertaConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.share_decoder_bias(config.vocab_size)

    def forward(self, features: Tensor) -> Tensor:
        # the exact (erf) GELU, whatever config.hidden_act says, as RoBERTa was trained
        return self.decoder(self.layer_norm(F.gelu(self.dense(features))))


class RobertaClassificationHead(nn.Module):
    """The sentence classifier: the first token (``<s>``), dropout, dense + tanh, dropout, projection."""

    def __init__(self, config: RobertaConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(classifier_dropout_prob(config))  # type: ignore[arg-type]  # BERT's rule on RoBERTa's settings
        self.out_proj = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, features: Tensor) -> Tensor:
        first = self.dropout(features[:, 0, :])
        return self.out_proj(self.dropout(torch.tanh(self.dense(first))))


class RobertaPreTrainedModel(BertPreTrainedModel):
    """Weight initialisation and loading rules shared by every RoBERTa class."""

    config_class = RobertaConfig  # type: ignore[assignment]  # RoBERTa's own configuration, not BERT's
    base_model_prefix = "roberta"

    def build_base_model(self, config: RobertaConfig, *, add_pooling_layer: bool = True) -> None:  # type: ignore[override]  # RoBERTa's configuration
        """``self.roberta = RobertaModel(...)``: the base model of every task head."""
        self.roberta = RobertaModel(config, add_pooling_layer)


class RobertaModel(RobertaPreTrainedModel, BertModel):
    """The bare RoBERTa encoder: last hidden states and (with ``add_pooling_layer``) the pooled first token.

    Everything BERT's encoder offers applies (``is_decoder`` with a key/value cache, ``add_cross_attention``,
    relative position kinds, ``head_mask``); only the position numbering differs (see the module docstring).
    """

    def __init__(self, config: RobertaConfig, add_pooling_layer: bool = True) -> None:
        super().__init__(config, add_pooling_layer)  # type: ignore[arg-type]  # BERT's encoder on RoBERTa's settings
        self.embeddings = RobertaEmbeddings(config)
        self.embeddings.apply(self._init_weights)


_NO_POOLER = [r"^(roberta\.)?pooler\."]  # the heads built without the pooler


class _RobertaLMHeadMixin(_TiedPredictions):
    """The language-model heads' ``lm_head`` (:class:`RobertaLMHead`) in place of BERT's ``cls.predictions``."""

    lm_head: RobertaLMHead
    _tied_weights_keys: ClassVar[list[str] | None] = ["lm_head.decoder.weight", "lm_head.decoder.bias"]

    def prediction_head(self) -> heads.TiedDecoderBias:
        return self.lm_head

    def build_lm_head(self, config: RobertaConfig) -> None:  # type: ignore[override]  # RoBERTa's configuration
        self.lm_head = RobertaLMHead(config)

    def lm_logits(self, hidden_states: Tensor) -> Tensor:
        return self.lm_head(hidden_states)


class RobertaForMaskedLM(_RobertaLMHeadMixin, RobertaPreTrainedModel, BertForMaskedLM):
    """RoBERTa with the masked-language-modelling head: (batch, seq, vocab) logits; ``labels`` (batch, seq) token
    ids to predict, -100 where no prediction is scored."""

    _expected_unused_keys = _NO_POOLER


class RobertaForCausalLM(_RobertaLMHeadMixin, RobertaPreTrainedModel, BertLMHeadModel):
    """RoBERTa as a left-to-right language model (``is_decoder=True`` in the config): next-token logits from the
    LM head, a key/value cache for ``generate()``, and with ``add_cross_attention`` attention over
    ``encoder_hidden_states``. ``labels`` are shifted inside (pass ``labels=input_ids``; -100 is not scored)."""

    _expected_unused_keys = _NO_POOLER


class RobertaForSequenceClassification(heads.SequenceClassificationHead, RobertaPreTrainedModel, _BertHead):
    """RoBERTa with its classifier (or regressor) on the first token. ``labels``: (batch,) class ids,
    (batch, num_labels) floats for multi-label, or floats to regress (``config.problem_type``)."""

    _expected_unused_keys = _NO_POOLER

    def __init__(self, config: RobertaConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.build_base_model(config, add_pooling_layer=False)
        self.classifier = RobertaClassificationHead(config)
        self.post_init()

    def head_logits(self, encoded: BaseModelOutputWithPoolingAndCrossAttentions) -> Tensor:
        return self.classifier(encoded.last_hidden_state)  # (batch, num_labels)


class RobertaForMultipleChoice(RobertaPreTrainedModel, BertForMultipleChoice):
    """RoBERTa scoring each of several choices: inputs are (batch, num_choices, seq), logits (batch, num_choices);
    ``labels``: (batch,) index of the right choice."""


class RobertaForTokenClassification(RobertaPreTrainedModel, BertForTokenClassification):
    """RoBERTa with a linear classifier on every token. ``labels``: (batch, seq) class ids, -100 where no label is
    scored."""

    _expected_unused_keys = _NO_POOLER


class RobertaForQuestionAnswering(RobertaPreTrainedModel, BertForQuestionAnswering):
    """RoBERTa predicting the start and end token of an answer span. ``start_positions`` / ``end_positions``:
    (batch,) token indices; positions past the end are ignored."""

    _expected_unused_keys = _NO_POOLER


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
