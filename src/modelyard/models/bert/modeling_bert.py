"""BERT: a bidirectional Transformer encoder with word, position and token-type embeddings.

The config switches three variants: ``is_decoder`` (causal self-attention with a key/value cache, for
:class:`BertLMHeadModel` and ``generate()``), ``add_cross_attention`` (a decoder layer also attends over an
encoder's states) and ``position_embedding_type`` ``"relative_key"`` / ``"relative_key_query"`` (learned
distance embeddings scored in attention instead of absolute positions added to the input).

Reads top to bottom: embeddings, attention, layer, encoder, pooler, the base model, then the task heads.
Submodule names equal the checkpoint keys of Hugging Face BERT checkpoints (``bert.encoder.layer.0.
attention.self.query.weight``, ``cls.predictions.transform.LayerNorm.weight``, ...), so those load as is
and what we save loads in the reference library.
"""

# No ``from __future__ import annotations``: the forwards' ``**kwargs: Unpack[...]`` annotations stay live objects,
# which is how tools that read a signature (the Trainer, the reference's tests) see the output switches.

import logging
import math
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from modelyard.errors import ConfigurationError
from modelyard.generation.caches import Cache, DynamicCache, EncoderDecoderCache
from modelyard.generation.utils import GenerationMixin
from modelyard.layers import generic_heads, heads
from modelyard.layers.activations import get_activation
from modelyard.layers.attention import (
    QueryKeyValueAttention,
    attend,
    merge_heads,
    padding_mask_to_additive,
    split_heads,
    uses_eager_attention,
)
from modelyard.layers.causal_mask import build_causal_mask
from modelyard.layers.decoder_heads import CausalLMKeywords, causal_lm_loss
from modelyard.layers.embeddings import absolute_positions, check_one_input
from modelyard.layers.init import init_normal_
from modelyard.layers.mlp import Intermediate, OutputProjection
from modelyard.layers.pooling import FirstTokenPooler
from modelyard.layers.pruning import prune_linear
from modelyard.layers.returns import (
    OutputSwitches,
    Unpack,
    base_switches,
    finish_output,
    inner_switches,
    wants_dict,
)
from modelyard.layers.stack import LayerStack
from modelyard.modeling import PreTrainedModel
from modelyard.models.bert.configuration_bert import BertConfig
from modelyard.outputs import (
    BaseModelOutputWithPastAndCrossAttentions,
    BaseModelOutputWithPoolingAndCrossAttentions,
    CausalLMOutputWithCrossAttentions,
    ModelOutput,
    NextSentencePredictorOutput,
)

logger = logging.getLogger(__name__)

Tensor = torch.Tensor
RELATIVE_POSITIONS = ("relative_key", "relative_key_query")  # position kinds scored in attention


@dataclass
class BertForPreTrainingOutput(ModelOutput):
    """:class:`BertForPreTraining`'s output: ``loss`` is the masked-LM loss plus the next-sentence loss."""

    loss: torch.Tensor | None = None
    prediction_logits: torch.Tensor | None = None
    seq_relationship_logits: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


