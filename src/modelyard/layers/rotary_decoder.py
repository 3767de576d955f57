"""The Llama-style decoder stack, shared by the Llama, Mistral and Qwen2 families.

A block is pre-norm: ``x + self_attn(input_layernorm(x))``, then ``x + mlp(post_attention_layernorm(x))``,
with RMSNorm, rotary grouped-query attention and a gated MLP. :class:`RotaryDecoderBackbone` is the base
model's forward (embeddings, the cache, masks built once per forward, rotary tables, the blocks, the final
norm); a family's base model subclasses it with its own ``PreTrainedModel`` (which then builds it for the
shared heads of :mod:`modelyard.layers.decoder_heads`) and says what its layers differ in: biases on the q/k/v
projections (:attr:`RotaryDecoderBackbone.qkv_bias`: Qwen2), or per layer which biases and which attention window
(:meth:`RotaryDecoderBackbone.layer_options`: Llama's biases from its config). By default a layer has no biases
and, when ``config.sliding_window`` is set, attends over that window (Mistral).

The forward contract is the reference's: ``input_ids`` or ``inputs_embeds``, ``attention_mask`` (2-D padding
mask over past + new tokens, or a ready 4-D mask), ``position_ids``, ``past_key_values`` (a ``Cache``, or the
legacy tuple of (key, value) pairs), ``use_cache``, ``cache_position``, ``output_attentions``,
``output_hidden_states``, ``return_dict``.
"""

# No ``from __future__ import annotations``: the forwards' ``**kwargs: Unpack[...]`` annotations stay live objects,
# which is how tools that read a signature (the Trainer, the reference's tests) see the output switches.

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from modelyard.errors import RegistrationError
from modelyard.layers.causal_mask import build_causal_mask, packed_sequence_ids
from modelyard.layers.decoder_attention import GroupedQueryAttention, uses_eager
from modelyard.layers.embeddings import check_one_input
from modelyard.layers.gated_mlp import GatedMLP
from modelyard.layers.init import init_normal_
from modelyard.layers.norms import RMSNorm
from modelyard.layers.returns import OutputSwitches, Unpack, finish_output, output_options
from modelyard.layers.rotary_embedding import RotaryEmbedding
from modelyard.modeling import PreTrainedModel
from modelyard.outputs import BaseModelOutputWithPast, ModelOutput

logger = logging.getLogger(__name__)

FULL, SLIDING = "full_attention", "sliding_attention"


class TokenEmbeddingAccess(nn.Module):
    """``get_input_embeddings`` / ``set_input_embeddings`` over the decoder's token table ``embed_tokens`` (its
    checkpoint name); mixed in before the family's ``PreTrainedModel``, whose defaults it replaces."""

    embed_tokens: nn.Module

    def get_input_embeddings(self) -> nn.Module:
        return self.embed_tokens

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.embed_tokens = value


class RotaryDecoderLayer(nn.Module):
    """One pre-norm decoder block (``self_attn``, ``mlp``, ``input_layernorm``, ``post_attention_layernorm``)."""

    def __init__(self, config: Any, layer_idx: int, *, mlp_bias: bool = False, **attention_options: Any) -> None:
        """``attention_options``: ``qkv_bias``, ``output_bias`` and ``sliding_window`` of the
        :class:`GroupedQueryAttention`."""
        super().__init__()
        self.attention_type = SLIDING if attention_options.get("sliding_window") is not None else FULL
        self.self_attn = GroupedQueryAttention(config, layer_idx, **attention_options)
        self.mlp = GatedMLP(config.hidden_size, config.intermediate_size, hidden_act=config.hidden_act, bias=mlp_bias)
        self.input_layernorm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None,
        position_embeddings: tuple[torch.Tensor, torch.Tensor],
        past_key_values: Any = None,
        cache_position: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        attended, probs = self.self_attn(
            self.input_layernorm(hidden_states),
            position_embeddings,
            attention_mask,
            past_key_values=past_key_values,
            cache_position=cache_position,
            output_attentions=output_attentions,
        )
        hidden_states = hidden_states + attended
        return hidden_states + self.mlp(self.post_attention_layernorm(hidden_states)), probs


def init_decoder_weights(module: nn.Module, std: float) -> None:
    """The reference's initialisation of these blocks: BERT's (:func:`~modelyard.layers.init.init_normal_`: N(0, std)
    linear and embedding weights, the padding row zeroed, zero biases), RMSNorm scales of one."""
    if not init_normal_(module, std) and isinstance(module, RMSNorm):
        with torch.no_grad():
            module.weight.fill_(1.0)


