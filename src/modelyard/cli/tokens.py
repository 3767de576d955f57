"""Which hub a saved token belongs to, so ``modelyard login`` never silently replaces another hub's token.

huggingface_hub keeps one active token (``$HF_HOME/token``) and a named list of tokens
(``$HF_HOME/stored_tokens``, INI sections with an ``hf_token`` key; ``hf auth list`` / ``hf auth switch``
read it). ``modelyard login`` records its tokens there with an extra ``endpoint`` key. Before it replaces
the active token by one for another hub it warns, and it makes sure the old token stays in the named list,
so ``hf auth switch`` can bring it back. Tokens of unknown origin that look like huggingface.co's
(``hf_...``) are taken to be for huggingface.co.
"""

from __future__ import annotations

import configparser
import os
import sys
from pathlib import Path

HUGGING_FACE = "https://huggingface.co"


def _stored_path(token_file: Path) -> Path:
    return token_file.parent / "stored_tokens"


def _read(path: Path) -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    try:
        config.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        pass  # an unreadable list is left alone; we only add to readable ones
    return config


def _write(path: Path, config: configparser.ConfigParser) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        config.write(fh)


def endpoint_of(token: str, token_file: Path) -> str | None:
    """The hub ``token`` was saved for, as far as we can tell (None: unknown)."""
    config = _read(_stored_path(token_file))
    for section in config.sections():
        if config[section].get("hf_token") == token and config[section].get("endpoint"):
            return config[section]["endpoint"].rstrip("/")
    return HUGGING_FACE if token.startswith("hf_") else None


def _section_for(token: str, config: configparser.ConfigParser) -> str | None:
    return next((s for s in config.sections() if config[s].get("hf_token") == token), None)


def remember(token: str, endpoint: str, token_file: Path, *, name: str) -> str:
    """Record ``token`` for ``endpoint`` in the named list (under ``name``, or its existing section)."""
    path = _stored_path(token_file)
    config = _read(path)
    section = _section_for(token, config)
    if section is None:
        section = name
        n = 2
        while config.has_section(section):
            section, n = f"{name}-{n}", n + 1
        config.add_section(section)
        config[section]["hf_token"] = token
    config[section]["endpoint"] = endpoint
    _write(path, config)
    return section


def warn_before_replacing(new_token: str, endpoint: str, token_file: Path) -> None:
    """Warn (on stderr) when the active token is for another hub, and keep it in the named list."""
    try:
        old = token_file.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return
    if not old or old == new_token:
        return
    other = endpoint_of(old, token_file)
    if other is not None and other == endpoint.rstrip("/"):
        return
    host = (other or "unknown").split("://", 1)[-1].split("/", 1)[0]
    kept = remember(old, other or "", token_file, name=f"saved-{host}")
    where = f"for {other}" if other else "for another (unknown) hub"
    print(f"Warning: {token_file} holds a token {where}; it is being replaced by your token for {endpoint}. "
          f"The old token stays in {_stored_path(token_file)} as {kept!r}: `hf auth switch --token-name {kept}` "
          "makes it the active token again.", file=sys.stderr)