class BertEmbeddings(nn.Module):
    """Sum of word, token-type and (with ``position_embedding_type="absolute"``) position embeddings, then
    LayerNorm and dropout. The relative kinds keep the position table (checkpoints have it) but add distances
    in attention instead."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.position_embedding_type = config.position_embedding_type

    def forward(
        self,
        input_ids: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        past_key_values_length: int = 0,
    ) -> Tensor:
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)  # (batch, seq, hidden)
        # Without explicit ids every row uses type 0: adding that row equals the lookup, without gathering.
        if token_type_ids is None:
            embeddings = inputs_embeds + self.token_type_embeddings.weight[0]
        else:
            embeddings = inputs_embeds + self.token_type_embeddings(token_type_ids)
        if self.position_embedding_type == "absolute":
            position_ids = self.absolute_position_ids(input_ids, position_ids, inputs_embeds, past_key_values_length)
            embeddings = embeddings + absolute_positions(
                self.position_embeddings, inputs_embeds.shape[1], position_ids, offset=past_key_values_length
            )
        return self.dropout(self.LayerNorm(embeddings))

    def absolute_position_ids(
        self, input_ids: Tensor | None, position_ids: Tensor | None, inputs_embeds: Tensor, past_length: int
    ) -> Tensor | None:
        """The positions to embed: BERT's are ``past_length, past_length + 1, ...`` (None here says so to
        :func:`absolute_positions`); RoBERTa numbers them from the input ids."""
        return position_ids


def _layer_cache(past_key_values: Any, cross: bool) -> Cache | None:
    """The cache one attention reads and writes: a side of an :class:`EncoderDecoderCache`, or a plain cache
    for self-attention (a plain cache holds no encoder states: cross-attention then recomputes them)."""
    if isinstance(past_key_values, EncoderDecoderCache):
        return past_key_values.cross_attention_cache if cross else past_key_values.self_attention_cache
    return None if cross else past_key_values


class BertSelfAttention(QueryKeyValueAttention):
    """BERT's ``query`` / ``key`` / ``value`` attention in every mode: bidirectional (the encoder), causal with a
    key/value cache (``is_decoder``), over an encoder's states (cross-attention: keys and values from
    ``encoder_hidden_states``, computed once per generation and cached), and with relative-position scores
    (``position_embedding_type="relative_key"``: query x distance embedding, ``"relative_key_query"``: plus key
    x distance embedding; checkpoint key ``distance_embedding``). Masks come ready-made (additive) from
    :class:`BertModel`."""

    def __init__(self, config: BertConfig, position_embedding_type: str | None = None,
                 layer_idx: int | None = None) -> None:
        super().__init__(config)
        self.position_embedding_type = position_embedding_type or config.position_embedding_type
        if self.position_embedding_type in RELATIVE_POSITIONS:
            self.max_position_embeddings = config.max_position_embeddings
            self.distance_embedding = nn.Embedding(2 * config.max_position_embeddings - 1, self.attention_head_size)
        self.is_decoder = config.is_decoder
        self.layer_idx = layer_idx

    def _key_value(
        self, hidden_states: Tensor, encoder_hidden_states: Tensor | None, past_key_values: Any,
        cache_position: Tensor | None,
    ) -> tuple[Tensor, Tensor]:
        """This step's keys and values, (batch, heads, keys, head_dim), through the cache when there is one."""
        cross = encoder_hidden_states is not None
        cache = _layer_cache(past_key_values, cross)
        if cross and cache is not None and past_key_values.is_updated.get(self.layer_idx):
            layer = cache.layers[self.layer_idx]  # type: ignore[index]  # layer_idx is set on decoder layers
            return layer.keys, layer.values  # type: ignore[return-value]  # set once the layer holds states
        source = encoder_hidden_states if cross else hidden_states
        key = split_heads(self.key(source), self.num_attention_heads)
        value = split_heads(self.value(source), self.num_attention_heads)
        if cache is not None:
            key, value = cache.update(key, value, self.layer_idx,  # type: ignore[arg-type]  # layer_idx is set on decoder layers
                                      {"cache_position": None if cross else cache_position})
            if cross:
                past_key_values.is_updated[self.layer_idx] = True
        return key, value

    def _relative_scores(self, query: Tensor, key: Tensor, cached: bool) -> Tensor:
        """(batch, heads, queries, keys) distance scores. As the reference does, with a cache every query is
        placed at the last key's position (exact for the one new token of each generation step)."""
        q_len, k_len = query.shape[2], key.shape[2]
        device = query.device
        if cached:
            query_positions = torch.tensor([[k_len - 1]], dtype=torch.long, device=device)
        else:
            query_positions = torch.arange(q_len, dtype=torch.long, device=device)[:, None]
        distance = query_positions - torch.arange(k_len, dtype=torch.long, device=device)[None, :]
        table = self.distance_embedding(distance + self.max_position_embeddings - 1).to(query.dtype)  # (q, k, d)
        scores = torch.einsum("bhld,lrd->bhlr", query, table)
        if self.position_embedding_type == "relative_key_query":
            scores = scores + torch.einsum("bhrd,lrd->bhlr", key, table)
        return scores

    def forward(
        self,
        hidden_states: Tensor,
        additive_mask: Tensor | None = None,
        head_mask: Tensor | None = None,
        output_attentions: bool = False,
        *,
        encoder_hidden_states: Tensor | None = None,
        past_key_values: Any = None,
        cache_position: Tensor | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        query = split_heads(self.query(hidden_states), self.num_attention_heads)  # (batch, heads, seq, head_dim)
        key, value = self._key_value(hidden_states, encoder_hidden_states, past_key_values, cache_position)
        if self.position_embedding_type in RELATIVE_POSITIONS and encoder_hidden_states is None:
            # (q.k + relative) / sqrt(d) + mask == q.k / sqrt(d) + (mask + relative / sqrt(d))
            relative = self._relative_scores(query, key, past_key_values is not None) / math.sqrt(
                self.attention_head_size
            )
            additive_mask = relative if additive_mask is None else additive_mask + relative
        context, probs = attend(
            query, key, value,
            additive_mask=additive_mask,
            dropout_p=self.dropout_prob if self.training else 0.0,
            head_mask=head_mask,
            output_attentions=output_attentions,
            eager=uses_eager_attention(self.config),
        )
        return merge_heads(context), probs


class BertAttention(nn.Module):
    """Attention (``self``) and ``output``: dense, dropout, residual, LayerNorm."""

    def __init__(self, config: BertConfig, position_embedding_type: str | None = None,
                 layer_idx: int | None = None) -> None:
        super().__init__()
        self.self = BertSelfAttention(config, position_embedding_type, layer_idx)
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
        self, hidden_states: Tensor, additive_mask: Tensor | None, head_mask: Tensor | None, output_attentions: bool,
        **attention_inputs: Any,
    ) -> tuple[Tensor, Tensor | None]:
        context, probs = self.self(hidden_states, additive_mask, head_mask, output_attentions, **attention_inputs)
        return self.output(context, hidden_states), probs


