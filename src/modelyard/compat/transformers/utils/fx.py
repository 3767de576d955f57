"""``transformers.utils.fx``: ``symbolic_trace`` of a modelyard model into a ``torch.fx.GraphModule``.

Plain ``torch.fx.symbolic_trace`` stops at the first Python branch on a traced value (``if seq_len > max:``,
``if mask.dim() == 2:``). Here every traced value also carries an example computed on the meta device (no
data, no compute): a branch reads the example, while sizes and arithmetic stay symbolic in the graph, so the
traced module runs on inputs of other batch and sequence sizes. As with the reference's tracer, branches are
decided once, for examples shaped like the model's usual inputs; code whose path depends on the sizes
(rather than only reading them) is traced for the example's path.
"""

from __future__ import annotations

import builtins
import inspect
from typing import Any

import torch
from torch import fx, nn
from torch.fx.node import map_aggregate

from modelyard.errors import ConfigurationError

# Model types whose traced graph takes ``past_key_values``: none (the caches are Python objects).
_FX_SUPPORTED_MODELS_WITH_KV_CACHE: list[str] = []

_UNKNOWN = object()  # an example that could not be computed: branching on it is torch.fx's error
_BATCH, _SEQUENCE, _CHOICES = 2, 8, 2


class _ExampleProxy(fx.Proxy):
    """A proxy with the meta-device example of its value (``example``)."""

    example: Any = _UNKNOWN

    def _known(self) -> bool:
        return self.example is not _UNKNOWN

    def __bool__(self) -> bool:
        return bool(self.example) if self._known() else super().__bool__()

    def __len__(self) -> int:
        if self._known():
            return len(self.example)
        return super().__len__()

    def __iter__(self) -> Any:
        if self._known() and isinstance(self.example, tuple | list | torch.Size):
            indexable: Any = self  # torch.fx gives Proxy its operators at run time
            return iter([indexable[i] for i in range(len(self.example))])
        return super().__iter__()

    def __index__(self) -> int:  # slicing with a size keeps it symbolic; only a Python int() needs the example
        if self._known():
            return int(self.example)
        raise fx.proxy.TraceError("a traced value is used as a Python int and its example is unknown")

    def size(self, *dims: Any) -> Any:
        return self.tracer.create_proxy("call_method", "size", (self, *dims), {})

    @property
    def shape(self) -> Any:
        return self.size()

    def dim(self) -> Any:
        return self.example.dim() if self._known() else self.tracer.create_proxy("call_method", "dim", (self,), {})

    @property
    def dtype(self) -> Any:
        if self._known() and isinstance(self.example, torch.Tensor):
            return self.example.dtype
        return self.tracer.create_proxy("call_function", builtins.getattr, (self, "dtype"), {})

    def __getattr__(self, name: str) -> Any:
        return _ExampleAttribute(self, name)


class _ExampleAttribute(fx.proxy.Attribute, _ExampleProxy):
    """``proxy.name``: a node only when used as a value; calling it records a method call."""

    def __init__(self, root: _ExampleProxy, attr: str) -> None:
        super().__init__(root, attr)
        self.example = _UNKNOWN
        if root._known():
            try:
                self.example = getattr(root.example, attr)
            except Exception:  # a name the example lacks: left unknown
                self.example = _UNKNOWN


