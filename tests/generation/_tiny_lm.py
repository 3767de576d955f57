"""A tiny causal LM written once against the reference's generation contract, built on either library.

``make_classes(lib)`` builds the config and model classes from ``lib``'s ``PretrainedConfig``,
``PreTrainedModel``, ``GenerationMixin``, ``DynamicCache`` and ``CausalLMOutputWithPast`` (modelyard's in the
tests, transformers' in ``tools/reference/gen_generation.py``), so both libraries generate with the same
architecture and weights. It has learned absolute positions (so wrong ``position_ids`` under left padding change
the output), one attention layer over the cache, a final norm and an untied head; it takes
``logits_to_keep`` and, when given a ``StaticCache``, masks the positions not yet written.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn

TINY = dict(vocab_size=24, hidden_size=16, num_attention_heads=2, num_key_value_heads=2, num_hidden_layers=2,
            max_position_embeddings=64, bos_token_id=1, eos_token_id=21, pad_token_id=0, tie_word_embeddings=False)


def make_classes(lib: Any) -> SimpleNamespace:
    class TinyConfig(lib.PretrainedConfig):
        model_type = "tiny-lm"

        def __init__(self, vocab_size: int = 24, hidden_size: int = 16, num_attention_heads: int = 2,
                     num_key_value_heads: int = 2, num_hidden_layers: int = 2, max_position_embeddings: int = 64,
                     **kwargs: Any) -> None:
            self.vocab_size = vocab_size
            self.hidden_size = hidden_size
            self.num_attention_heads = num_attention_heads
            self.num_key_value_heads = num_key_value_heads
            self.num_hidden_layers = num_hidden_layers
            self.max_position_embeddings = max_position_embeddings
            super().__init__(**kwargs)

    class Attention(nn.Module):
        def __init__(self, config: Any, layer_idx: int) -> None:
            super().__init__()
            self.layer_idx = layer_idx
            self.heads = config.num_attention_heads
            self.head_dim = config.hidden_size // self.heads
            self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)
            self.out = nn.Linear(config.hidden_size, config.hidden_size)

        def forward(self, hidden: torch.Tensor, mask: torch.Tensor | None, past: Any, cache_position: torch.Tensor
                    ) -> torch.Tensor:
            batch, seq, _ = hidden.shape
            q, k, v = self.qkv(hidden).view(batch, seq, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
            if past is not None:  # (batch, heads, seq, head_dim)
                k, v = past.update(k, v, self.layer_idx, {"cache_position": cache_position})
            keys = k.shape[2]
            allowed = torch.arange(keys, device=hidden.device)[None, :] <= cache_position[:, None]  # (seq, keys)
            allowed = allowed[None, None]
            if mask is not None:
                if mask.shape[1] < keys:  # a static cache: positions past the mask are not written yet
                    mask = torch.cat([mask, mask.new_ones(batch, keys - mask.shape[1])], dim=1)
                allowed = allowed & mask[:, None, None, :keys].bool()
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.head_dim)
            scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
            context = scores.softmax(dim=-1) @ v
            return self.out(context.transpose(1, 2).reshape(batch, seq, -1))

    class TinyForCausalLM(lib.PreTrainedModel, lib.GenerationMixin):
        config_class = TinyConfig
        base_model_prefix = "tiny"
        _supports_cache_class = True

        def __init__(self, config: Any) -> None:
            super().__init__(config)
            self.wte = nn.Embedding(config.vocab_size, config.hidden_size)
            self.wpe = nn.Embedding(config.max_position_embeddings, config.hidden_size)
            self.layers = nn.ModuleList(Attention(config, i) for i in range(config.num_hidden_layers))
            self.norm = nn.LayerNorm(config.hidden_size)
            self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
            self.post_init()

        def _init_weights(self, module: nn.Module) -> None:
            if isinstance(module, (nn.Linear, nn.Embedding)):
                module.weight.data.normal_(0.0, 0.5)
            if isinstance(module, nn.Linear) and module.bias is not None:
                module.bias.data.normal_(0.0, 0.1)

        def get_input_embeddings(self) -> nn.Module:
            return self.wte

        def get_output_embeddings(self) -> nn.Module:
            return self.lm_head

        def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                    position_ids: torch.Tensor | None = None, past_key_values: Any = None,
                    inputs_embeds: torch.Tensor | None = None, use_cache: bool | None = None,
                    cache_position: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                    return_dict: bool | None = None, logits_to_keep: int = 0, **kwargs: Any) -> Any:
            hidden = self.wte(input_ids) if inputs_embeds is None else inputs_embeds
            if use_cache and past_key_values is None:
                past_key_values = lib.DynamicCache()
            past_length = past_key_values.get_seq_length() if past_key_values is not None else 0
            if cache_position is None:
                cache_position = torch.arange(past_length, past_length + hidden.shape[1], device=hidden.device)
            if position_ids is None:
                position_ids = cache_position[None, :]
            hidden = hidden + self.wpe(position_ids)
            for layer in self.layers:
                hidden = hidden + layer(hidden, attention_mask, past_key_values if use_cache else None, cache_position)
            hidden = self.norm(hidden)
            logits = self.lm_head(hidden[:, -logits_to_keep:] if logits_to_keep else hidden)
            loss = None
            if labels is not None:
                loss = nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                                                   labels[:, 1:].reshape(-1))
            return lib.CausalLMOutputWithPast(loss=loss, logits=logits,
                                              past_key_values=past_key_values if use_cache else None)

    return SimpleNamespace(TinyConfig=TinyConfig, TinyForCausalLM=TinyForCausalLM)


def modelyard_classes() -> SimpleNamespace:
    import modelyard
    from modelyard.generation import DynamicCache, GenerationMixin

    lib = SimpleNamespace(PretrainedConfig=modelyard.PretrainedConfig, PreTrainedModel=modelyard.PreTrainedModel,
                          GenerationMixin=GenerationMixin, DynamicCache=DynamicCache,
                          CausalLMOutputWithPast=modelyard.CausalLMOutputWithPast)
    return make_classes(lib)