class BertLayer(nn.Module):
    """Self-attention, then (decoders with ``add_cross_attention``) attention over the encoder's states, then
    the feed-forward block; post-LayerNorm throughout."""

    def __init__(self, config: BertConfig, layer_idx: int | None = None) -> None:
        super().__init__()
        self.attention = BertAttention(config, layer_idx=layer_idx)
        if config.add_cross_attention:
            self.crossattention = BertAttention(config, position_embedding_type="absolute", layer_idx=layer_idx)
        self.intermediate = Intermediate(config.hidden_size, config.intermediate_size, config.hidden_act)
        self.output = OutputProjection(
            config.intermediate_size, config.hidden_size, config.hidden_dropout_prob,
            layer_norm_eps=config.layer_norm_eps,
        )

    def forward(
        self,
        hidden_states: Tensor,
        additive_mask: Tensor | None,
        encoder_hidden_states: Tensor | None,
        encoder_mask: Tensor | None,
        past_key_values: Any,
        cache_position: Tensor | None,
        head_mask: Tensor | None,
        output_attentions: bool,
    ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        attention_output, probs = self.attention(hidden_states, additive_mask, head_mask, output_attentions,
                                                 past_key_values=past_key_values, cache_position=cache_position)
        cross_probs = None
        if encoder_hidden_states is not None:
            if not hasattr(self, "crossattention"):
                raise ValueError(
                    "encoder_hidden_states were given, but this BERT has no cross-attention layers; build it with "
                    "is_decoder=True and add_cross_attention=True in the config."
                )
            attention_output, cross_probs = self.crossattention(
                attention_output, encoder_mask, head_mask, output_attentions,
                encoder_hidden_states=encoder_hidden_states, past_key_values=past_key_values,
            )
        return self.output(self.intermediate(attention_output), attention_output), probs, cross_probs


class BertEncoder(LayerStack):
    def __init__(self, config: BertConfig) -> None:
        layers = (BertLayer(config, layer_idx=i) for i in range(config.num_hidden_layers))
        super().__init__(layers, name="layer", layers_take_head_mask=True)
        self.add_cross_attention = config.add_cross_attention

    def forward(  # type: ignore[override]  # adds the decoder's inputs (encoder states, cache) to the stack's
        self,
        hidden_states: Tensor,
        *args: Any,
        head_mask: Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> BaseModelOutputWithPastAndCrossAttentions:
        """``args``: the additive self-attention mask, the encoder's states and additive mask, the cache and the
        cache positions (:meth:`BertLayer.forward`)."""
        layers: Any = self.layer
        return self.run_layers(
            layers, hidden_states, *args, head_mask=head_mask, output_attentions=output_attentions,
            output_hidden_states=output_hidden_states, output_cross_attentions=True,
        )


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.transform_act_fn = get_activation(config.hidden_act)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: Tensor) -> Tensor:
        return self.LayerNorm(self.transform_act_fn(self.dense(hidden_states)))


class BertLMPredictionHead(heads.TiedDecoderBias):
    """Transform, then a vocabulary projection whose weight is tied to the word embeddings.

    ``bias`` and ``decoder.bias`` are one parameter (checkpoints store it as ``cls.predictions.bias``).
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.share_decoder_bias(config.vocab_size)

    def forward(self, hidden_states: Tensor) -> Tensor:
        return self.decoder(self.transform(hidden_states))


class BertOnlyMLMHead(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.predictions = BertLMPredictionHead(config)

    def forward(self, sequence_output: Tensor) -> Tensor:
        return self.predictions(sequence_output)


class BertOnlyNSPHead(nn.Module):
    """``seq_relationship``: (batch, 2) scores that sentence B follows sentence A (0) or is random (1)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(self, pooled_output: Tensor) -> Tensor:
        return self.seq_relationship(pooled_output)


class BertPreTrainingHeads(nn.Module):
    """Both pre-training heads: masked-token ``predictions`` and the next-sentence ``seq_relationship``."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.predictions = BertLMPredictionHead(config)
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(self, sequence_output: Tensor, pooled_output: Tensor) -> tuple[Tensor, Tensor]:
        return self.predictions(sequence_output), self.seq_relationship(pooled_output)


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
        if not init_normal_(module, self.config.initializer_range) and isinstance(module, heads.TiedDecoderBias):
            with torch.no_grad():
                module.bias.zero_()

    def build_base_model(self, config: BertConfig, *, add_pooling_layer: bool = True) -> None:
        """The task heads' base model, under ``base_model_prefix``: ``self.bert = BertModel(...)`` (RoBERTa's
        heads, built on these, get ``self.roberta = RobertaModel(...)``)."""
        setattr(self, self.base_model_prefix, BertModel(config, add_pooling_layer))


def _check_supported(config: BertConfig) -> None:
    if config.position_embedding_type not in ("absolute", *RELATIVE_POSITIONS):
        raise ConfigurationError(
            f"position_embedding_type={config.position_embedding_type!r} is not one of 'absolute', 'relative_key' "
            "or 'relative_key_query'; set one of them in the config."
        )
    if config.add_cross_attention and not config.is_decoder:
        raise ConfigurationError(
            "add_cross_attention=True needs is_decoder=True (cross-attention belongs to a decoder); set "
            "is_decoder=True in the config, or add_cross_attention=False."
        )


def _past_length(past_key_values: Any) -> int:
    if past_key_values is None:
        return 0
    if isinstance(past_key_values, Cache):
        return past_key_values.get_seq_length()
    return int(past_key_values[0][0].shape[-2])  # the legacy tuple ((keys, values, ...), ...)


class BertModel(BertPreTrainedModel):
    """The bare BERT encoder: last hidden states and (with ``add_pooling_layer``) the pooled first token.

    With ``is_decoder=True`` in the config it is a causal decoder that keeps a key/value cache
    (``use_cache``, ``past_key_values``); with ``add_cross_attention=True`` as well, each layer also attends over
    ``encoder_hidden_states`` (padding in ``encoder_attention_mask``), as the decoder of an encoder-decoder.
    """

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

    def _self_attention_mask(
        self, attention_mask: Tensor | None, embeddings: Tensor, past_length: int
    ) -> Tensor | None:
        """The additive self-attention mask every layer shares: padding only for the encoder, causal + padding
        (over the cached and the new tokens) for a decoder; None when nothing is masked."""
        if not self.config.is_decoder or (attention_mask is not None and attention_mask.dim() != 2):
            return padding_mask_to_additive(attention_mask, embeddings.dtype)
        batch, seq = embeddings.shape[:2]
        positions = torch.arange(past_length, past_length + seq, device=embeddings.device)
        return build_causal_mask(batch_size=batch, cache_position=positions, kv_length=past_length + seq,
                                 attention_mask=attention_mask, dtype=embeddings.dtype, additive=True)

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
        past_key_values: Any = None,
        use_cache: bool | None = None,
        *,
        cache_position: Tensor | None = None,
        **kwargs: Unpack[OutputSwitches],
    ) -> BaseModelOutputWithPoolingAndCrossAttentions | tuple[Any, ...]:
        config = self.config
        output_attentions, output_hidden_states = base_switches(self, kwargs)
        check_one_input(input_ids, inputs_embeds, model="BertModel")
        use_cache = bool(config.use_cache if use_cache is None else use_cache) and config.is_decoder
        if use_cache and self.encoder.gradient_checkpointing and self.training:
            logger.warning("use_cache=True does not work with gradient checkpointing while training; not caching.")
            use_cache = False
        if use_cache and past_key_values is None:
            past_key_values = EncoderDecoderCache(DynamicCache(), DynamicCache())
        elif isinstance(past_key_values, (tuple, list)):  # the legacy ((keys, values[, cross...]), ...) format
            past_key_values = EncoderDecoderCache.from_legacy_cache(past_key_values)
        past_length = _past_length(past_key_values)

        embeddings = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds, past_length)
        if cache_position is None and past_key_values is not None:
            cache_position = torch.arange(past_length, past_length + embeddings.shape[1], device=embeddings.device)
        # Built once per forward and shared by every layer.
        additive_mask = self._self_attention_mask(attention_mask, embeddings, past_length)
        encoder_mask = None
        if config.is_decoder and encoder_hidden_states is not None:
            encoder_mask = padding_mask_to_additive(encoder_attention_mask, embeddings.dtype)
        else:
            encoder_hidden_states = None  # an encoder ignores them, as the reference does
        encoded = self.encoder(
            embeddings, additive_mask, encoder_hidden_states, encoder_mask, past_key_values, cache_position,
            head_mask=head_mask, output_attentions=bool(output_attentions),
            output_hidden_states=bool(output_hidden_states),
        )
        sequence_output = encoded.last_hidden_state
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None
        cross_attentions = encoded.cross_attentions if config.add_cross_attention else None
        if not wants_dict(kwargs.get("return_dict"), config):
            # The reference keeps the pooled slot (None without a pooler) so indices stay stable.
            extras = (past_key_values, encoded.hidden_states, encoded.attentions, cross_attentions)
            return (sequence_output, pooled_output, *(v for v in extras if v is not None))
        return BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=sequence_output,
            pooler_output=pooled_output,
            past_key_values=past_key_values,
            hidden_states=encoded.hidden_states,
            attentions=encoded.attentions,
            cross_attentions=cross_attentions,
        )


class _BertHead(generic_heads.TokenInputsHead, BertPreTrainedModel):
    """The labelled task heads' forward, on BERT's inputs: the base model (``self.bert``), the head's
    ``head_logits``, then the generic head (``layers.heads``) adds the loss from ``labels`` and builds the output."""

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        head_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        labels: Tensor | None = None,
        **kwargs: Unpack[OutputSwitches],
    ) -> Any:
        return self.task_forward(
            labels, input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
            position_ids=position_ids, head_mask=head_mask, inputs_embeds=inputs_embeds, **kwargs,
        )


def classifier_dropout_prob(config: BertConfig) -> float:
    """The heads' dropout: ``classifier_dropout``, else ``hidden_dropout_prob``."""
    return config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob


