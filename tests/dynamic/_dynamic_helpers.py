"""Builders for repositories with custom code: local folders, hub-cache snapshots, fresh interpreters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "custom_architecture"

CONFIG_CODE = '''
from modelyard import PretrainedConfig

VERSION = "{version}"


class ToyConfig(PretrainedConfig):
    model_type = "{model_type}"

    def __init__(self, width=4, **kwargs):
        self.width = width
        super().__init__(**kwargs)
'''

MODEL_CODE = '''
import torch

from modelyard import PreTrainedModel

from .configuration_toy import ToyConfig, VERSION
from .layers.blocks import Block


class ToyModel(PreTrainedModel):
    config_class = ToyConfig

    def __init__(self, config):
        super().__init__(config)
        self.block = Block(config.width)

    def forward(self, x):
        return self.block(x)

    @staticmethod
    def version():
        return VERSION
'''

LAYERS_INIT = '''
from .blocks import Block  # noqa: F401
'''

BLOCKS_CODE = '''
import torch

from ..helpers import scale


class Block(torch.nn.Module):
    def __init__(self, width):
        super().__init__()
        self.linear = torch.nn.Linear(width, width)

    def forward(self, x):
        return scale(self.linear(x))
'''

HELPERS_CODE = '''
def scale(x):
    return 2 * x
'''


def toy_files(*, version: str = "1", model_type: str = "toy-custom", extra_config: str = "") -> dict[str, str]:
    """A repository: config + model modules, a nested ``layers`` package importing ``..helpers``."""
    return {
        "configuration_toy.py": CONFIG_CODE.format(version=version, model_type=model_type) + extra_config,
        "modeling_toy.py": MODEL_CODE,
        "layers/__init__.py": LAYERS_INIT,
        "layers/blocks.py": BLOCKS_CODE,
        "helpers.py": HELPERS_CODE,
    }


def toy_config_json(*, model_type: str = "toy-custom", width: int = 4, auto_map: dict | None = None) -> str:
    auto_map = auto_map or {"AutoConfig": "configuration_toy.ToyConfig", "AutoModel": "modeling_toy.ToyModel"}
    return json.dumps({"model_type": model_type, "width": width, "auto_map": auto_map})


def toy_weights(width: int = 4, value: float = 0.5) -> bytes:
    import torch
    from safetensors.torch import save

    return save({"block.linear.weight": torch.full((width, width), value), "block.linear.bias": torch.zeros(width)})


def write_files(folder: Path, files: dict[str, str | bytes]) -> Path:
    for relpath, content in files.items():
        path = folder / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip(), encoding="utf-8")
    return folder


def toy_repo(folder: Path, *, version: str = "1", weights: bool = False, **config: object) -> Path:
    files: dict[str, str | bytes] = {**toy_files(version=version), "config.json": toy_config_json(**config)}  # type: ignore[arg-type]
    if weights:
        files["model.safetensors"] = toy_weights()
    return write_files(folder, files)


def hub_cache_repo(repo_id: str, commit: str, files: dict[str, str | bytes], *, ref: str | None = "main") -> Path:
    """A snapshot in the huggingface_hub cache, as a download would leave it (loadable offline)."""
    folder = Path(os.environ["HF_HUB_CACHE"]) / ("models--" + repo_id.replace("/", "--"))
    write_files(folder / "snapshots" / commit, files)
    if ref is not None:
        (folder / "refs" / ref).parent.mkdir(parents=True, exist_ok=True)  # "refs/pr/1" nests
        (folder / "refs" / ref).write_text(commit)
    return folder


def marker_code(marker: Path) -> str:
    """A module body that leaves a file behind if it is ever imported."""
    return f"from pathlib import Path\nPath({str(marker)!r}).write_text('imported')\n"


def run_python(code: str, *, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (the example folder is not on its path)."""
    full_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=cwd,
    )


class NetworkGuard:
    """Patched into ``socket``: any outgoing connection fails and is recorded."""

    def __init__(self) -> None:
        self.attempts: list[object] = []

    def refuse(self, *args: object) -> None:
        """Installed as ``socket.socket.connect`` (a plain attribute: called with the address only)."""
        address = args[-1] if args else None
        self.attempts.append(address)
        raise OSError(f"test forbids network access (tried {address!r})")
