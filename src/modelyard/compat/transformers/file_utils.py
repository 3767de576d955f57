"""``transformers.file_utils``: the old home of ``ModelOutput`` and the docstring helpers (older code)."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

__getattr__, __dir__ = declare(
    globals(),
    {
        "ModelOutput": "modelyard.outputs",
        "TensorType": "modelyard.tokenization.encoding",
        "PaddingStrategy": "modelyard.tokenization.padding",
        "add_start_docstrings": "modelyard.compat.transformers.utils.doc",
        "add_start_docstrings_to_model_forward": "modelyard.compat.transformers.utils.doc",
        "add_end_docstrings": "modelyard.compat.transformers.utils.doc",
        "replace_return_docstrings": "modelyard.compat.transformers.utils.doc",
        "add_code_sample_docstrings": "modelyard.compat.transformers.utils.doc",
        "is_torch_available": "modelyard.compat.transformers.utils.import_utils",
        "is_tokenizers_available": "modelyard.compat.transformers.utils.import_utils",
        "is_sentencepiece_available": "modelyard.compat.transformers.utils.import_utils",
        "is_vision_available": "modelyard.compat.transformers.utils.import_utils",
    },
)
