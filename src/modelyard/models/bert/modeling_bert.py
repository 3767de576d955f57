"""BERT: a bidirectional Transformer encoder with word, position and token-type embeddings.

Reads top to bottom: embeddings, attention, layer, encoder, pooler, the base model, then the task heads.
Submodule names equal the checkpoint keys of Hugging Face BERT checkpoints (``bert.encoder.layer.0.
attention.self.query.weight``, ``cls.predictions.transform.LayerNorm.weight``, ...), so those load as is
and what we save loads in the reference library.
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import nn

from modelyard.errors import ConfigurationError
from modelyard.layers.activations import get_activation
from modelyard.layers.attention import (
    attend,
    expand_head_mask,
    merge_heads,
    padding_mask_to_additive,
    split_heads,
)
from modelyard.layers.heads import (
    masked_lm_loss,
    multiple_choice_loss,
    question_answering_loss,
    sequence_classification_loss,
    token_classification_loss,
)
from modelyard.layers.pruning import heads_to_keep_index, prune_linear
from modelyard.modeling import PreTrainedModel
from modelyard.models.bert.configuration_bert import BertConfig
from modelyard.outputs import (
    BaseModelOutput,
    BaseModelOutputWithPooling,
    MaskedLMOutput,
    MultipleChoiceModelOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)

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
        seq_length = inputs_embeds.shape[1]
        max_positions = self.position_embeddings.num_embeddings
        if position_ids is None and seq_length > max_positions:
            raise ValueError(
                f"Sequence length {seq_length} exceeds max_position_embeddings={max_positions} of this model; "
                f"truncate the input to at most {max_positions} tokens (tokenizer: truncation=True)."
            )
        # Without explicit ids every row uses type 0 and positions 0..seq-1: adding the rows directly gives
        # the same values as an embedding lookup, without building index tensors or gathering.
        if token_type_ids is None:
            embeddings = inputs_embeds + self.token_type_embeddings.weight[0]
        else:
            embeddings = inputs_embeds + self.token_type_embeddings(token_type_ids)
        if position_ids is None:
            embeddings = embeddings + self.position_embeddings.weight[:seq_length]
        else:
            embeddings = embeddings + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(embeddings))


class BertSelfAttention(nn.Module):
    """Query/key/value projections; the attention itself runs on SDPA through ``layers.attention.attend``."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config  # read at call time: attn_implementation can change after loading
        if config.hidden_size % config.num_attention_heads != 0:
            raise ConfigurationError(
                f"hidden_size ({config.hidden_size}) must be a multiple of num_attention_heads "
                f"({config.num_attention_heads}); change one of them in the config."
            )
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        all_head_size = self.num_attention_heads * self.attention_head_size
        self.query = nn.Linear(config.hidden_size, all_head_size)
        self.key = nn.Linear(config.hidden_size, all_head_size)
        self.value = nn.Linear(config.hidden_size, all_head_size)
        self.dropout_prob = config.attention_probs_dropout_prob

    def forward(
        self,
        hidden_states: Tensor,
        additive_mask: Tensor | None,
        head_mask: Tensor | None,
        output_attentions: bool,
    ) -> tuple[Tensor, Tensor | None]:
        heads = self.num_attention_heads
        query = split_heads(self.query(hidden_states), heads)  # (batch, heads, seq, head_dim)
        key = split_heads(self.key(hidden_states), heads)
        value = split_heads(self.value(hidden_states), heads)
        context, probs = attend(
            query,
            key,
            value,
            additive_mask=additive_mask,
            dropout_p=self.dropout_prob if self.training else 0.0,
            head_mask=head_mask,
            output_attentions=output_attentions,
            eager=getattr(self.config, "_attn_implementation", None) == "eager",
        )
        return merge_heads(context), probs  # (batch, seq, heads * head_dim)


class BertSelfOutput(nn.Module):
    """Projection back to ``hidden_size``, dropout, residual connection and LayerNorm.

    Used after the attention (``attention.output``) and, with ``intermediate_size`` inputs, after the
    feed-forward layer (``output``): the two differ only in their input width.
    """

    def __init__(self, config: BertConfig, in_features: int | None = None) -> None:
        super().__init__()
        self.dense = nn.Linear(in_features or config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: Tensor, residual: Tensor) -> Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + residual)


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)
        self.pruned_heads: set[int] = set()

    def prune_heads(self, heads: list[int]) -> None:
        """Remove heads (numbered as in the unpruned layer) from the projections."""
        attention = self.self
        heads_set, index = heads_to_keep_index(
            heads, attention.num_attention_heads, attention.attention_head_size, self.pruned_heads
        )
        if not heads_set:
            return
        attention.query = prune_linear(attention.query, index)
        attention.key = prune_linear(attention.key, index)
        attention.value = prune_linear(attention.value, index)
        self.output.dense = prune_linear(self.output.dense, index, dim=1)
        attention.num_attention_heads -= len(heads_set)
        self.pruned_heads |= heads_set

    def forward(
        self, hidden_states: Tensor, additive_mask: Tensor | None, head_mask: Tensor | None, output_attentions: bool
    ) -> tuple[Tensor, Tensor | None]:
        context, probs = self.self(hidden_states, additive_mask, head_mask, output_attentions)
        return self.output(context, hidden_states), probs