class _TiedPredictions:
    """The classes with a masked-LM prediction head (``cls.predictions``) whose decoder is tied to the word
    embeddings: building it, its logits, and the output embeddings. RoBERTa's ``lm_head`` classes override
    :meth:`prediction_head`, :meth:`build_lm_head` and :meth:`lm_logits`."""

    cls: BertOnlyMLMHead | BertPreTrainingHeads
    _tied_weights_keys: ClassVar[list[str] | None] = ["predictions.decoder.bias", "cls.predictions.decoder.weight"]

    def prediction_head(self) -> heads.TiedDecoderBias:
        return self.cls.predictions

    def build_lm_head(self, config: BertConfig) -> None:
        self.cls = BertOnlyMLMHead(config)

    def lm_logits(self, hidden_states: Tensor) -> Tensor:
        """(batch, seq, hidden) -> (batch, seq, vocab). Called through ``cls`` itself, not its child: hooks on
        ``cls`` (a ``device_map`` that offloads it loads its weights at its forward) must run."""
        return self.cls(hidden_states)

    def get_output_embeddings(self) -> nn.Linear:
        return self.prediction_head().decoder

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        head = self.prediction_head()
        head.decoder = new_embeddings
        if new_embeddings.bias is not None:
            head.bias = new_embeddings.bias

    def tie_weights(self) -> None:
        super().tie_weights()  # type: ignore[misc]  # the PreTrainedModel method, later in the MRO
        self.prediction_head().tie_bias()


