"""Hub settings read from the environment at call time (``huggingface_hub`` reads some only at import).

``HF_ENDPOINT`` picks the hub (ours or any other); ``HF_HUB_OFFLINE=1`` (or ``TRANSFORMERS_OFFLINE=1``)
forbids network calls; ``HF_HUB_CACHE`` / ``HF_HOME`` place the download cache; ``HF_TOKEN`` or the token
file ``$HF_HOME/token`` (written by ``modelyard login``) authenticates.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

DEFAULT_ENDPOINT = "https://huggingface.co"
_TRUTHY = {"1", "true", "yes", "on"}


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")


def is_huggingface_endpoint(url: str | None = None) -> bool:
    """True for huggingface.co and its subdomains (``hub-ci.huggingface.co``), not ``evilhuggingface.co``."""
    host = (urlsplit(url or endpoint()).hostname or "").rstrip(".").lower()
    return host == "huggingface.co" or host.endswith(".huggingface.co")


def is_offline() -> bool:
    return any(os.environ.get(name, "").lower() in _TRUTHY for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hf_home() -> Path:
    if "HF_HOME" in os.environ:
        return Path(os.environ["HF_HOME"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
    return Path(xdg).expanduser() / "huggingface"


def hub_cache_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit is not None:
        return Path(explicit).expanduser()
    if "HF_HUB_CACHE" in os.environ:
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    return hf_home() / "hub"


def token_path() -> Path:
    return hf_home() / "token"


def modelyard_home() -> Path:
    """modelyard's own state (module cache for remote code, hub server data by default)."""
    if "MODELYARD_HOME" in os.environ:
        return Path(os.environ["MODELYARD_HOME"]).expanduser()
    return Path.home() / ".cache" / "modelyard"


def get_token(token: str | bool | None = None) -> str | Literal[False] | None:
    """The token to send: an explicit string, else ``HF_TOKEN``, else the token file; None when there is none.

    ``token=False`` stays ``False``: it means "send no token" to huggingface_hub, whereas ``None`` would make
    the client fall back to the stored token.
    """
    if isinstance(token, str):
        return token
    if token is False:
        return False
    env = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if env:
        return env.strip()
    path = token_path()
    if path.is_file():
        value = path.read_text(encoding="utf-8").strip()
        return value or None
    return None
