"""``transformers.processing_utils``."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

__getattr__, __dir__ = declare(
    globals(),
    {
        name: "modelyard.processing"
        for name in ("ProcessorMixin", "ProcessingKwargs", "TextKwargs", "AudioKwargs", "ImagesKwargs",
                     "CommonKwargs", "Unpack")
    },
)
