"""``layers.projection.project``: the transposed form for few rows gives the module's numbers, and never
replaces a module call that something depends on (hooks, subclasses, autograd)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from modelyard.layers import projection
from modelyard.layers.projection import FEW_ROWS, project


def _layer(bias: bool = True) -> nn.Linear:
    torch.manual_seed(0)
    return nn.Linear(64, 48, bias=bias)


class _Spy:
    """Counts calls of torch.addmm / torch.mm made through the projection module."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        for name in ("addmm", "mm"):
            real = getattr(torch, name)

            def wrapped(*args, _real=real, **kwargs):
                self.calls += 1
                return _real(*args, **kwargs)

            monkeypatch.setattr(projection.torch, name, wrapped)


@pytest.mark.parametrize("shape", [(1, 16, 64), (2, 7, 64), (32, 64), (1, 12, 64)])
@pytest.mark.parametrize("bias", [True, False])
def test_few_rows_take_the_transposed_form_with_the_same_numbers(shape, bias, monkeypatch) -> None:
    layer, x = _layer(bias), torch.randn(shape)
    expected = layer(x).detach()
    spy = _Spy(monkeypatch)
    with torch.no_grad():
        got = project(layer, x)
    assert spy.calls == (1 if torch.backends.mkl.is_available() else 0)
    assert got.shape == expected.shape and got.is_contiguous()
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("rows", [1, 8, FEW_ROWS.start - 1, FEW_ROWS.stop, 128])
def test_other_row_counts_call_the_module(rows: int, monkeypatch) -> None:
    layer, x = _layer(), torch.randn(rows, 64)
    spy = _Spy(monkeypatch)
    with torch.no_grad():
        torch.testing.assert_close(project(layer, x), layer(x), rtol=1e-6, atol=1e-6)
    assert spy.calls == 0


def test_autograd_hooks_subclasses_and_dtypes_call_the_module(monkeypatch) -> None:
    x = torch.randn(1, 16, 64)
    spy = _Spy(monkeypatch)
    layer = _layer()
    out = project(layer, x)  # autograd on: the module runs and stays differentiable
    out.sum().backward()
    assert layer.weight.grad is not None

    seen = []
    layer.register_forward_hook(lambda module, args, output: seen.append(output.shape))
    with torch.no_grad():
        project(layer, x)
    assert seen == [torch.Size([1, 16, 48])]

    class Adapter(nn.Linear):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return super().forward(x) * 0 + 1

    with torch.no_grad():
        assert torch.equal(project(Adapter(64, 48), x), torch.ones(1, 16, 48))
        assert project(_layer().double(), x.double()).dtype == torch.float64
    assert spy.calls == 0


def test_a_wrong_input_width_raises_the_modules_error() -> None:
    with torch.no_grad(), pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        project(_layer(), torch.randn(16, 63))
