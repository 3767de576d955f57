"""In-place activations and residual additions at inference: same numbers as with autograd, hooks still fire,
and a tensor a hook captured is never overwritten."""

from __future__ import annotations

import pytest
import torch
from common.tolerance import assert_close_kernels
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
    owner = nn.Module()
    with torch.no_grad():
        buffer = x.clone()
        got = activate(activation, buffer, owner=owner)
    # the same elementwise function; vectorised and scalar code paths may differ in the last bit
    torch.testing.assert_close(got, expected, rtol=4 * torch.finfo(torch.float32).eps, atol=1e-7)
    if type(activation) in (nn.GELU, GELUTanh, nn.ReLU, nn.SiLU, nn.Tanh):
        assert got.data_ptr() == buffer.data_ptr()  # written into its input: no new allocation
    kept = x.clone().requires_grad_()
    out = activate(activation, kept * 1.0, owner=owner)
    out.sum().backward()  # with autograd on it must stay differentiable
    assert kept.grad is not None


def test_add_residual_in_place_only_without_grad_and_same_shape() -> None:
    x, r = torch.randn(2, 3), torch.randn(2, 3)
    owner = nn.Module()
    with torch.no_grad():
        target = x.clone()
        out = add_residual(target, r, owner=owner)
        assert out.data_ptr() == target.data_ptr()
        torch.testing.assert_close(out, x + r, rtol=0, atol=0)  # one float addition: correctly rounded everywhere
        wide = add_residual(torch.randn(2, 1), r, owner=owner)  # broadcast would not fit into the left operand
        assert wide.shape == (2, 3)
        low = torch.randn(2, 3, dtype=torch.bfloat16)
        promoted = add_residual(low, r, owner=owner)  # bf16 + fp32 is fp32; in place it would round to bf16
        assert promoted.dtype == torch.float32 and low.data_ptr() != promoted.data_ptr()
    leaf = torch.randn(2, 3, requires_grad=True)
    add_residual(leaf * 2, r, owner=owner).sum().backward()
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


# 2 x 4 rows: only the in-place operations differ. 2 x 7 rows: projections also take the transposed few-row
# form (layers/projection.py). Either way the numbers agree up to reordered float sums, not bit for bit:
# kernels pick code paths by layout, and that differs between CPUs.
@pytest.mark.parametrize("seq", [4, 7])
@pytest.mark.parametrize("build", [_bert, _distilbert, _vit], ids=["bert", "distilbert", "vit"])
def test_model_outputs_equal_with_and_without_autograd(build, seq: int) -> None:
    torch.manual_seed(0)
    model, inputs = build(seq)
    model.eval()
    with_grad = model(**inputs).last_hidden_state
    with torch.inference_mode():
        without = model(**inputs).last_hidden_state
    assert_close_kernels(without, with_grad.detach(), depth=4)


@pytest.mark.parametrize(
    "build, producer",
    [
        (_bert, lambda m: m.encoder.layer[0].intermediate.dense),  # output overwritten by GELU in place
        (_bert, lambda m: m.encoder.layer[0].output.dense),  # output overwritten by the residual add
        (_distilbert, lambda m: m.transformer.layer[0].ffn.lin1),
        (_distilbert, lambda m: m.transformer.layer[0].ffn),
        (_vit, lambda m: m.encoder.layer[0].intermediate.dense),
    ],
    ids=["bert-intermediate", "bert-output", "distilbert-lin1", "distilbert-ffn", "vit-intermediate"],
)
def test_a_tensor_captured_by_a_hook_is_not_overwritten(build, producer) -> None:
    """A forward hook on the module that produces a temporary keeps a reference to it: in-place operations
    after it would change what the hook captured."""
    torch.manual_seed(0)
    model, inputs = build(4)
    model.eval()
    captured: list[torch.Tensor] = []
    copies: list[torch.Tensor] = []

    def keep(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        captured.append(output)
        copies.append(output.clone())

    producer(model).register_forward_hook(keep)
    with torch.no_grad():
        model(**inputs)
    assert len(captured) == 1
    assert torch.equal(captured[0], copies[0]), "the hooked module's output was overwritten after the hook ran"


def test_a_global_forward_hook_turns_in_place_off() -> None:
    torch.manual_seed(0)
    model, inputs = _bert(4)
    model.eval()
    captured: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def keep(module: nn.Module, args: tuple, output: object) -> None:
        if isinstance(output, torch.Tensor):
            captured.setdefault(str(id(module)), (output, output.clone()))

    handle = nn.modules.module.register_module_forward_hook(keep)
    try:
        with torch.no_grad():
            model(**inputs)
    finally:
        handle.remove()
    assert captured and all(torch.equal(kept, copy) for kept, copy in captured.values())