class BertForPreTraining(_TiedPredictions, BertPreTrainedModel):
    """BERT as pre-trained: masked-token ``prediction_logits`` (batch, seq, vocab) and next-sentence
    ``seq_relationship_logits`` (batch, 2). The loss (their sum) needs both ``labels`` (-100 where no token is
    scored) and ``next_sentence_label`` (0: B follows A, 1: B is random)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.build_base_model(config)
        self.cls = BertPreTrainingHeads(config)
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
        next_sentence_label: Tensor | None = None,
        **kwargs: Unpack[OutputSwitches],
    ) -> BertForPreTrainingOutput | tuple[Any, ...]:
        return_dict = kwargs.pop("return_dict", None)
        encoded = self.base_model(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                                  return_dict=True, **kwargs)
        prediction_logits, seq_relationship_logits = self.cls(encoded.last_hidden_state, encoded.pooler_output)
        loss = None
        if labels is not None and next_sentence_label is not None:
            loss = heads.masked_lm_loss(prediction_logits, labels) + _next_sentence_loss(
                seq_relationship_logits, next_sentence_label
            )
        output = BertForPreTrainingOutput(
            loss=loss, prediction_logits=prediction_logits, seq_relationship_logits=seq_relationship_logits,
            hidden_states=encoded.hidden_states, attentions=encoded.attentions,
        )
        return finish_output(output, return_dict, self.config)


class BertLMHeadModel(_TiedPredictions, BertPreTrainedModel, GenerationMixin):
    """BERT as a left-to-right language model (``is_decoder=True`` in the config): next-token logits
    (batch, seq, vocab) from the masked-LM head, a key/value cache for ``generate()``, and with
    ``add_cross_attention`` attention over ``encoder_hidden_states``. ``labels`` are shifted inside (pass
    ``labels=input_ids``; -100 is not scored)."""

    _expected_unused_keys = [r"^(bert\.)?pooler\.", r"^cls\.seq_relationship\."]

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        if not config.is_decoder:
            logger.warning("%s is a causal language model: set is_decoder=True in the config to use it on its own.",
                           type(self).__name__)
        self.build_base_model(config, add_pooling_layer=False)
        self.build_lm_head(config)
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
        *,
        cache_position: Tensor | None = None,
        **kwargs: Unpack[CausalLMKeywords],
    ) -> CausalLMOutputWithCrossAttentions | tuple[Any, ...]:
        if labels is not None:
            use_cache = False
        encoded = self.base_model(
            input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
            encoder_hidden_states=encoder_hidden_states, encoder_attention_mask=encoder_attention_mask,
            past_key_values=past_key_values, use_cache=use_cache, cache_position=cache_position,
            **inner_switches(kwargs),
        )
        logits = self.lm_logits(encoded.last_hidden_state)  # (batch, seq, vocab)
        loss = None
        if labels is not None:
            loss = causal_lm_loss(logits, labels, self.config.vocab_size,
                                  num_items_in_batch=kwargs.get("num_items_in_batch"),
                                  shift_labels=kwargs.get("shift_labels"))
        output = CausalLMOutputWithCrossAttentions(
            loss=loss, logits=logits, past_key_values=encoded.past_key_values, hidden_states=encoded.hidden_states,
            attentions=encoded.attentions, cross_attentions=encoded.cross_attentions,
        )
        return finish_output(output, kwargs.get("return_dict"), self.config)


class BertForMaskedLM(_TiedPredictions, heads.MaskedLMHead, BertPreTrainedModel):
    """BERT with the masked-language-modelling head: (batch, seq, vocab) logits; ``labels`` (batch, seq) token
    ids to predict, -100 where no prediction is scored."""

    _expected_unused_keys = [r"^(bert\.)?pooler\.", r"^cls\.seq_relationship\."]

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        if config.is_decoder:
            logger.warning("%s attends both ways: set is_decoder=False in the config.", type(self).__name__)
        self.build_base_model(config, add_pooling_layer=False)
        self.build_lm_head(config)
        self.post_init()

    def head_logits(self, encoded: BaseModelOutputWithPoolingAndCrossAttentions) -> Tensor:
        return self.lm_logits(encoded.last_hidden_state)  # type: ignore[arg-type]  # (batch, seq, vocab); a base model's output always has it

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
        **kwargs: Unpack[OutputSwitches],
    ) -> Any:
        return_dict = kwargs.pop("return_dict", None)
        encoded = self.base_model(
            input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
            encoder_hidden_states=encoder_hidden_states, encoder_attention_mask=encoder_attention_mask,
            use_cache=False, return_dict=True, **kwargs,
        )
        return self.head_forward(encoded, labels, return_dict)


def _next_sentence_loss(logits: Tensor, labels: Tensor) -> Tensor:
    return F.cross_entropy(logits.view(-1, 2), labels.view(-1))


class BertForNextSentencePrediction(_BertHead):
    """BERT scoring whether sentence B follows sentence A: logits (batch, 2) from the pooled output;
    ``labels`` (batch,): 0 when B follows A, 1 when B is random."""

    output_class = NextSentencePredictorOutput
    _expected_unused_keys = [r"^cls\.predictions\."]  # a pre-training checkpoint's masked-LM head

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.build_base_model(config)
        self.cls = BertOnlyNSPHead(config)
        self.post_init()

    def head_logits(self, encoded: BaseModelOutputWithPoolingAndCrossAttentions) -> Tensor:
        return self.cls(encoded.pooler_output)  # (batch, 2)

    def head_loss(self, logits: Tensor, labels: Tensor) -> Tensor:
        return _next_sentence_loss(logits, labels)

    def task_forward(self, labels: Tensor | None, **inputs: Any) -> Any:
        """BERT's labelled forward; the old name of ``labels``, ``next_sentence_label``, still works (warned)."""
        if "next_sentence_label" in inputs:
            warnings.warn("next_sentence_label is deprecated; pass labels instead.", FutureWarning, stacklevel=3)
            labels = inputs.pop("next_sentence_label")
        return super().task_forward(labels, **inputs)


