"""Whether a tracer, compiler or exporter is recording the forward pass.

Shortcuts that read tensor values (``bool(mask.all())``) or that pick a kernel by hand are invisible to
``torch.jit.trace``, ``torch.compile`` and ``torch.export``: while they record, the plain computation runs.
"""

from __future__ import annotations

import torch


def tracing() -> bool:
    return bool(torch.jit.is_tracing() or torch.compiler.is_compiling() or torch.compiler.is_exporting())


__all__ = ["tracing"]