class RotaryDecoderPreTrainedModel(PreTrainedModel):
    """Loading and initialisation rules of every class of a Llama-style family; the family's
    ``PreTrainedModel`` subclasses it with its ``config_class``. Its base model (the family's
    :class:`RotaryDecoderBackbone` subclass) names itself here when it is defined, so the shared heads build
    it (``_make_backbone``)."""

    base_model_prefix = "model"
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _no_split_modules = ["RotaryDecoderLayer"]
    _keys_to_ignore_on_load_unexpected = [r"rotary_emb\.inv_freq$"]
    _backbone_class: type[nn.Module]  # set by RotaryDecoderBackbone.__init_subclass__

    def _make_backbone(self, config: Any) -> nn.Module:
        backbone = getattr(type(self), "_backbone_class", None)
        if backbone is None:
            raise RegistrationError(
                f"{type(self).__name__} has no base model to build its heads on: a family's PreTrainedModel gets "
                "one when the family defines it as `class XModel(RotaryDecoderBackbone, XPreTrainedModel)`."
            )
        return backbone(config)

    def _init_weights(self, module: nn.Module) -> None:
        init_decoder_weights(module, self.config.initializer_range)


def layer_types(config: Any) -> list[str]:
    """Each layer's attention kind: ``config.layer_types`` when set, else sliding everywhere if
    ``config.sliding_window`` is set (Mistral), full attention otherwise (Llama)."""
    declared = getattr(config, "layer_types", None)
    if declared:
        return list(declared)
    kind = SLIDING if getattr(config, "sliding_window", None) is not None else FULL
    return [kind] * config.num_hidden_layers


def as_cache(past_key_values: Any, *, use_cache: bool, config: Any) -> Any:
    """The cache to run with: the given ``Cache``, one built from the legacy tuple format, a new
    ``DynamicCache`` when ``use_cache`` asks for one, or None."""
    from modelyard.generation.caches import DynamicCache

    if isinstance(past_key_values, (tuple, list)):
        return DynamicCache.from_legacy_cache(tuple(past_key_values)) if past_key_values else DynamicCache(config=config)
    if past_key_values is None and use_cache:
        return DynamicCache(config=config)
    return past_key_values


def forward_switches(
    model: Any, input_ids: Any, inputs_embeds: Any, output_attentions: bool | None,
    output_hidden_states: bool | None, use_cache: bool | None,
) -> tuple[bool, bool, bool]:
    """A decoder forward's ``(output_attentions, output_hidden_states, use_cache)``, the unset ones from
    ``model.config``. Refuses both or neither of ``input_ids`` / ``inputs_embeds``; while training with gradient
    checkpointing the cache is switched off (said once per model, not once per step)."""
    config = model.config
    check_one_input(input_ids, inputs_embeds, model=type(model).__name__)
    use_cache = getattr(config, "use_cache", True) if use_cache is None else use_cache
    if use_cache and model.gradient_checkpointing and model.training:
        if not model.__dict__.get("_told_cache_off"):  # once per model, not once per training step
            logger.warning("use_cache=True is incompatible with gradient checkpointing; setting use_cache=False.")
            model.__dict__["_told_cache_off"] = True
        use_cache = False
    attentions, hidden_states = output_options(config, output_attentions, output_hidden_states)
    return bool(attentions), bool(hidden_states), bool(use_cache)


def mask_sizes(cache: Any, cache_position: torch.Tensor, layer_idx: int, query_length: int) -> tuple[int, int]:
    """``(kv_length, kv_offset)`` of the keys a layer will attend over, asked before the cache is updated."""
    if cache is None:
        return query_length, 0
    sizes = getattr(cache, "get_mask_sizes", None)
    if sizes is not None:
        return sizes(cache_position, layer_idx)
    return cache.get_seq_length(layer_idx) + query_length, 0


def decoder_output(
    hidden_states: torch.Tensor, all_hidden: tuple[torch.Tensor, ...] | None,
    all_attentions: tuple[torch.Tensor, ...] | None, cache: Any, *, return_dict: bool | None, config: Any,
    output_class: type[ModelOutput] = BaseModelOutputWithPast,
) -> Any:
    """A decoder base model's result after its final norm: ``hidden_states`` (also appended to the collected
    ``all_hidden``), the cache to hand back (None without ``use_cache``), the collected attentions, as an
    ``output_class`` or its tuple per ``return_dict``."""
    if all_hidden is not None:
        all_hidden += (hidden_states,)
    result = output_class(last_hidden_state=hidden_states, past_key_values=cache, hidden_states=all_hidden,
                          attentions=all_attentions)
    return finish_output(result, return_dict, config)


