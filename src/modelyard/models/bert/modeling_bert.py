"""BERT: a bidirectional Transformer encoder with word, position and token-type embeddings.

Reads top to bottom: embeddings, attention, layer, encoder, pooler, the base model, then the task heads.
Submodule names equal the checkpoint keys of Hugging Face BERT checkpoints (``bert.encoder.layer.0.
attention.self.query.weight``, ``cls.predictions.transform.LayerNorm.weight``, ...), so those load as is
and what we save loads in the reference library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from modelyard.errors import ConfigurationError
from modelyard.layers import heads
from modelyard.layers.activations import get_activation
from modelyard.layers.attention import QueryKeyValueAttention, padding_mask_to_additive
from modelyard.layers.embeddings import absolute_positions
from modelyard.layers.init import init_normal_
from modelyard.layers.mlp import Intermediate, OutputProjection
from modelyard.layers.pooling import FirstTokenPooler
from modelyard.layers.pruning import prune_linear
from modelyard.layers.returns import wants_dict
from modelyard.layers.stack import LayerStack
from modelyard.modeling import PreTrainedModel
from modelyard.models.bert.configuration_bert import BertConfig
from modelyard.outputs import BaseModelOutputWithPooling

Tensor = torch.Tensor


class BertEmbeddings(nn.Module):
    """Sum of word, token-type and position embeddings, then LayerNorm and dropout."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(
        self,
        input_ids: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
    ) -> Tensor:
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)  # (batch, seq, hidden)
        positions = absolute_positions(self.position_embeddings, inputs_embeds.shape[1], position_ids)
        # Without explicit ids every row uses type 0: adding that row equals the lookup, without gathering.
        if token_type_ids is None:
            embeddings = inputs_embeds + self.token_type_embeddings.weight[0]
        else:
            embeddings = inputs_embeds + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(embeddings + positions))


class BertAttention(nn.Module):
    """Self-attention (``self``: query/key/value, on SDPA) and ``output``: dense, dropout, residual, LayerNorm."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.self = QueryKeyValueAttention(config)
        self.output = OutputProjection(
            config.hidden_size, config.hidden_size, config.hidden_dropout_prob, layer_norm_eps=config.layer_norm_eps
        )
        self.pruned_heads: set[int] = set()

    def prune_heads(self, heads: list[int]) -> None:
        """Remove heads (numbered as in the unpruned layer) from the projections."""
        index = self.self.prune(heads, self.pruned_heads)
        if index is not None:
            self.output.dense = prune_linear(self.output.dense, index, dim=1)

    def forward(
        self, hidden_states: Tensor, additive_mask: Tensor | None, head_mask: Tensor | None, output_attentions: bool
    ) -> tuple[Tensor, Tensor | None]:
        context, probs = self.self(hidden_states, additive_mask, head_mask, output_attentions)
        return self.output(context, hidden_states), probs


class BertLayer(nn.Module):
    """Self-attention block followed by the feed-forward block (post-LayerNorm)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = Intermediate(config.hidden_size, config.intermediate_size, config.hidden_act)
        self.output = OutputProjection(
            config.intermediate_size, config.hidden_size, config.hidden_dropout_prob,
            layer_norm_eps=config.layer_norm_eps,
        )

    def forward(
        self, hidden_states: Tensor, additive_mask: Tensor | None, head_mask: Tensor | None, output_attentions: bool
    ) -> tuple[Tensor, Tensor | None]:
        attention_output, probs = self.attention(hidden_states, additive_mask, head_mask, output_attentions)
        return self.output(self.intermediate(attention_output), attention_output), probs


class BertEncoder(LayerStack):
    def __init__(self, config: BertConfig) -> None:
        layers = (BertLayer(config) for _ in range(config.num_hidden_layers))
        super().__init__(layers, name="layer", layers_take_head_mask=True)


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.transform_act_fn = get_activation(config.hidden_act)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: Tensor) -> Tensor:
        return self.LayerNorm(self.transform_act_fn(self.dense(hidden_states)))