class BertIntermediate(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = get_activation(config.hidden_act)

    def forward(self, hidden_states: Tensor) -> Tensor:
        return self.intermediate_act_fn(self.dense(hidden_states))


class BertOutput(BertSelfOutput):
    def __init__(self, config: BertConfig) -> None:
        super().__init__(config, in_features=config.intermediate_size)


class BertLayer(nn.Module):
    """Self-attention block followed by the feed-forward block (post-LayerNorm)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(
        self, hidden_states: Tensor, additive_mask: Tensor | None, head_mask: Tensor | None, output_attentions: bool
    ) -> tuple[Tensor, Tensor | None]:
        attention_output, probs = self.attention(hidden_states, additive_mask, head_mask, output_attentions)
        return self.output(self.intermediate(attention_output), attention_output), probs


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])
        self.gradient_checkpointing = False

    def forward(
        self,
        hidden_states: Tensor,
        additive_mask: Tensor | None,
        head_masks: list[Tensor | None],
        output_attentions: bool,
        output_hidden_states: bool,
    ) -> BaseModelOutput:
        all_hidden: tuple[Tensor, ...] | None = (hidden_states,) if output_hidden_states else None
        all_attentions: tuple[Tensor, ...] | None = () if output_attentions else None
        checkpointing = self.gradient_checkpointing and self.training
        for layer, head_mask in zip(self.layer, head_masks):
            if checkpointing:
                hidden_states, probs = self._gradient_checkpointing_func(
                    layer.__call__, hidden_states, additive_mask, head_mask, output_attentions
                )
            else:
                hidden_states, probs = layer(hidden_states, additive_mask, head_mask, output_attentions)
            if all_hidden is not None:
                all_hidden += (hidden_states,)
            if all_attentions is not None:
                all_attentions += (probs,)
        return BaseModelOutput(last_hidden_state=hidden_states, hidden_states=all_hidden, attentions=all_attentions)


class BertPooler(nn.Module):
    """tanh(dense(first token)): the sentence summary used by the classification heads."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states: Tensor) -> Tensor:
        return self.activation(self.dense(hidden_states[:, 0]))


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
        std = self.config.initializer_range
        with torch.no_grad():
            if isinstance(module, nn.Linear):
                module.weight.normal_(mean=0.0, std=std)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.Embedding):
                module.weight.normal_(mean=0.0, std=std)
                if module.padding_idx is not None:
                    module.weight[module.padding_idx].zero_()
            elif isinstance(module, nn.LayerNorm):
                module.weight.fill_(1.0)
                module.bias.zero_()
            elif isinstance(module, BertLMPredictionHead):
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
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.embeddings.word_embeddings = value

    def _prune_heads(self, heads_to_prune: dict[int, list[int]]) -> None:
        for layer, heads in heads_to_prune.items():
            self.encoder.layer[layer].attention.prune_heads(heads)

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
        return_dict = config.use_return_dict if return_dict is None else return_dict
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids or inputs_embeds to BertModel.")

        embeddings = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds)
        # Built once per forward and shared by every layer.
        additive_mask = padding_mask_to_additive(attention_mask, embeddings.dtype)
        if head_mask is not None:
            head_mask = head_mask.to(embeddings.dtype)
        head_masks = expand_head_mask(head_mask, len(self.encoder.layer))
        encoded = self.encoder(embeddings, additive_mask, head_masks, bool(output_attentions), bool(output_hidden_states))
        sequence_output = encoded.last_hidden_state
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None
        if not return_dict:
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
    """Shared plumbing of the heads: run ``self.bert`` and return its dict-style output."""

    bert: BertModel

    def _encode(self, *inputs: Tensor | bool | None) -> BaseModelOutputWithPooling:
        """Run the base model on forward arguments given in its order; always dict-style output."""
        return cast(BaseModelOutputWithPooling, self.bert(*inputs, return_dict=True))


def _classifier_dropout(config: BertConfig) -> float:
    return config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob


class BertForMaskedLM(_BertHead):
    """BERT with the masked-language-modelling head (vocabulary logits per token)."""

    _tied_weights_keys = ["predictions.decoder.bias", "cls.predictions.decoder.weight"]
    _keys_to_ignore_on_load_unexpected = [r"^(bert\.)?pooler\.", r"^cls\.seq_relationship\."]

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
    ) -> MaskedLMOutput | tuple[Tensor, ...]:
        """``labels``: (batch, seq) token ids to predict, -100 where no prediction is scored."""
        out = self._encode(input_ids, attention_mask, token_type_ids, position_ids, head_mask,
                           inputs_embeds, output_attentions, output_hidden_states)
        logits = self.cls(out.last_hidden_state)  # (batch, seq, vocab)
        loss = masked_lm_loss(logits, labels) if labels is not None else None
        result = MaskedLMOutput(loss=loss, logits=logits, hidden_states=out.hidden_states, attentions=out.attentions)
        return _finish(result, return_dict, self.config)


