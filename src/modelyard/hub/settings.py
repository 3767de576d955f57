"""Where things are and which hub to talk to: the one settings module of the library, the CLI and the server.

Read from the environment at call time (``huggingface_hub`` reads some only at import):

- ``HF_ENDPOINT`` picks the hub (ours or any other; default huggingface.co);
- ``HF_HUB_OFFLINE=1`` (or ``TRANSFORMERS_OFFLINE=1``) forbids network calls;
- ``HF_HOME`` (default ``$XDG_CACHE_HOME/huggingface``) and ``HF_HUB_CACHE`` (default ``$HF_HOME/hub``) place
  the download cache, shared with huggingface_hub and the reference library;
- ``HF_TOKEN`` or the token file ``HF_TOKEN_PATH`` (default ``$HF_HOME/token``, written by ``modelyard
  login``) authenticates;
- ``MODELYARD_HOME`` (default ``~/.modelyard``) holds modelyard's own state: the module cache of custom code
  (``modules/``) and, by default, the hub server's data (``hub/``).

This module never imports torch or the hub client.
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


def endpoint_is_default() -> bool:
    return "HF_ENDPOINT" not in os.environ


def is_huggingface_endpoint(url: str | None = None) -> bool:
    """True for huggingface.co and its subdomains (``hub-ci.huggingface.co``), not ``evilhuggingface.co``."""
    host = (urlsplit(url or endpoint()).hostname or "").rstrip(".").lower()
    return host == "huggingface.co" or host.endswith(".huggingface.co")


def is_offline() -> bool:
    return any(os.environ.get(name, "").lower() in _TRUTHY for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hf_home() -> Path:
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "huggingface"


def hub_cache_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit is not None:
        return Path(explicit).expanduser()
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    return hf_home() / "hub"


def token_path() -> Path:
    """The token file: ``HF_TOKEN_PATH``, else ``$HF_HOME/token`` (where huggingface_hub looks too)."""
    explicit = os.environ.get("HF_TOKEN_PATH")
    return Path(explicit).expanduser() if explicit else hf_home() / "token"


def modelyard_home() -> Path:
    """modelyard's own state: ``MODELYARD_HOME``, else ``~/.modelyard``."""
    if os.environ.get("MODELYARD_HOME"):
        return Path(os.environ["MODELYARD_HOME"]).expanduser()
    return Path.home() / ".modelyard"


def modules_cache_dir() -> Path:
    """Where cached custom code lives: ``$MODELYARD_HOME/modules``."""
    return modelyard_home() / "modules"


def hub_data_dir() -> Path:
    """The hub server's default data folder: ``$MODELYARD_HOME/hub``."""
    return modelyard_home() / "hub"


def stored_token() -> str | None:
    """``HF_TOKEN`` (or the older ``HUGGING_FACE_HUB_TOKEN``), else the token file; None when there is none."""
    env = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if env and env.strip():
        return env.strip()
    path = token_path()
    if path.is_file():
        return path.read_text(encoding="utf-8").strip() or None
    return None


def get_token(token: str | bool | None = None) -> str | Literal[False] | None:
    """The token to send: an explicit string, else :func:`stored_token`.

    ``token=False`` stays ``False``: it means "send no token" to huggingface_hub, whereas ``None`` would make
    the client fall back to the stored token.
    """
    if isinstance(token, str):
        return token
    if token is False:
        return False
    return stored_token()


def write_token(token: str) -> Path:
    """Write the token file with mode 0600 (created that way, so it is never readable by others)."""
    path = token_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, token.encode("utf-8"))
    finally:
        os.close(fd)
    return path