class BertLMPredictionHead(nn.Module):
    """Transform, then a vocabulary projection whose weight is tied to the word embeddings.

    ``bias`` and ``decoder.bias`` are one parameter (checkpoints store it as ``cls.predictions.bias``).
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.decoder.bias = self.bias

    def tie_bias(self) -> None:
        """Make ``bias`` and ``decoder.bias`` one parameter again, keeping the one that holds real values.

        After loading, only one of the two names was filled from the checkpoint (the other is still on
        the meta device); after a vocabulary resize, ``decoder.bias`` has the new size.
        """
        decoder_bias = self.decoder.bias
        use_decoder = decoder_bias is not None and decoder_bias.device.type != "meta" and (
            self.bias.device.type == "meta" or self.bias.shape[0] != self.decoder.weight.shape[0]
        )
        if use_decoder:
            self.bias = decoder_bias
        else:
            self.decoder.bias = self.bias

    def forward(self, hidden_states: Tensor) -> Tensor:
        return self.decoder(self.transform(hidden_states))


class BertOnlyMLMHead(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.predictions = BertLMPredictionHead(config)

    def forward(self, sequence_output: Tensor) -> Tensor:
        return self.predictions(sequence_output)


class BertPreTrainedModel(PreTrainedModel):
    """Weight initialisation and loading rules shared by every BERT class."""

    _inplace_activations = ("intermediate_act_fn", "transform_act_fn", "activation")  # optimize_for_inference(): their input is always a temporary
    _supports_sdpa = True

    config_class = BertConfig
    base_model_prefix = "bert"
    supports_gradient_checkpointing = True
    # Older checkpoints store the position-id buffer; it is computed, not loaded.
    _computed_checkpoint_keys = [r"position_ids$"]

    def _init_weights(self, module: nn.Module) -> None:
        if not init_normal_(module, self.config.initializer_range) and isinstance(module, BertLMPredictionHead):
            with torch.no_grad():
                module.bias.zero_()


def _check_supported(config: BertConfig) -> None:
    if config.position_embedding_type != "absolute":
        raise ConfigurationError(
            f"position_embedding_type={config.position_embedding_type!r} is not supported by modelyard's BERT "
            "(only 'absolute'); use a checkpoint with absolute position embeddings."
        )
    if config.is_decoder or config.add_cross_attention:
        raise ConfigurationError(
            "modelyard's BERT is an encoder only: is_decoder and add_cross_attention must be False in the config."
        )


class BertModel(BertPreTrainedModel):
    """The bare BERT encoder: last hidden states and (with ``add_pooling_layer``) the pooled first token."""

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True) -> None:
        super().__init__(config)
        _check_supported(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        # tanh(dense(first token)): the sentence summary the classification heads read
        self.pooler = FirstTokenPooler(config.hidden_size) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.embeddings.word_embeddings = value  # type: ignore[assignment]  # any embedding module may replace it

    def _prune_heads(self, heads_to_prune: dict[int, list[int]]) -> None:
        for layer, pruned in heads_to_prune.items():
            self.encoder.layer[layer].attention.prune_heads(pruned)  # type: ignore[index,union-attr]  # set by name

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        head_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> BaseModelOutputWithPooling | tuple[Tensor | None, ...]:
        config = self.config
        output_attentions = config.output_attentions if output_attentions is None else output_attentions
        output_hidden_states = config.output_hidden_states if output_hidden_states is None else output_hidden_states
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids or inputs_embeds to BertModel.")

        embeddings = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds)
        # Built once per forward and shared by every layer.
        additive_mask = padding_mask_to_additive(attention_mask, embeddings.dtype)
        encoded = self.encoder(embeddings, additive_mask, head_mask=head_mask, output_attentions=bool(output_attentions),
                               output_hidden_states=bool(output_hidden_states))
        sequence_output = encoded.last_hidden_state
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None
        if not wants_dict(return_dict, config):
            # The reference keeps the pooled slot (None without a pooler) so indices stay stable.
            extras = tuple(v for v in (encoded.hidden_states, encoded.attentions) if v is not None)
            return (sequence_output, pooled_output, *extras)
        return BaseModelOutputWithPooling(
            last_hidden_state=sequence_output,
            pooler_output=pooled_output,
            hidden_states=encoded.hidden_states,
            attentions=encoded.attentions,
        )


class _BertHead(BertPreTrainedModel):
    """The task heads' forward: ``self.bert`` on BERT's inputs, the head's ``head_logits``, then the generic
    head (``layers.heads``) adds the loss from ``labels`` and builds the output."""

    bert: BertModel

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
        encoded = self.bert(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                            output_attentions, output_hidden_states, return_dict=True)
        return self.head_forward(encoded, labels, return_dict)


def _classifier_dropout(config: BertConfig) -> float:
    return config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob


class BertForMaskedLM(heads.MaskedLMHead, _BertHead):
    """BERT with the masked-language-modelling head: (batch, seq, vocab) logits; ``labels`` (batch, seq) token
    ids to predict, -100 where no prediction is scored."""

    _tied_weights_keys = ["predictions.decoder.bias", "cls.predictions.decoder.weight"]
    _expected_unused_keys = [r"^(bert\.)?pooler\.", r"^cls\.seq_relationship\."]

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(config)
        self.post_init()

    def get_output_embeddings(self) -> nn.Linear:
        return self.cls.predictions.decoder

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        self.cls.predictions.decoder = new_embeddings
        if new_embeddings.bias is not None:
            self.cls.predictions.bias = new_embeddings.bias

    def tie_weights(self) -> None:
        super().tie_weights()
        self.cls.predictions.tie_bias()

    def head_logits(self, encoded: BaseModelOutputWithPooling) -> Tensor:
        return self.cls(encoded.last_hidden_state)  # (batch, seq, vocab)


class BertForSequenceClassification(heads.SequenceClassificationHead, _BertHead):
    """BERT with a linear classifier (or regressor) on the pooled output. ``labels``: (batch,) class ids,
    (batch, num_labels) floats for multi-label, or floats to regress (``config.problem_type``)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config)
        self.dropout = nn.Dropout(_classifier_dropout(config))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def head_logits(self, encoded: BaseModelOutputWithPooling) -> Tensor:
        return self.classifier(self.dropout(encoded.pooler_output))  # (batch, num_labels)