class BertForSequenceClassification(heads.SequenceClassificationHead, _BertHead):
    """BERT with a linear classifier (or regressor) on the pooled output. ``labels``: (batch,) class ids,
    (batch, num_labels) floats for multi-label, or floats to regress (``config.problem_type``)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.build_base_model(config)
        self.dropout = nn.Dropout(classifier_dropout_prob(config))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def head_logits(self, encoded: BaseModelOutputWithPoolingAndCrossAttentions) -> Tensor:
        return self.classifier(self.dropout(encoded.pooler_output))  # (batch, num_labels)


class BertForMultipleChoice(generic_heads.GenericForMultipleChoice, _BertHead):
    """BERT scoring each of several choices: inputs are (batch, num_choices, seq), logits (batch, num_choices);
    ``labels``: (batch,) index of the right choice."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.build_base_model(config)
        self.dropout = nn.Dropout(classifier_dropout_prob(config))
        self.classifier = nn.Linear(config.hidden_size, 1)
        self.post_init()

    def head_logits(self, encoded: BaseModelOutputWithPoolingAndCrossAttentions) -> Tensor:
        return self.classifier(self.dropout(encoded.pooler_output))  # (batch * choices, 1)


class BertForTokenClassification(heads.TokenClassificationHead, _BertHead):
    """BERT with a linear classifier on every token (e.g. named entities). ``labels``: (batch, seq) class ids,
    -100 where no label is scored."""

    _expected_unused_keys = [r"^(bert\.)?pooler\."]

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.build_base_model(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(classifier_dropout_prob(config))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def head_logits(self, encoded: BaseModelOutputWithPoolingAndCrossAttentions) -> Tensor:
        return self.classifier(self.dropout(encoded.last_hidden_state))  # (batch, seq, num_labels)


class BertForQuestionAnswering(generic_heads.GenericForQuestionAnswering, BertPreTrainedModel):
    """BERT predicting the start and end token of an answer span. ``start_positions`` / ``end_positions``:
    (batch,) token indices; positions past the end are ignored."""

    _expected_unused_keys = [r"^(bert\.)?pooler\."]

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.build_base_model(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()


__all__ = [
    "BertForMaskedLM",
    "BertForMultipleChoice",
    "BertForNextSentencePrediction",
    "BertForPreTraining",
    "BertForPreTrainingOutput",
    "BertForQuestionAnswering",
    "BertForSequenceClassification",
    "BertForTokenClassification",
    "BertLMHeadModel",
    "BertLayer",
    "BertModel",
    "BertPreTrainedModel",
]
