"""Whether a tracer, compiler or exporter is recording the forward pass.

Shortcuts that read tensor values (``bool(mask.all())``) or that pick a kernel by hand are invisible to
``torch.jit.trace``, ``torch.compile``, ``torch.export`` and ``torch.fx`` symbolic tracing: while they record,
the plain computation runs.
"""

from __future__ import annotations

import torch


def tracing() -> bool:
    return bool(torch.jit.is_tracing() or torch.compiler.is_compiling() or torch.compiler.is_exporting()
                or _fx_tracing())


def _fx_tracing() -> bool:
    # torch.fx raises this flag for the whole of Tracer.trace (older torch names the probe is_fx_tracing)
    module = torch.fx._symbolic_trace
    probe = getattr(module, "is_fx_symbolic_tracing", None) or getattr(module, "is_fx_tracing", None)
    return bool(probe()) if probe is not None else False


__all__ = ["tracing"]
