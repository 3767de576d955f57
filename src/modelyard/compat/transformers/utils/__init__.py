"""``transformers.utils``: logging, ``ModelOutput``, enums, docstring decorators, ``is_*_available``."""

from __future__ import annotations

from modelyard._lazy import by_module
from modelyard.compat.transformers._namespace import declare

_GENERIC = "modelyard.compat.transformers.utils.generic"
_DOC = "modelyard.compat.transformers.utils.doc"
_IMPORTS = "modelyard.compat.transformers.utils.import_utils"

WEIGHTS_NAME = "pytorch_model.bin"
WEIGHTS_INDEX_NAME = "pytorch_model.bin.index.json"
SAFE_WEIGHTS_NAME = "model.safetensors"
SAFE_WEIGHTS_INDEX_NAME = "model.safetensors.index.json"
CONFIG_NAME = "config.json"
FEATURE_EXTRACTOR_NAME = "preprocessor_config.json"
IMAGE_PROCESSOR_NAME = FEATURE_EXTRACTOR_NAME
PROCESSOR_NAME = "processor_config.json"
GENERATION_CONFIG_NAME = "generation_config.json"

__getattr__, __dir__ = declare(
    globals(),
    by_module({
        "modelyard.outputs": ("ModelOutput",),
        "modelyard.tokenization.encoding": ("TensorType",),
        "modelyard.tokenization.padding": ("PaddingStrategy",),
        "modelyard.hub.push": ("PushToHubMixin",),
        _GENERIC: ("ExplicitEnum", "TransformersKwargs", "can_return_tuple", "torch_int", "strtobool", "ContextManagers"),
        _DOC: (
            "add_start_docstrings", "add_start_docstrings_to_model_forward", "add_end_docstrings",
            "replace_return_docstrings", "add_code_sample_docstrings",
        ),
        "modelyard.compat.transformers.utils.auto_docstring": ("auto_docstring",),
        "modelyard.compat.transformers.utils.hub": ("cached_file", "has_file", "is_remote_url", "is_offline_mode"),
        _IMPORTS: (
            "is_torch_available", "is_torch_cuda_available", "is_torch_greater_or_equal", "check_torch_load_is_safe",
            "is_torch_sdpa_available", "is_torch_fx_available", "is_torchdynamo_compiling",
            "is_flash_attn_2_available", "is_flash_attn_greater_or_equal_2_10", "is_accelerate_available",
            "is_safetensors_available", "is_tokenizers_available", "is_sentencepiece_available",
            "is_protobuf_available", "is_vision_available", "is_torchvision_available", "is_timm_available",
            "is_scipy_available", "is_sklearn_available", "is_librosa_available", "is_soundfile_available",
            "is_bitsandbytes_available", "is_peft_available", "is_triton_available", "is_flash_attn_3_available",
            "is_torch_flex_attn_available", "is_torch_bf16_gpu_available", "is_torch_mps_available",
            "is_torch_xpu_available", "is_torch_npu_available", "requires_backends", "direct_transformers_import",
        ),
    }),
    submodules=("logging", "generic", "doc", "hub", "import_utils", "auto_docstring", "backbone_utils"),
    constants=(
        "WEIGHTS_NAME",
        "WEIGHTS_INDEX_NAME",
        "SAFE_WEIGHTS_NAME",
        "SAFE_WEIGHTS_INDEX_NAME",
        "CONFIG_NAME",
        "FEATURE_EXTRACTOR_NAME",
        "IMAGE_PROCESSOR_NAME",
        "PROCESSOR_NAME",
        "GENERATION_CONFIG_NAME",
    ),
)
