"""``ModuleUtilsMixin`` (every ``PreTrainedModel``): the reference's additive masks and head masks."""

from __future__ import annotations

import torch

from modelyard import BertConfig, BertModel, PretrainedConfig, PreTrainedModel


class _Decoder(PreTrainedModel):
    config_class = PretrainedConfig

    def __init__(self, config: PretrainedConfig) -> None:
        super().__init__(config)
        self.linear = torch.nn.Linear(2, 2)


def _model(**overrides: object) -> BertModel:
    config = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=3, num_attention_heads=2, intermediate_size=16,
                        **overrides)
    return BertModel(config)


def test_extended_attention_mask_is_additive_and_broadcastable() -> None:
    model = _model()
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    extended = model.get_extended_attention_mask(mask, (2, 3))
    minimum = torch.finfo(torch.float32).min
    assert extended.shape == (2, 1, 1, 3) and extended.dtype == torch.float32
    assert torch.equal(extended[:, 0, 0], torch.tensor([[0.0, 0.0, minimum], [0.0, minimum, minimum]]))
    three_d = model.get_extended_attention_mask(torch.ones(2, 3, 3, dtype=torch.long), (2, 3))
    assert three_d.shape == (2, 1, 3, 3) and bool((three_d == 0).all())
    half = model.get_extended_attention_mask(mask, (2, 3), dtype=torch.float16)
    assert half.dtype == torch.float16 and float(half.min()) == torch.finfo(torch.float16).min


def test_a_decoder_mask_is_also_causal() -> None:
    model = _Decoder(PretrainedConfig(is_decoder=True))
    extended = model.get_extended_attention_mask(torch.tensor([[1, 1, 1, 0]]), (1, 4))
    visible = extended[0, 0] == 0
    expected = torch.tensor([[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 0]], dtype=torch.bool)
    assert extended.shape == (1, 1, 4, 4) and torch.equal(visible, expected)


def test_inverted_encoder_mask_and_head_masks() -> None:
    model = _model()
    inverted = model.invert_attention_mask(torch.tensor([[1, 0]]))
    assert inverted.shape == (1, 1, 1, 2) and float(inverted[0, 0, 0, 0]) == 0.0 and float(inverted[0, 0, 0, 1]) < -1e30
    assert model.get_head_mask(None, 3) == [None, None, None]
    per_head = model.get_head_mask(torch.tensor([1.0, 0.0]), 3)
    assert per_head.shape == (3, 1, 2, 1, 1) and torch.equal(per_head[:, 0, :, 0, 0], torch.tensor([[1.0, 0.0]] * 3))
    per_layer = model.get_head_mask(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), 3)
    assert per_layer.shape == (3, 1, 2, 1, 1) and torch.equal(per_layer[1, 0, :, 0, 0], torch.tensor([0.0, 1.0]))
