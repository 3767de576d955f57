"""GPT-2: learned positions, pre-norm blocks with a fused ``c_attn`` projection, and the tanh GELU.

Reads top to bottom: attention, MLP, block, the base model, then the heads. Submodule names and the
``Conv1D`` weight layout (in, out) equal the checkpoint keys of Hugging Face GPT-2 checkpoints
(``transformer.h.0.attn.c_attn.weight``, ``transformer.wpe.weight``, ``lm_head.weight`` tied to ``wte``).
Attention runs on SDPA (causal by the kernel whenever no padding is masked) or, for
``attn_implementation="eager"``, ``output_attentions`` and ``head_mask``, on the explicit path with the
reference's rounding (softmax in the scores' dtype; float32 scores with ``reorder_and_upcast_attn``).
"""

# No ``from __future__ import annotations``: the forwards' ``**kwargs: Unpack[...]`` annotations stay live objects,
# which is how tools that read a signature (the Trainer, the reference's tests) see the output switches.

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from modelyard.errors import ConfigurationError
from modelyard.generation.utils import GenerationMixin
from modelyard.layers.activations import get_activation
from modelyard.layers.attention import expand_head_mask
from modelyard.layers.causal_mask import build_causal_mask, packed_sequence_ids
from modelyard.layers.conv1d import Conv1D
from modelyard.layers.decoder_attention import causal_attention, uses_eager
from modelyard.layers.decoder_heads import (
    CausalLMKeywords,
    LMHeadBase,
    classifier_dropout,
    last_token_scores_output,
    token_scores_output,
)
from modelyard.layers.generic_heads import GenericForQuestionAnswering
from modelyard.layers.pooling import SequenceSummary
from modelyard.layers.returns import (
    OutputSwitches,
    Unpack,
    check_switches,
    finish_output,
    inner_switches,
    output_options,
)
from modelyard.layers.rotary_decoder import as_cache, decoder_output, mask_sizes
from modelyard.modeling import PreTrainedModel
from modelyard.models.gpt2.configuration_gpt2 import GPT2Config
from modelyard.outputs import (
    BaseModelOutputWithPastAndCrossAttentions,
    CausalLMOutputWithCrossAttentions,
    ModelOutput,
    SequenceClassifierOutputWithPast,
    TokenClassifierOutput,
)

logger = logging.getLogger(__name__)
Tensor = torch.Tensor


@dataclass
class GPT2DoubleHeadsModelOutput(ModelOutput):
    """:class:`GPT2DoubleHeadsModel`'s output: the language-model loss and logits (batch, choices, seq, vocab) and
    the multiple-choice loss and scores (batch, choices)."""

    loss: Tensor | None = None
    mc_loss: Tensor | None = None
    logits: Tensor | None = None
    mc_logits: Tensor | None = None
    past_key_values: Any = None
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None