class _ExampleTracer(fx.Tracer):
    """Records the graph and computes each node's example from its inputs' examples, on the meta device."""

    def __init__(self, examples: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.examples = examples
        self._meta_modules: dict[str, nn.Module] = {}

    def proxy(self, node: fx.Node) -> fx.Proxy:
        return _ExampleProxy(node, self)

    def create_args_for_root(self, root_fn: Any, is_module: bool, concrete_args: Any = None) -> Any:
        return super().create_args_for_root(_named_parameters_only(root_fn), is_module, concrete_args)

    def create_proxy(self, kind: str, target: Any, args: Any, kwargs: Any, name: str | None = None,
                     type_expr: Any = None, proxy_factory_fn: Any = None) -> Any:
        proxy = super().create_proxy(kind, target, args, kwargs, name, type_expr, proxy_factory_fn)
        if isinstance(proxy, _ExampleProxy):
            proxy.example = self._example(kind, target, args, kwargs)
        return proxy

    def _example(self, kind: str, target: Any, args: Any, kwargs: Any) -> Any:
        if kind == "placeholder":
            return self.examples.get(target, _UNKNOWN)
        unknown = False

        def example_of(value: Any) -> Any:
            nonlocal unknown
            if isinstance(value, _ExampleProxy):
                unknown = unknown or not value._known()
                return value.example
            return value

        try:
            meta_args = map_aggregate(args, example_of)
            meta_kwargs = map_aggregate(kwargs, example_of)
            if unknown:
                return _UNKNOWN
            if kind == "call_function":
                return target(*meta_args, **meta_kwargs)
            if kind == "call_method":
                return getattr(meta_args[0], target)(*meta_args[1:], **meta_kwargs)
            if kind == "call_module":  # its forward itself: calling a module while tracing records it instead
                module = self._meta_module(target)
                return type(module).forward(module, *meta_args, **meta_kwargs)
            if kind == "get_attr":
                return self._meta_attribute(target)
        except Exception:  # an example that cannot be computed on meta: branching on it fails, as in torch.fx
            return _UNKNOWN
        return _UNKNOWN

    def _meta_attribute(self, qualified_name: str) -> Any:
        """A module's tensor as an empty meta tensor, read from the module's own dicts: while tracing, reading a
        parameter as an attribute gives a proxy (torch.fx patches ``Module.__getattr__``)."""
        *path, name = qualified_name.split(".")
        module = self.root
        for part in path:
            module = module._modules[part]  # type: ignore[assignment]  # a submodule, present when traced
        for table in (module._parameters, module._buffers, module.__dict__):
            if name in table:
                value = table[name]
                return value.to("meta") if isinstance(value, torch.Tensor) else value
        return _UNKNOWN

    def _meta_module(self, qualified_name: str) -> nn.Module:
        """A copy of a leaf module on the meta device (its weights replaced by empty meta tensors)."""
        if qualified_name not in self._meta_modules:
            module = self.root.get_submodule(qualified_name)
            copy = module.__class__.__new__(module.__class__)
            copy.__dict__ = dict(module.__dict__)
            copy._parameters = {k: None if p is None else nn.Parameter(p.to("meta"), p.requires_grad)
                                for k, p in module._parameters.items()}
            copy._buffers = {k: None if b is None else b.to("meta") for k, b in module._buffers.items()}
            copy._forward_hooks = type(module._forward_hooks)()
            copy._forward_pre_hooks = type(module._forward_pre_hooks)()
            self._meta_modules[qualified_name] = copy
        return self._meta_modules[qualified_name]


def _named_parameters_only(forward: Any) -> Any:
    """``forward`` as a function of its named parameters. torch.fx binds those, not a keyword group
    (``**kwargs: Unpack[OutputSwitches]``): the function it traces calls ``forward`` with the group empty, every
    output switch at its default, as every other argument that is not traced is fixed to its default."""
    signature = inspect.signature(forward)
    named = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    if len(named) == len(signature.parameters) or any(p.kind is p.VAR_POSITIONAL for p in named):
        return forward
    header: list[str] = []
    call: list[str] = []
    for p in named:
        if p.kind is p.KEYWORD_ONLY and "*" not in header:
            header.append("*")
        header.append(p.name if p.default is p.empty else f"{p.name}=_defaults[{p.name!r}]")
        call.append(f"{p.name}={p.name}" if p.kind is p.KEYWORD_ONLY else p.name)
    namespace = {"_forward": forward, "_defaults": {p.name: p.default for p in named}}
    exec(f"def forward({', '.join(header)}):\n    return _forward({', '.join(call)})\n", namespace)  # noqa: S102  # generated from the signature, no user text
    return namespace["forward"]


def _label_example(model: nn.Module, config: Any, name: str, batch: int, sequence: int) -> torch.Tensor:
    """A ``labels`` example of the shape and dtype the model's head takes."""
    head = type(model).__name__
    if name in ("start_positions", "end_positions"):
        return torch.zeros(batch, dtype=torch.long, device="meta")
    if any(head.endswith(s) for s in ("ForTokenClassification", "ForMaskedLM", "ForCausalLM", "ForCTC",
                                      "ForPreTraining", "LMHeadModel")):
        return torch.zeros(batch, sequence, dtype=torch.long, device="meta")
    problem = getattr(config, "problem_type", None)
    if problem == "multi_label_classification":
        return torch.zeros(batch, config.num_labels, device="meta")
    if problem == "regression" or (problem is None and getattr(config, "num_labels", 2) == 1):
        return torch.zeros(batch, device="meta")
    return torch.zeros(batch, dtype=torch.long, device="meta")


def _input_examples(model: nn.Module, input_names: list[str]) -> dict[str, torch.Tensor]:
    config = getattr(model, "config", None)
    multiple_choice = type(model).__name__.endswith("ForMultipleChoice")
    text_shape = (_BATCH, _CHOICES, _SEQUENCE) if multiple_choice else (_BATCH, _SEQUENCE)
    examples: dict[str, torch.Tensor] = {}
    for name in input_names:
        if name in ("input_ids", "attention_mask", "token_type_ids", "position_ids", "decoder_input_ids",
                    "decoder_attention_mask"):
            examples[name] = torch.ones(text_shape, dtype=torch.long, device="meta")
        elif name == "inputs_embeds":
            width = getattr(config, "embedding_size", None) or getattr(config, "hidden_size", None) \
                or getattr(config, "dim", None)
            examples[name] = torch.zeros(*text_shape, int(width or 1), device="meta")
        elif name == "pixel_values":
            size = getattr(config, "image_size", 224)
            height, width = (size, size) if isinstance(size, int) else tuple(size)
            examples[name] = torch.zeros(_BATCH, getattr(config, "num_channels", 3), height, width, device="meta")
        elif name == "input_values":
            examples[name] = torch.zeros(_BATCH, 16000, device="meta")
        elif name in ("labels", "start_positions", "end_positions"):
            examples[name] = _label_example(model, config, name, _BATCH, _SEQUENCE)
        else:
            raise ConfigurationError(
                f"symbolic_trace does not know how to build an example for the input {name!r}; trace with the "
                "inputs the model's forward takes as tensors (input_ids, attention_mask, pixel_values, labels, ...)."
            )
    return examples


def symbolic_trace(model: nn.Module, input_names: list[str] | None = None, disable_check: bool = False,
                   tracer_cls: type[fx.Tracer] | None = None) -> fx.GraphModule:
    """Trace ``model`` into a ``torch.fx.GraphModule`` that takes ``input_names`` (default: ``input_ids``,
    ``attention_mask``, ``token_type_ids`` where the forward has them); every other forward argument is fixed
    to its default. ``disable_check`` and ``tracer_cls`` are taken for the reference's signature."""
    parameters = inspect.signature(model.forward).parameters
    if input_names is None:
        input_names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in parameters]
    unknown = [n for n in input_names if n not in parameters]
    if unknown:
        raise ConfigurationError(
            f"symbolic_trace: {type(model).__name__}.forward has no arguments {unknown}; it takes {list(parameters)}."
        )
    concrete = {name: p.default for name, p in parameters.items()
                if name not in input_names and p.default is not inspect.Parameter.empty
                and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    tracer = _ExampleTracer(_input_examples(model, input_names))
    graph = tracer.trace(model, concrete_args=concrete)
    traced = fx.GraphModule(model, graph)
    traced.config = getattr(model, "config", None)  # type: ignore[assignment]  # as the reference's traced models carry it
    return traced


__all__ = ["_FX_SUPPORTED_MODELS_WITH_KV_CACHE", "symbolic_trace"]
