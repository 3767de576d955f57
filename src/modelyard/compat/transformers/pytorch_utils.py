"""``transformers.pytorch_utils``: layer helpers remote code imports (chunked feed-forward, pruning, Conv1D)."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import torch
from torch import nn

from modelyard.compat.transformers._namespace import declare
from modelyard.compat.transformers.utils.import_utils import is_torch_greater_or_equal
from modelyard.layers.pruning import heads_to_keep_index, prune_linear
from modelyard.weights.sharing import storage_id

ALL_LAYERNORM_LAYERS = [nn.LayerNorm]
is_torch_greater_or_equal_than_2_4 = is_torch_greater_or_equal("2.4", accept_dev=True)
is_torch_greater_or_equal_than_2_0 = is_torch_greater_or_equal("2.0", accept_dev=True)
is_torch_greater_or_equal_than_1_13 = is_torch_greater_or_equal("1.13", accept_dev=True)
is_torch_greater_or_equal_than_1_12 = is_torch_greater_or_equal("1.12", accept_dev=True)


def find_pruneable_heads_and_indices(
    heads: list[int] | set[int], n_heads: int, head_size: int, already_pruned_heads: set[int]
) -> tuple[set[int], torch.LongTensor]:
    kept, index = heads_to_keep_index(heads, n_heads, head_size, set(already_pruned_heads))
    return kept, index.long()  # type: ignore[return-value]  # the reference's annotation; the value is a long tensor


def prune_linear_layer(layer: nn.Linear, index: torch.LongTensor, dim: int = 0) -> nn.Linear:
    return prune_linear(layer, index, dim=dim)


class Conv1D(nn.Module):
    """GPT-2's linear layer with the weight transposed: ``weight`` is ``(nx, nf)``, ``y = x @ weight + bias``."""

    def __init__(self, nf: int, nx: int) -> None:
        super().__init__()
        self.nf, self.nx = nf, nx
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size_out = x.size()[:-1] + (self.nf,)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return x.view(size_out)


def prune_conv1d_layer(layer: Conv1D, index: torch.Tensor, dim: int = 1) -> Conv1D:
    index = index.to(layer.weight.device)
    weight = layer.weight.index_select(dim, index).detach().clone()
    bias = layer.bias.detach().clone() if dim == 0 else layer.bias[index].detach().clone()
    new_size = list(layer.weight.size())
    new_size[dim] = len(index)
    new_layer = Conv1D(new_size[1], new_size[0]).to(layer.weight.device)
    with torch.no_grad():
        new_layer.weight.copy_(weight)
        new_layer.bias.copy_(bias)
    return new_layer


def prune_layer(layer: nn.Linear | Conv1D, index: torch.LongTensor, dim: int | None = None) -> nn.Linear | Conv1D:
    if isinstance(layer, nn.Linear):
        return prune_linear_layer(layer, index, dim=0 if dim is None else dim)
    if isinstance(layer, Conv1D):
        return prune_conv1d_layer(layer, index, dim=1 if dim is None else dim)
    raise ValueError(f"Can't prune layer of class {layer.__class__}")


def apply_chunking_to_forward(
    forward_fn: Callable[..., torch.Tensor], chunk_size: int, chunk_dim: int, *input_tensors: torch.Tensor
) -> torch.Tensor:
    """``forward_fn(*input_tensors)`` computed ``chunk_size`` slices at a time along ``chunk_dim`` (less memory,
    same result); ``chunk_size=0`` runs it in one go."""
    if not input_tensors:
        raise ValueError(f"{input_tensors} has to be a tuple/list of tensors")
    expected = len(inspect.signature(forward_fn).parameters)
    if expected != len(input_tensors):
        raise ValueError(
            f"forward_chunk_fn expects {expected} arguments, but only {len(input_tensors)} input tensors are given"
        )
    if chunk_size <= 0:
        return forward_fn(*input_tensors)
    length = input_tensors[0].shape[chunk_dim]
    for tensor in input_tensors:
        if tensor.shape[chunk_dim] != length:
            raise ValueError(
                f"All input tenors have to be of the same shape: {length}, found shape {tensor.shape[chunk_dim]}"
            )
    if length % chunk_size != 0:
        raise ValueError(
            f"The dimension to be chunked {length} has to be a multiple of the chunk size {chunk_size}"
        )
    chunks = length // chunk_size
    pieces = zip(*(tensor.chunk(chunks, dim=chunk_dim) for tensor in input_tensors), strict=True)
    return torch.cat([forward_fn(*piece) for piece in pieces], dim=chunk_dim)


def id_tensor_storage(tensor: torch.Tensor) -> tuple[torch.device, int, int]:
    """``(device, storage address, storage bytes)``: equal for tensors that share memory (tied weights)."""
    return storage_id(tensor)


def isin_mps_friendly(elements: torch.Tensor, test_elements: torch.Tensor | int) -> torch.Tensor:
    """``torch.isin(elements, test_elements)``: whether each element is among ``test_elements`` (a tensor or a
    single integer)."""
    return torch.isin(elements, test_elements)


def meshgrid(*tensors: torch.Tensor | list[torch.Tensor], indexing: str | None = None) -> tuple[torch.Tensor, ...]:
    return torch.meshgrid(*tensors, indexing=indexing)


__getattr__, __dir__ = declare(
    globals(),
    {"is_torch_greater_or_equal": "modelyard.compat.transformers.utils.import_utils"},
    constants=(
        "ALL_LAYERNORM_LAYERS",
        "is_torch_greater_or_equal_than_2_4",
        "is_torch_greater_or_equal_than_2_0",
        "is_torch_greater_or_equal_than_1_13",
        "is_torch_greater_or_equal_than_1_12",
    ),
)