class RotaryDecoderBackbone(TokenEmbeddingAccess):
    """Base-model behaviour of a Llama-style decoder; mix in before the family's ``PreTrainedModel``
    (``class MistralModel(RotaryDecoderBackbone, MistralPreTrainedModel)``), which makes the class that
    family's base model."""

    config: Any
    # set with gradient_checkpointing by PreTrainedModel.gradient_checkpointing_enable()
    _gradient_checkpointing_func: Callable[..., Any]
    qkv_bias: ClassVar[bool] = False  # a family whose query, key and value projections have biases says True (Qwen2)

    if TYPE_CHECKING:  # given by the family's PreTrainedModel, later in the MRO
        def post_init(self) -> None: ...

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A family's base model names itself to the family's PreTrainedModel (a direct base), whose heads
        # build it; a subclass of a base model (bases without that PreTrainedModel) changes nothing.
        for base in cls.__bases__:
            if issubclass(base, RotaryDecoderPreTrainedModel) and not issubclass(base, RotaryDecoderBackbone):
                base._backbone_class = cls

    def __init__(self, config: Any) -> None:
        """Create ``embed_tokens``, ``layers``, ``norm`` and ``rotary_emb`` (the reference's key names)."""
        super().__init__(config)  # the family's PreTrainedModel, later in the MRO
        self.padding_idx = config.pad_token_id
        self.vocab_size = config.vocab_size
        self.embed_tokens: nn.Module = nn.Embedding(config.vocab_size, config.hidden_size, self.padding_idx)
        self.layers = nn.ModuleList(
            RotaryDecoderLayer(config, i, **self.layer_options(config, i, kind))
            for i, kind in enumerate(layer_types(config))
        )
        self.norm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.rotary_emb = RotaryEmbedding(config)
        self.gradient_checkpointing = False
        self.post_init()

    def layer_options(self, config: Any, layer_idx: int, layer_type: str) -> dict[str, Any]:
        """Keyword arguments of :class:`RotaryDecoderLayer` for one layer (biases, sliding window): by default
        the q/k/v biases :attr:`qkv_bias` says, none elsewhere, and ``config.sliding_window`` on the sliding layers."""
        window = getattr(config, "sliding_window", None) if layer_type == SLIDING else None
        return {"qkv_bias": self.qkv_bias, "sliding_window": window}

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        past_key_values: Any = None,
        inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        cache_position: torch.Tensor | None = None,
        **kwargs: Unpack[OutputSwitches],
    ) -> BaseModelOutputWithPast | tuple[Any, ...]:
        config = self.config
        output_attentions, output_hidden_states, use_cache = forward_switches(
            self, input_ids, inputs_embeds, kwargs.get("output_attentions"), kwargs.get("output_hidden_states"),
            use_cache,
        )
        if inputs_embeds is None:
            inputs_embeds = self.embed_tokens(input_ids)  # (batch, seq, hidden)
        cache = as_cache(past_key_values, use_cache=use_cache, config=config)
        batch, seq = inputs_embeds.shape[:2]
        if cache_position is None:
            past = cache.get_seq_length() if cache is not None else 0
            cache_position = torch.arange(past, past + seq, device=inputs_embeds.device)
        packed = None
        if position_ids is None:
            position_ids = cache_position.unsqueeze(0)
        elif attention_mask is None and cache is None:  # several sequences packed in a row attend separately
            packed = packed_sequence_ids(position_ids.expand(batch, -1))

        masks = self._masks(
            inputs_embeds, attention_mask, cache, cache_position, packed, additive=uses_eager(config, output_attentions)
        )
        position_embeddings = self.rotary_emb(inputs_embeds, position_ids)
        hidden_states = inputs_embeds
        all_hidden: tuple[torch.Tensor, ...] | None = () if output_hidden_states else None
        all_attentions: tuple[torch.Tensor, ...] | None = () if output_attentions else None
        checkpointing = self.gradient_checkpointing and self.training
        for layer in self.layers:
            if all_hidden is not None:
                all_hidden += (hidden_states,)
            mask = masks[layer.attention_type]  # type: ignore[index]  # torch: ModuleList items are typed nn.Module
            if checkpointing:
                hidden_states, probs = self._gradient_checkpointing_func(
                    layer.__call__, hidden_states, mask, position_embeddings, None, cache_position, output_attentions
                )
            else:
                hidden_states, probs = layer(hidden_states, mask, position_embeddings, cache, cache_position, output_attentions)
            if all_attentions is not None:
                all_attentions += (probs,)
        return decoder_output(self.norm(hidden_states), all_hidden, all_attentions, cache if use_cache else None,
                              return_dict=kwargs.get("return_dict"), config=config)

    def _masks(
        self,
        inputs_embeds: torch.Tensor,
        attention_mask: torch.Tensor | None,
        cache: Any,
        cache_position: torch.Tensor,
        packed: torch.Tensor | None,
        *,
        additive: bool,
    ) -> dict[str, torch.Tensor | None]:
        """One mask per attention kind present, built once and shared by the layers of that kind."""
        kinds: list[str] = [layer.attention_type for layer in self.layers]  # type: ignore[misc]  # torch: ModuleList items are typed nn.Module
        masks: dict[str, torch.Tensor | None] = {}
        for kind in dict.fromkeys(kinds):
            kv_length, kv_offset = mask_sizes(cache, cache_position, kinds.index(kind), inputs_embeds.shape[1])
            masks[kind] = build_causal_mask(
                batch_size=inputs_embeds.shape[0],
                cache_position=cache_position,
                kv_length=kv_length,
                kv_offset=kv_offset,
                attention_mask=attention_mask,
                sliding_window=self.config.sliding_window if kind == SLIDING else None,
                packed_ids=packed,
                dtype=inputs_embeds.dtype,
                additive=additive,
                allow_skip=not getattr(cache, "is_compileable", False),
            )
        return masks


__all__ = [
    "FULL", "SLIDING", "RotaryDecoderBackbone", "RotaryDecoderLayer", "RotaryDecoderPreTrainedModel",
    "TokenEmbeddingAccess", "as_cache", "decoder_output", "forward_switches", "init_decoder_weights", "layer_types",
    "mask_sizes",
]
