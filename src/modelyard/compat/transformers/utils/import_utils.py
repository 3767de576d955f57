"""``transformers.utils.import_utils``: the ``is_<package>_available`` checks remote code branches on.

Each answers for this environment (a package is available when it can be found; GPU-only kernels also need
a GPU), so code written for optional accelerations takes its plain path here unless they are installed.
"""

from __future__ import annotations

import functools
import importlib.util
from types import ModuleType

from packaging import version as _version

from modelyard.compat.transformers._namespace import declare


@functools.lru_cache(None)
def _found(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def _cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def is_torch_available() -> bool:
    return _found("torch")


def is_torch_cuda_available() -> bool:
    return _cuda()


def is_torch_greater_or_equal(library_version: str, accept_dev: bool = False) -> bool:
    import torch

    installed = _version.parse(_version.parse(torch.__version__).base_version if accept_dev else torch.__version__)
    return installed >= _version.parse(library_version)


def check_torch_load_is_safe() -> None:
    """Raise unless this torch's ``torch.load(weights_only=True)`` is one without CVE-2025-32434 (torch >= 2.6),
    as the reference requires before it reads a pickled checkpoint (modelyard reads pickles only that way)."""
    if not is_torch_greater_or_equal("2.6"):
        import torch

        raise ValueError(
            f"torch {torch.__version__} cannot read pickled checkpoints safely: torch.load(weights_only=True) before "
            "2.6 can run code from the file (CVE-2025-32434). Upgrade torch to 2.6 or later, or use safetensors "
            "checkpoints, which need no torch.load."
        )


def is_torch_sdpa_available() -> bool:
    return is_torch_greater_or_equal("2.1.1")


def is_torch_fx_available() -> bool:
    return is_torch_available()


def is_torchdynamo_compiling() -> bool:
    import torch

    compiler = getattr(torch, "compiler", None)
    return bool(compiler is not None and compiler.is_compiling())


def is_flash_attn_2_available() -> bool:
    return _found("flash_attn") and _cuda()


def is_flash_attn_greater_or_equal_2_10() -> bool:
    if not is_flash_attn_2_available():
        return False
    from importlib.metadata import version

    return _version.parse(version("flash_attn")) >= _version.parse("2.1.0")


def is_accelerate_available(min_version: str = "0.26.0") -> bool:
    """accelerate is installed, at ``min_version`` or newer (the reference's minimum by default)."""
    if not _found("accelerate"):
        return False
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return _version.parse(installed("accelerate")) >= _version.parse(min_version)
    except PackageNotFoundError:
        return False


def is_safetensors_available() -> bool:
    return _found("safetensors")


def is_tokenizers_available() -> bool:
    return _found("tokenizers")


def is_sentencepiece_available() -> bool:
    return _found("sentencepiece")


def is_protobuf_available() -> bool:
    return _found("google.protobuf")


def is_vision_available() -> bool:
    return _found("PIL")


def is_torchvision_available() -> bool:
    return _found("torchvision")


def is_timm_available() -> bool:
    return _found("timm")


def is_scipy_available() -> bool:
    return _found("scipy")


def is_sklearn_available() -> bool:
    return _found("sklearn")


def is_librosa_available() -> bool:
    return _found("librosa")


def is_soundfile_available() -> bool:
    return _found("soundfile")


def is_bitsandbytes_available() -> bool:
    return _found("bitsandbytes") and _cuda()  # its kernels are GPU-only, as the reference's check says


def is_peft_available() -> bool:
    return _found("peft")


def is_triton_available() -> bool:
    return _found("triton")


def is_flash_attn_3_available() -> bool:
    return _found("flash_attn_interface") and _cuda()


def is_torch_flex_attn_available() -> bool:
    return is_torch_greater_or_equal("2.5")


def is_torch_bf16_gpu_available() -> bool:
    import torch

    return _cuda() and bool(torch.cuda.is_bf16_supported())


def is_torch_mps_available() -> bool:
    import torch

    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def is_torch_xpu_available() -> bool:
    import torch

    return bool(getattr(torch, "xpu", None) and torch.xpu.is_available())


def is_torch_npu_available() -> bool:
    return _found("torch_npu")


def requires_backends(obj: object, backends: str | list[str] | tuple[str, ...]) -> None:
    """Raise ``ImportError`` naming the missing packages ``obj`` needs (as the reference does)."""
    names = [backends] if isinstance(backends, str) else list(backends)
    checks = {"torch": is_torch_available, "vision": is_vision_available, "tokenizers": is_tokenizers_available,
              "sentencepiece": is_sentencepiece_available, "scipy": is_scipy_available, "timm": is_timm_available}
    missing = [name for name in names if not checks.get(name, lambda name=name: _found(name))()]
    if missing:
        what = getattr(obj, "__name__", type(obj).__name__)
        raise ImportError(f"{what} needs {', '.join(missing)}, which is not installed here: pip install {' '.join(missing)}")


def direct_transformers_import(path: str, file: str = "__init__.py") -> ModuleType:
    """The library's top module, which the reference imports from a source checkout at ``path``: here that is
    always this compatibility namespace (there is no other ``transformers`` for modelyard to load)."""
    return importlib.import_module("modelyard.compat.transformers")


__getattr__, __dir__ = declare(globals(), {})