class BertForMultipleChoice(heads.MultipleChoiceHead, _BertHead):
    """BERT scoring each of several choices: inputs are (batch, num_choices, seq), logits (batch, num_choices);
    ``labels``: (batch,) index of the right choice."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config)
        self.dropout = nn.Dropout(_classifier_dropout(config))
        self.classifier = nn.Linear(config.hidden_size, 1)
        self.post_init()

    def head_logits(self, encoded: BaseModelOutputWithPooling) -> Tensor:
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
        encoded = self.bert(flat(input_ids), flat(attention_mask), flat(token_type_ids), flat(position_ids),
                            head_mask, flat(inputs_embeds, 2), output_attentions, output_hidden_states, return_dict=True)
        return self.head_forward(encoded, labels, return_dict, num_choices=num_choices)


class BertForTokenClassification(heads.TokenClassificationHead, _BertHead):
    """BERT with a linear classifier on every token (e.g. named entities). ``labels``: (batch, seq) class ids,
    -100 where no label is scored."""

    _expected_unused_keys = [r"^(bert\.)?pooler\."]

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(_classifier_dropout(config))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def head_logits(self, encoded: BaseModelOutputWithPooling) -> Tensor:
        return self.classifier(self.dropout(encoded.last_hidden_state))  # (batch, seq, num_labels)


class BertForQuestionAnswering(heads.QuestionAnsweringHead, _BertHead):
    """BERT predicting the start and end token of an answer span. ``start_positions`` / ``end_positions``:
    (batch,) token indices; positions past the end are ignored."""

    _expected_unused_keys = [r"^(bert\.)?pooler\."]

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def head_logits(self, encoded: BaseModelOutputWithPooling) -> Tensor:
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
        encoded = self.bert(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                            output_attentions, output_hidden_states, return_dict=True)
        return self.head_forward(encoded, start_positions, end_positions, return_dict)


__all__ = [
    "BertForMaskedLM",
    "BertForMultipleChoice",
    "BertForQuestionAnswering",
    "BertForSequenceClassification",
    "BertForTokenClassification",
    "BertModel",
    "BertPreTrainedModel",
]