class BertForSequenceClassification(_BertHead):
    """BERT with a linear classifier (or regressor) on the pooled output."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config)
        self.dropout = nn.Dropout(_classifier_dropout(config))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

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
    ) -> SequenceClassifierOutput | tuple[Tensor, ...]:
        """``labels``: (batch,) class ids, (batch, num_labels) floats for multi-label, or floats to regress."""
        out = self._encode(input_ids, attention_mask, token_type_ids, position_ids, head_mask,
                           inputs_embeds, output_attentions, output_hidden_states)
        logits = self.classifier(self.dropout(out.pooler_output))  # (batch, num_labels)
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        result = SequenceClassifierOutput(
            loss=loss, logits=logits, hidden_states=out.hidden_states, attentions=out.attentions
        )
        return _finish(result, return_dict, self.config)


class BertForMultipleChoice(_BertHead):
    """BERT scoring each of several choices: inputs are (batch, num_choices, seq), logits (batch, num_choices)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config)
        self.dropout = nn.Dropout(_classifier_dropout(config))
        self.classifier = nn.Linear(config.hidden_size, 1)
        self.post_init()

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
    ) -> MultipleChoiceModelOutput | tuple[Tensor, ...]:
        """``labels``: (batch,) index of the right choice."""
        num_choices = (input_ids if input_ids is not None else inputs_embeds).shape[1]  # type: ignore[union-attr]

        def flat(x: Tensor | None) -> Tensor | None:
            return None if x is None else x.reshape(-1, x.shape[-1])  # (batch * choices, seq)

        if inputs_embeds is not None:
            inputs_embeds = inputs_embeds.reshape(-1, *inputs_embeds.shape[-2:])  # (batch * choices, seq, hidden)
        out = self._encode(flat(input_ids), flat(attention_mask), flat(token_type_ids), flat(position_ids),
                           head_mask, inputs_embeds, output_attentions, output_hidden_states)
        logits = self.classifier(self.dropout(out.pooler_output)).view(-1, num_choices)  # (batch, choices)
        loss = multiple_choice_loss(logits, labels) if labels is not None else None
        result = MultipleChoiceModelOutput(
            loss=loss, logits=logits, hidden_states=out.hidden_states, attentions=out.attentions
        )
        return _finish(result, return_dict, self.config)


class BertForTokenClassification(_BertHead):
    """BERT with a linear classifier on every token (e.g. named entities)."""

    _keys_to_ignore_on_load_unexpected = [r"^(bert\.)?pooler\."]

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(_classifier_dropout(config))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

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
    ) -> TokenClassifierOutput | tuple[Tensor, ...]:
        """``labels``: (batch, seq) class ids, -100 where no label is scored."""
        out = self._encode(input_ids, attention_mask, token_type_ids, position_ids, head_mask,
                           inputs_embeds, output_attentions, output_hidden_states)
        logits = self.classifier(self.dropout(out.last_hidden_state))  # (batch, seq, num_labels)
        loss = token_classification_loss(logits, labels) if labels is not None else None
        result = TokenClassifierOutput(loss=loss, logits=logits, hidden_states=out.hidden_states, attentions=out.attentions)
        return _finish(result, return_dict, self.config)


class BertForQuestionAnswering(_BertHead):
    """BERT predicting the start and end token of an answer span."""

    _keys_to_ignore_on_load_unexpected = [r"^(bert\.)?pooler\."]

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
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
    ) -> QuestionAnsweringModelOutput | tuple[Tensor, ...]:
        """``start_positions`` / ``end_positions``: (batch,) token indices; positions past the end are ignored."""
        out = self._encode(input_ids, attention_mask, token_type_ids, position_ids, head_mask,
                           inputs_embeds, output_attentions, output_hidden_states)
        logits = self.qa_outputs(out.last_hidden_state)  # (batch, seq, 2)
        start_logits, end_logits = (t.squeeze(-1).contiguous() for t in logits.split(1, dim=-1))  # (batch, seq)
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = question_answering_loss(start_logits, end_logits, start_positions, end_positions)
        result = QuestionAnsweringModelOutput(
            loss=loss,
            start_logits=start_logits,
            end_logits=end_logits,
            hidden_states=out.hidden_states,
            attentions=out.attentions,
        )
        return _finish(result, return_dict, self.config)


def _finish(result: Any, return_dict: bool | None, config: BertConfig) -> Any:
    """The output object, or its tuple (None fields left out) when ``return_dict`` is False."""
    return result if (config.use_return_dict if return_dict is None else return_dict) else result.to_tuple()


__all__ = [
    "BertForMaskedLM",
    "BertForMultipleChoice",
    "BertForQuestionAnswering",
    "BertForSequenceClassification",
    "BertForTokenClassification",
    "BertModel",
    "BertPreTrainedModel",
]
