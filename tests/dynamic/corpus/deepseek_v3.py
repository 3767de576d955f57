"""DeepSeek-V3 style: the V3 repositories grew out of the V2 files (``corpus.deepseek``), renamed ``DeepseekV3*``,
with what V3 changed: ``MoEGate`` scoring experts by a sigmoid, an ``e_score_correction_bias`` parameter steering
the choice (``topk_method="noaux_tc"``: groups ranked by the sum of their two best biased scores, the weights taken
from the unbiased scores, normalised, then scaled by ``routed_scaling_factor``) and a gate returning two values;
YaRN rotary scaling from ``rope_scaling`` (``type: yarn``: frequencies blended between interpolation and
extrapolation by a linear ramp, cos/sin scaled by a ratio of ``yarn_get_mscale`` values) and the softmax scale
multiplied by ``mscale_all_dim``'s factor squared; ``num_nextn_predict_layers`` in the config (the multi-token
prediction layer the checkpoint holds and the model class does not build: unused keys, reported). ``model_type``
``deepseek_v3`` is also one of the reference's own families: ``auto_map`` and ``trust_remote_code`` must win over it.
"""

from __future__ import annotations

from corpus import deepseek
from corpus.repo import CorpusRepo, config_json


def _replace(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced once; fails if the V2 files stop containing it."""
    if text.count(old) != 1:
        raise AssertionError(f"the DeepSeek-V2 text to derive V3 from no longer contains exactly one {old[:60]!r}")
    return text.replace(old, new)


CONFIGURATION = _replace(
    _replace(deepseek.CONFIGURATION.replace("DeepseekV2", "DeepseekV3").replace("deepseek_v2", "deepseek_v3"),
             "        scoring_func=\"softmax\",\n", "        scoring_func=\"sigmoid\",\n        num_nextn_predict_layers=1,\n"),
    "        self.scoring_func = scoring_func\n",
    "        self.scoring_func = scoring_func\n        self.num_nextn_predict_layers = num_nextn_predict_layers\n",
)

YARN = '''

def yarn_find_correction_dim(num_rotations, dim, base=10000, max_position_embeddings=2048):
    """The rotary channel that turns ``num_rotations`` times over the original context length."""
    return (dim * math.log(max_position_embeddings / (num_rotations * 2 * math.pi))) / (2 * math.log(base))


def yarn_find_correction_range(low_rot, high_rot, dim, base=10000, max_position_embeddings=2048):
    low = math.floor(yarn_find_correction_dim(low_rot, dim, base, max_position_embeddings))
    high = math.ceil(yarn_find_correction_dim(high_rot, dim, base, max_position_embeddings))
    return max(low, 0), min(high, dim - 1)


def yarn_get_mscale(scale=1, mscale=1):
    if scale <= 1:
        return 1.0
    return 0.1 * mscale * math.log(scale) + 1.0


def yarn_linear_ramp_mask(low, high, dim):
    if low == high:
        high += 0.001  # no division by zero
    ramp = (torch.arange(dim, dtype=torch.float32) - low) / (high - low)
    return torch.clamp(ramp, 0, 1)


class DeepseekV3YarnRotaryEmbedding(DeepseekV3RotaryEmbedding):
    def __init__(self, dim, max_position_embeddings=2048, base=10000, device=None, scaling_factor=1.0,
                 original_max_position_embeddings=4096, beta_fast=32, beta_slow=1, mscale=1, mscale_all_dim=0):
        self.scaling_factor = scaling_factor
        self.original_max_position_embeddings = original_max_position_embeddings
        self.beta_fast = beta_fast
        self.beta_slow = beta_slow
        self.mscale = mscale
        self.mscale_all_dim = mscale_all_dim
        super().__init__(dim, max_position_embeddings, base, device)

    def _set_cos_sin_cache(self, seq_len, device, dtype):
        self.max_seq_len_cached = seq_len
        dim = self.dim
        freq_extra = 1.0 / (self.base ** (torch.arange(0, dim, 2, dtype=torch.float32, device=device) / dim))
        freq_inter = freq_extra / self.scaling_factor
        low, high = yarn_find_correction_range(self.beta_fast, self.beta_slow, dim, self.base,
                                               self.original_max_position_embeddings)
        extrapolated = 1.0 - yarn_linear_ramp_mask(low, high, dim // 2).to(device=device, dtype=torch.float32)
        inv_freq = freq_inter * (1 - extrapolated) + freq_extra * extrapolated
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        positions = torch.arange(seq_len, device=device, dtype=torch.float32)
        freqs = torch.outer(positions, inv_freq)
        scale = float(yarn_get_mscale(self.scaling_factor, self.mscale)
                      / yarn_get_mscale(self.scaling_factor, self.mscale_all_dim))
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos_cached", (emb.cos() * scale).to(dtype), persistent=False)
        self.register_buffer("sin_cached", (emb.sin() * scale).to(dtype), persistent=False)

'''

GATE_V3 = '''class MoEGate(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.top_k = config.num_experts_per_tok
        self.n_routed_experts = config.n_routed_experts
        self.routed_scaling_factor = config.routed_scaling_factor
        self.scoring_func = config.scoring_func
        self.topk_method = config.topk_method
        self.n_group = config.n_group
        self.topk_group = config.topk_group
        self.norm_topk_prob = config.norm_topk_prob
        self.gating_dim = config.hidden_size
        self.weight = nn.Parameter(torch.empty((self.n_routed_experts, self.gating_dim)))
        if self.topk_method == "noaux_tc":
            self.e_score_correction_bias = nn.Parameter(torch.empty((self.n_routed_experts)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        import torch.nn.init as init

        init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def forward(self, hidden_states):
        bsz, seq_len, h = hidden_states.shape
        hidden_states = hidden_states.view(-1, h)
        logits = F.linear(hidden_states.type(torch.float32), self.weight.type(torch.float32), None)
        if self.scoring_func == "sigmoid":
            scores = logits.sigmoid()
        else:
            raise NotImplementedError(f"insupportable scoring function for MoE gating: {self.scoring_func}")
        if self.topk_method != "noaux_tc":
            raise NotImplementedError(f"insupportable TopK function for MoE gating: {self.topk_method}")
        if self.training:
            raise NotImplementedError("noaux_tc routing is for inference only")
        # the bias steers which experts are chosen; the weights come from the unbiased scores
        scores_for_choice = scores.view(bsz * seq_len, -1) + self.e_score_correction_bias.unsqueeze(0)
        group_scores = scores_for_choice.view(bsz * seq_len, self.n_group, -1).topk(2, dim=-1)[0].sum(dim=-1)
        group_idx = torch.topk(group_scores, k=self.topk_group, dim=-1, sorted=False)[1]
        group_mask = torch.zeros_like(group_scores).scatter_(1, group_idx, 1)
        score_mask = group_mask.unsqueeze(-1).expand(bsz * seq_len, self.n_group, self.n_routed_experts // self.n_group)
        tmp_scores = scores_for_choice.masked_fill(~score_mask.reshape(bsz * seq_len, -1).bool(), float("-inf"))
        _, topk_idx = torch.topk(tmp_scores, k=self.top_k, dim=-1, sorted=False)
        topk_weight = scores.gather(1, topk_idx)
        if self.top_k > 1 and self.norm_topk_prob:
            topk_weight = topk_weight / (topk_weight.sum(dim=-1, keepdim=True) + 1e-20)
        topk_weight = topk_weight * self.routed_scaling_factor
        return topk_idx, topk_weight


'''

ROPE_V3 = '''        self._init_rope()
        self.softmax_scale = self.q_head_dim ** (-0.5)
        if self.config.rope_scaling is not None:
            mscale_all_dim = self.config.rope_scaling.get("mscale_all_dim", 0)
            scaling_factor = self.config.rope_scaling["factor"]
            if mscale_all_dim:
                mscale = yarn_get_mscale(scaling_factor, mscale_all_dim)
                self.softmax_scale = self.softmax_scale * mscale * mscale

    def _init_rope(self):
        if self.config.rope_scaling is None:
            self.rotary_emb = DeepseekV3RotaryEmbedding(self.qk_rope_head_dim,
                                                        max_position_embeddings=self.max_position_embeddings,
                                                        base=self.rope_theta)
            return
        scaling_type = self.config.rope_scaling["type"]
        scaling_factor = self.config.rope_scaling["factor"]
        if scaling_type != "yarn":
            raise ValueError(f"Unknown RoPE scaling type {scaling_type}")
        kwargs = {key: self.config.rope_scaling[key]
                  for key in ["original_max_position_embeddings", "beta_fast", "beta_slow", "mscale", "mscale_all_dim"]
                  if key in self.config.rope_scaling}
        self.rotary_emb = DeepseekV3YarnRotaryEmbedding(self.qk_rope_head_dim,
                                                        max_position_embeddings=self.max_position_embeddings,
                                                        scaling_factor=scaling_factor, base=self.rope_theta, **kwargs)
'''


def _modeling() -> str:
    text = deepseek.MODELING.replace("DeepseekV2", "DeepseekV3").replace("DeepSeek-V2", "DeepSeek-V3")
    gate_start, moe_start = text.index("class MoEGate(nn.Module):"), text.index("class DeepseekV3MoE(nn.Module):")
    text = text[:gate_start] + GATE_V3 + text[moe_start:]
    text = _replace(text, "topk_idx, topk_weight, aux_loss = self.gate(hidden_states)",
                    "topk_idx, topk_weight = self.gate(hidden_states)")
    text = _replace(text, "\n\nclass DeepseekV3MLP(nn.Module):", YARN + "\nclass DeepseekV3MLP(nn.Module):")
    return _replace(
        text,
        "        self.rotary_emb = DeepseekV3RotaryEmbedding(self.qk_rope_head_dim, max_position_embeddings="
        "self.max_position_embeddings,\n                                                    base=self.rope_theta)\n"
        "        self.softmax_scale = self.q_head_dim ** (-0.5)\n",
        ROPE_V3,
    )


def repo() -> CorpusRepo:
    files = {
        "configuration_deepseek.py": CONFIGURATION,
        "modeling_deepseek.py": _modeling(),
        "config.json": config_json(
            "deepseek_v3",
            {"AutoConfig": "configuration_deepseek.DeepseekV3Config",
             "AutoModel": "modeling_deepseek.DeepseekV3Model",
             "AutoModelForCausalLM": "modeling_deepseek.DeepseekV3ForCausalLM"},
            architectures=["DeepseekV3ForCausalLM"], vocab_size=48, hidden_size=32, intermediate_size=48,
            moe_intermediate_size=16, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=4,
            n_shared_experts=1, n_routed_experts=8, routed_scaling_factor=2.5, kv_lora_rank=16, q_lora_rank=24,
            qk_rope_head_dim=8, v_head_dim=6, qk_nope_head_dim=8, topk_method="noaux_tc", scoring_func="sigmoid",
            n_group=4, topk_group=2, num_experts_per_tok=3, moe_layer_freq=1, first_k_dense_replace=1,
            norm_topk_prob=True, num_nextn_predict_layers=1, max_position_embeddings=64,
            rope_scaling={"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16, "beta_fast": 32,
                          "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 0.8},
            bos_token_id=1, eos_token_id=2, pad_token_id=0, torch_dtype="float32",
        ),
    }
    prompts = [[0, 0, 0, 5, 7, 9, 11, 13, 15, 17], [1, 4, 6, 8, 10, 12, 14, 16, 18, 20]]  # left-padded batch
    mask = [[0, 0, 0, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]]
    return CorpusRepo(
        "deepseek_v3_style", files, "AutoModelForCausalLM", "DeepseekV3ForCausalLM",
        {"input_ids": prompts, "attention_mask": mask}, ("logits",),
        extra={
            "generate": {"max_new_tokens": 8, "do_sample": False, "pad_token_id": 0},
            "beam": {"max_new_tokens": 4, "num_beams": 3, "do_sample": False, "pad_token_id": 0},
            # the multi-token-prediction layer of the checkpoint (after the last decoder layer), which the class
            # does not build: both libraries load without it and report its keys as unused
            "unexpected_weights": {"model.layers.3.eh_proj.weight": (32, 64), "model.layers.3.enorm.weight": (32,),
                                   "model.layers.3.hnorm.weight": (32,)},
        },
    )