class GPT2Attention(nn.Module):
    """Causal self-attention with one fused q/k/v projection (``c_attn``) and the output ``c_proj``."""

    def __init__(self, config: GPT2Config, layer_idx: int) -> None:
        super().__init__()
        self.config = config  # read at call time: attn_implementation can change after loading
        self.embed_dim = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.head_dim = self.embed_dim // self.num_heads
        if self.head_dim * self.num_heads != self.embed_dim:
            raise ConfigurationError(
                f"n_embd ({self.embed_dim}) must be a multiple of n_head ({self.num_heads}); change one of them."
            )
        self.split_size = self.embed_dim
        self.layer_idx = layer_idx
        # Scaling as the reference's explicit path applies it (its SDPA path ignores both switches).
        scale = self.head_dim**-0.5 if config.scale_attn_weights else 1.0
        self.scale = scale / (layer_idx + 1) if config.scale_attn_by_inverse_layer_idx else scale
        self.c_attn = Conv1D(3 * self.embed_dim, self.embed_dim)
        self.c_proj = Conv1D(self.embed_dim, self.embed_dim)
        self.attn_dropout = nn.Dropout(config.attn_pdrop)
        self.resid_dropout = nn.Dropout(config.resid_pdrop)

    def forward(
        self,
        hidden_states: Tensor,
        attention_mask: Tensor | None,
        past_key_values: Any = None,
        cache_position: Tensor | None = None,
        head_mask: Tensor | None = None,
        output_attentions: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        batch, seq = hidden_states.shape[:2]
        shape = (batch, seq, self.num_heads, self.head_dim)
        query, key, value = (
            t.view(shape).transpose(1, 2) for t in self.c_attn(hidden_states).split(self.split_size, dim=2)
        )  # each (batch, heads, seq, head_dim)
        if past_key_values is not None:
            key, value = past_key_values.update(key, value, self.layer_idx, {"cache_position": cache_position})
        eager = uses_eager(self.config, output_attentions) or head_mask is not None
        if eager and self.config.reorder_and_upcast_attn:  # scores and softmax in float32, as the reference
            context, probs = causal_attention(
                query.float(), key.float(), value.float(), attention_mask, scale=self.scale,
                dropout_p=self.attn_dropout.p if self.training else 0.0, eager=True, head_mask=head_mask,
            )
            context, probs = context.to(value.dtype), probs.to(value.dtype) if probs is not None else None
        else:
            context, probs = causal_attention(
                query, key, value, attention_mask, scale=self.scale,
                dropout_p=self.attn_dropout.p if self.training else 0.0, eager=eager, head_mask=head_mask,
                softmax_in_float32=False,
            )
        out = self.c_proj(context.reshape(batch, seq, self.embed_dim))
        return self.resid_dropout(out), probs


class GPT2MLP(nn.Module):
    def __init__(self, intermediate_size: int, config: GPT2Config) -> None:
        super().__init__()
        self.c_fc = Conv1D(intermediate_size, config.hidden_size)
        self.c_proj = Conv1D(config.hidden_size, intermediate_size)
        self.act = get_activation(config.activation_function)
        self.dropout = nn.Dropout(config.resid_pdrop)

    def forward(self, hidden_states: Tensor) -> Tensor:
        return self.dropout(self.c_proj(self.act(self.c_fc(hidden_states))))


class GPT2Block(nn.Module):
    """``x + attn(ln_1(x))`` then ``x + mlp(ln_2(x))``."""

    def __init__(self, config: GPT2Config, layer_idx: int) -> None:
        super().__init__()
        hidden = config.hidden_size
        self.ln_1 = nn.LayerNorm(hidden, eps=config.layer_norm_epsilon)
        self.attn = GPT2Attention(config, layer_idx)
        self.ln_2 = nn.LayerNorm(hidden, eps=config.layer_norm_epsilon)
        self.mlp = GPT2MLP(config.n_inner if config.n_inner is not None else 4 * hidden, config)

    def forward(
        self,
        hidden_states: Tensor,
        attention_mask: Tensor | None,
        past_key_values: Any = None,
        cache_position: Tensor | None = None,
        head_mask: Tensor | None = None,
        output_attentions: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        attended, probs = self.attn(
            self.ln_1(hidden_states), attention_mask, past_key_values, cache_position, head_mask, output_attentions
        )
        hidden_states = hidden_states + attended
        return hidden_states + self.mlp(self.ln_2(hidden_states)), probs


class GPT2PreTrainedModel(PreTrainedModel):
    """Weight initialisation and loading rules shared by every GPT-2 class."""

    config_class = GPT2Config
    base_model_prefix = "transformer"
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _inplace_activations = ()
    # Old checkpoints saved the causal-mask buffers; this implementation computes its masks.
    _computed_checkpoint_keys = [r"(^|\.)attn\.bias$", r"(^|\.)attn\.masked_bias$"]

    def _make_backbone(self, config: GPT2Config) -> nn.Module:
        return GPT2Model(config)

    def _init_weights(self, module: nn.Module) -> None:
        config = self.config
        with torch.no_grad():
            if isinstance(module, (nn.Linear, Conv1D)):
                module.weight.normal_(mean=0.0, std=config.initializer_range)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.Embedding):
                module.weight.normal_(mean=0.0, std=config.initializer_range)
                if module.padding_idx is not None:
                    module.weight[module.padding_idx].zero_()
            elif isinstance(module, nn.LayerNorm):
                module.bias.zero_()
                module.weight.fill_(1.0)
            # GPT-2's scaled init: residual projections shrink with depth (2 residual branches per block).
            for name, param in module.named_parameters():
                if name == "c_proj.weight":
                    param.normal_(mean=0.0, std=config.initializer_range / (2 * config.n_layer) ** 0.5)


class GPT2Model(GPT2PreTrainedModel):
    """The bare GPT-2 decoder: hidden states of every token (and the KV cache when ``use_cache``)."""

    # set with gradient_checkpointing by PreTrainedModel.gradient_checkpointing_enable()
    _gradient_checkpointing_func: Callable[..., Any]

    def __init__(self, config: GPT2Config) -> None:
        super().__init__(config)
        if config.add_cross_attention:
            raise ConfigurationError(
                "GPT2Model with add_cross_attention=True (GPT-2 as the decoder of an encoder-decoder) is not "
                "supported; set add_cross_attention=False."
            )
        self.embed_dim = config.hidden_size
        self.wte = nn.Embedding(config.vocab_size, self.embed_dim)
        self.wpe = nn.Embedding(config.max_position_embeddings, self.embed_dim)
        self.drop = nn.Dropout(config.embd_pdrop)
        self.h = nn.ModuleList(GPT2Block(config, layer_idx=i) for i in range(config.num_hidden_layers))
        self.ln_f = nn.LayerNorm(self.embed_dim, eps=config.layer_norm_epsilon)
        self.gradient_checkpointing = False
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.wte

    def set_input_embeddings(self, new_embeddings: nn.Module) -> None:
        self.wte = new_embeddings  # type: ignore[assignment]  # any embedding module may replace it

    def get_position_embeddings(self) -> nn.Embedding:
        return self.wpe

    def forward(
        self,
        input_ids: Tensor | None = None,
        past_key_values: Any = None,
        cache_position: Tensor | None = None,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        head_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        use_cache: bool | None = None,
        **kwargs: Unpack[OutputSwitches],
    ) -> BaseModelOutputWithPastAndCrossAttentions | tuple[Any, ...]:
        config = self.config
        output_attentions, output_hidden_states = output_options(
            config, kwargs.get("output_attentions"), kwargs.get("output_hidden_states")
        )
        use_cache = config.use_cache if use_cache is None else use_cache
        if input_ids is not None and inputs_embeds is None:
            given = input_ids
        elif inputs_embeds is not None and input_ids is None:
            given = inputs_embeds[..., 0]
        else:
            raise ValueError("Pass exactly one of input_ids or inputs_embeds to GPT2Model.")
        # (batch, choices, seq) inputs run as (batch * choices, seq) and come back in their own shape
        leading = tuple(given.shape[:-1])
        if input_ids is not None:
            input_ids = input_ids.view(-1, input_ids.shape[-1])
        if self.gradient_checkpointing and self.training and use_cache:
            if not self.__dict__.get("_told_cache_off"):  # once per model, not once per training step
                logger.warning("use_cache=True is incompatible with gradient checkpointing; setting use_cache=False.")
                self.__dict__["_told_cache_off"] = True
            use_cache = False
        cache = as_cache(past_key_values, use_cache=use_cache, config=config)
        if inputs_embeds is None:
            inputs_embeds = self.wte(input_ids)  # (batch, seq, hidden)
        batch, seq = inputs_embeds.shape[:2]
        past = cache.get_seq_length() if cache is not None else 0
        if cache_position is None:
            cache_position = torch.arange(past, past + seq, device=inputs_embeds.device)
        packed = None
        if position_ids is None:
            position_ids = cache_position.unsqueeze(0)
            last_position = past + seq - 1
        else:
            position_ids = position_ids.view(-1, seq)
            last_position = int(position_ids.max()) if position_ids.numel() else 0
            if attention_mask is None and cache is None:
                packed = packed_sequence_ids(position_ids.expand(batch, -1))
        if last_position >= config.max_position_embeddings:
            raise ValueError(
                f"Position {last_position} is past the position table of this GPT-2 model "
                f"(max_position_embeddings / n_positions = {config.max_position_embeddings}): the prompt plus the "
                f"cached tokens hold {past + seq} tokens. Truncate the input to at most "
                f"{config.max_position_embeddings} tokens (tokenizer: truncation=True, max_length=...) or lower "
                "max_new_tokens."
            )
        hidden_states = inputs_embeds + self.wpe(position_ids)
        if token_type_ids is not None:
            hidden_states = hidden_states + self.wte(token_type_ids.view(-1, seq))
        hidden_states = self.drop(hidden_states)

        if attention_mask is not None and attention_mask.dim() < 4:
            attention_mask = attention_mask.view(batch, -1)
        eager = uses_eager(config, bool(output_attentions)) or head_mask is not None
        kv_length, kv_offset = mask_sizes(cache, cache_position, 0, seq)
        mask = build_causal_mask(
            batch_size=batch, cache_position=cache_position, kv_length=kv_length, kv_offset=kv_offset,
            attention_mask=attention_mask, packed_ids=packed, dtype=hidden_states.dtype, additive=eager,
            allow_skip=not getattr(cache, "is_compileable", False),
        )
        if eager and mask is not None and (attention_mask is None or attention_mask.dim() != 4):
            # The reference masks the causal part with its own buffer first and then adds the mask: entries
            # hidden by both end at -inf (a fully padded query row then attends to its allowed keys only).
            kv_idx = torch.arange(kv_offset, kv_offset + kv_length, device=mask.device)
            mask = mask.masked_fill(kv_idx[None, :] > cache_position[:, None], float("-inf"))
        head_masks = expand_head_mask(head_mask.to(hidden_states.dtype) if head_mask is not None else None,
                                      config.num_hidden_layers)

        all_hidden: tuple[Tensor, ...] | None = () if output_hidden_states else None
        all_attentions: tuple[Tensor, ...] | None = () if output_attentions else None
        checkpointing = self.gradient_checkpointing and self.training
        for block, block_head_mask in zip(self.h, head_masks):
            if all_hidden is not None:
                all_hidden += (hidden_states,)
            if checkpointing:
                hidden_states, probs = self._gradient_checkpointing_func(
                    block.__call__, hidden_states, mask, None, cache_position, block_head_mask, output_attentions
                )
            else:
                hidden_states, probs = block(hidden_states, mask, cache, cache_position, block_head_mask,
                                             output_attentions)
            if all_attentions is not None:
                all_attentions += (probs,)
        hidden_states = self.ln_f(hidden_states)
        if len(leading) > 1:
            hidden_states = hidden_states.view(*leading, *hidden_states.shape[-2:])
        return decoder_output(hidden_states, all_hidden, all_attentions, cache if use_cache else None,
                              return_dict=kwargs.get("return_dict"), config=config,
                              output_class=BaseModelOutputWithPastAndCrossAttentions)


class _GPT2Head(GPT2PreTrainedModel):
    """What every GPT-2 head has: the base model under ``transformer`` and its position table."""

    transformer: GPT2Model

    def get_position_embeddings(self) -> nn.Embedding:
        return self.transformer.get_position_embeddings()


class GPT2LMHeadModel(LMHeadBase, _GPT2Head):
    """GPT-2 with the language-modelling head, tied to the token embeddings (``tie_word_embeddings``)."""

    def forward(
        self,
        input_ids: Tensor | None = None,
        past_key_values: Any = None,
        cache_position: Tensor | None = None,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        head_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        labels: Tensor | None = None,
        use_cache: bool | None = None,
        *,
        logits_to_keep: int | Tensor = 0,
        **kwargs: Unpack[CausalLMKeywords],
    ) -> CausalLMOutputWithCrossAttentions | tuple[Any, ...]:
        """``labels``: (batch, seq) token ids, usually ``input_ids`` (shifted inside), -100 where not scored."""
        out = self.transformer(
            input_ids, past_key_values, cache_position, attention_mask, token_type_ids, position_ids, head_mask,
            inputs_embeds, use_cache, **inner_switches(kwargs),
        )
        return self._lm_output(out, labels, logits_to_keep, kwargs, CausalLMOutputWithCrossAttentions)


class GPT2DoubleHeadsModel(_GPT2Head, GenerationMixin):
    """GPT-2 with the language-modelling head and a multiple-choice head (``multiple_choice_head``: a
    :class:`~modelyard.layers.pooling.SequenceSummary` read at each choice's classification token, one score per
    choice). Inputs are (batch, num_choices, seq); ``mc_token_ids`` (batch, num_choices) name each choice's
    classification token (the last by default). Sets ``config.num_labels = 1``, as the reference does."""

    _tied_weights_keys = ["lm_head.weight"]

    def __init__(self, config: GPT2Config) -> None:
        super().__init__(config)
        config.num_labels = 1
        self.transformer = GPT2Model(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.multiple_choice_head = SequenceSummary(config)
        self.post_init()

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        self.lm_head = new_embeddings

    def forward(
        self,
        input_ids: Tensor | None = None,
        past_key_values: Any = None,
        cache_position: Tensor | None = None,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        head_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        mc_token_ids: Tensor | None = None,
        labels: Tensor | None = None,
        mc_labels: Tensor | None = None,
        use_cache: bool | None = None,
        **kwargs: Unpack[OutputSwitches],
    ) -> GPT2DoubleHeadsModelOutput | tuple[Any, ...]:
        """``labels``: token ids shaped like ``input_ids`` (shifted inside, -100 unscored); ``mc_labels``:
        (batch,) the index of the right choice."""
        out = self.transformer(
            input_ids, past_key_values, cache_position, attention_mask, token_type_ids, position_ids, head_mask,
            inputs_embeds, use_cache, **inner_switches(kwargs),
        )
        hidden = out.last_hidden_state  # (batch, choices, seq, hidden)
        logits = self.lm_head(hidden)
        mc_logits = self.multiple_choice_head(hidden, mc_token_ids).squeeze(-1)  # (batch, choices)
        mc_loss = None
        if mc_labels is not None:
            mc_loss = F.cross_entropy(mc_logits.view(-1, mc_logits.shape[-1]), mc_labels.view(-1).to(logits.device))
        loss = None
        if labels is not None:
            shifted = logits[..., :-1, :]
            loss = F.cross_entropy(shifted.reshape(-1, shifted.shape[-1]),
                                   labels[..., 1:].reshape(-1).to(logits.device), ignore_index=-100)
        result = GPT2DoubleHeadsModelOutput(loss=loss, mc_loss=mc_loss, logits=logits, mc_logits=mc_logits,
                                            past_key_values=out.past_key_values, hidden_states=out.hidden_states,
                                            attentions=out.attentions)
        return finish_output(result, kwargs.get("return_dict"), self.config)


class _GPT2LabelledHead(_GPT2Head):
    """The forward of the heads that take ``labels`` (sequence and token classification): the base model,
    then the head's :meth:`labelled_output` (its logits, the loss from ``labels``, the output object)."""

    def labelled_output(self, out: Any, input_ids: Tensor | None, labels: Tensor | None) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define labelled_output(out, input_ids, labels).")

    def forward(
        self,
        input_ids: Tensor | None = None,
        past_key_values: Any = None,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        head_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        labels: Tensor | None = None,
        use_cache: bool | None = None,
        **kwargs: Unpack[OutputSwitches],
    ) -> SequenceClassifierOutputWithPast | TokenClassifierOutput | tuple[Any, ...]:
        """``labels``: see the head's :meth:`labelled_output`."""
        check_switches(self, kwargs)  # GPT2Model lets unknown keywords pass; these heads refuse them
        out = self.transformer(
            input_ids, past_key_values, None, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
            use_cache, **inner_switches(kwargs),
        )
        return finish_output(self.labelled_output(out, input_ids, labels), kwargs.get("return_dict"), self.config)


class GPT2ForSequenceClassification(_GPT2LabelledHead):
    """GPT-2 scoring each sequence at its last non-padding token (``score``, no bias)."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.transformer = GPT2Model(config)
        self.score = nn.Linear(config.n_embd, self.num_labels, bias=False)
        self.post_init()

    def labelled_output(self, out: Any, input_ids: Tensor | None, labels: Tensor | None) -> Any:
        """``labels``: (batch,) class ids, (batch, num_labels) floats for multi-label, or floats to regress."""
        scores = self.score(out.last_hidden_state)  # (batch, seq, num_labels)
        return last_token_scores_output(scores, input_ids, labels, self.config, out, where=type(self).__name__)


class GPT2ForTokenClassification(_GPT2LabelledHead):
    """GPT-2 with a classifier on every token (``classifier`` after dropout)."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.transformer = GPT2Model(config)
        self.dropout = nn.Dropout(classifier_dropout(config))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def labelled_output(self, out: Any, input_ids: Tensor | None, labels: Tensor | None) -> Any:
        """``labels``: (batch, seq) class ids, -100 where no label is scored."""
        logits = self.classifier(self.dropout(out.last_hidden_state))  # (batch, seq, num_labels)
        return token_scores_output(logits, labels, out)


class GPT2ForQuestionAnswering(GenericForQuestionAnswering, _GPT2Head):
    """GPT-2 predicting the start and end token of an answer span (``qa_outputs``). ``start_positions`` /
    ``end_positions``: (batch,) token indices; positions past the end are ignored."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.transformer = GPT2Model(config)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)
        self.post_init()

    def encode(self, **inputs: Any) -> BaseModelOutputWithPastAndCrossAttentions:
        return super().encode(**inputs, use_cache=False)  # nothing generates from here: no key/value cache


__all__ = [
    "GPT2DoubleHeadsModel",
    "GPT2DoubleHeadsModelOutput",
    "GPT2ForQuestionAnswering",
    "GPT2ForSequenceClassification",
    "GPT2ForTokenClassification",
    "GPT2LMHeadModel",
    "GPT2Model",
    "GPT2PreTrainedModel",
]
