"""In-place activations and residual additions at inference: same numbers as with autograd, hooks still fire."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from modelyard import BertConfig, BertModel, DistilBertConfig, DistilBertModel, ViTConfig, ViTModel
from modelyard.layers.activations import GELUTanh, get_activation
from modelyard.layers.inference_activation import activate, add_residual

TINY_BERT = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37)


@pytest.mark.parametrize("name", ["gelu", "gelu_new", "relu", "silu", "tanh", "gelu_python", "quick_gelu"])
def test_activate_equals_the_module_and_overwrites_only_outside_autograd(name: str) -> None:
    activation = get_activation(name)
    x = torch.randn(4, 7)
    expected = activation(x.clone())
    with torch.no_grad():
        buffer = x.clone()
        got = activate(activation, buffer)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    if type(activation) in (nn.GELU, GELUTanh, nn.ReLU, nn.SiLU, nn.Tanh):
        assert got.data_ptr() == buffer.data_ptr()  # written into its input: no new allocation
    kept = x.clone().requires_grad_()
    out = activate(activation, kept * 1.0)
    out.sum().backward()  # with autograd on it must stay differentiable
    assert kept.grad is not None


def test_add_residual_in_place_only_without_grad_and_same_shape() -> None:
    x, r = torch.randn(2, 3), torch.randn(2, 3)
    with torch.no_grad():
        target = x.clone()
        out = add_residual(target, r)
        assert out.data_ptr() == target.data_ptr()
        torch.testing.assert_close(out, x + r, rtol=0, atol=0)
        wide = add_residual(torch.randn(2, 1), r)  # broadcast would not fit into the left operand
        assert wide.shape == (2, 3)
        low = torch.randn(2, 3, dtype=torch.bfloat16)
        promoted = add_residual(low, r)  # bf16 + fp32 is fp32; in place it would round to bf16
        assert promoted.dtype == torch.float32 and low.data_ptr() != promoted.data_ptr()
    leaf = torch.randn(2, 3, requires_grad=True)
    add_residual(leaf * 2, r).sum().backward()
    torch.testing.assert_close(leaf.grad, torch.full((2, 3), 2.0))


def test_hooks_on_an_activation_module_still_fire_under_no_grad() -> None:
    model = BertModel(BertConfig(**TINY_BERT)).eval()
    seen: list[tuple[int, ...]] = []
    model.encoder.layer[0].intermediate.intermediate_act_fn.register_forward_hook(
        lambda module, args, output: seen.append(tuple(output.shape))
    )
    with torch.no_grad():
        model(input_ids=torch.tensor([[5, 6, 7]]))
    assert seen == [(1, 3, 37)]


def _bert(seq: int) -> tuple[nn.Module, dict]:
    ids = torch.arange(5, 5 + 2 * seq).view(2, seq)
    mask = torch.ones(2, seq, dtype=torch.long)
    mask[1, seq // 2:] = 0
    return BertModel(BertConfig(**TINY_BERT)), {"input_ids": ids, "attention_mask": mask}


def _distilbert(seq: int) -> tuple[nn.Module, dict]:
    config = DistilBertConfig(vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37)
    return DistilBertModel(config), {"input_ids": torch.arange(5, 5 + 2 * seq).view(2, seq)}


def _vit(seq: int) -> tuple[nn.Module, dict]:
    config = ViTConfig(image_size=8, patch_size=4, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                       intermediate_size=37)
    return ViTModel(config), {"pixel_values": torch.randn(2, 3, 8, 8)}


# 2 x 4 rows: only the in-place operations differ, and they are exact. 2 x 7 rows: projections also take
# the transposed few-row form (layers/projection.py), equal up to float rounding.
@pytest.mark.parametrize("seq, tolerance", [(4, 0.0), (7, 1e-5)])
@pytest.mark.parametrize("build", [_bert, _distilbert, _vit], ids=["bert", "distilbert", "vit"])
def test_model_outputs_equal_with_and_without_autograd(build, seq: int, tolerance: float) -> None:
    torch.manual_seed(0)
    model, inputs = build(seq)
    model.eval()
    with_grad = model(**inputs).last_hidden_state
    with torch.inference_mode():
        without = model(**inputs).last_hidden_state
    torch.testing.assert_close(without, with_grad.detach(), rtol=tolerance, atol=tolerance)
