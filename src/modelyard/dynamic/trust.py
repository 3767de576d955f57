"""The consent gate: may code from this repository run here?

- ``trust_remote_code=True``: yes. ``False``: no, never (not even for a trusted publisher).
- ``None`` (not said): yes for a repository whose namespace is a trusted publisher
  (``MODELYARD_TRUSTED_PUBLISHERS=acme,my-org`` or :func:`set_trusted_publishers`); otherwise ask ``[y/N]``
  when stdin and stdout are both terminals, with a timeout (``MODELYARD_TRUST_PROMPT_TIMEOUT`` seconds,
  default 15; 0 turns prompting off) after which the answer is no. Off a terminal (servers, CI, notebooks)
  nothing waits for input: the answer is no.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections.abc import Iterable

from modelyard.errors import ConfigurationError

logger = logging.getLogger(__name__)

TRUSTED_PUBLISHERS_ENV = "MODELYARD_TRUSTED_PUBLISHERS"
PROMPT_TIMEOUT_ENV = "MODELYARD_TRUST_PROMPT_TIMEOUT"
DEFAULT_PROMPT_TIMEOUT = 15.0

_programmatic_publishers: frozenset[str] = frozenset()


def _normalise(namespace: str) -> str:
    name = namespace.strip().rstrip("/").lower()
    if not name or "/" in name:
        raise ConfigurationError(
            f"A trusted publisher is a hub namespace such as 'acme' (a user or organisation), got {namespace!r}."
        )
    return name


def set_trusted_publishers(namespaces: Iterable[str] | None) -> None:
    """Trust code from these hub namespaces without ``trust_remote_code=True`` (adds to the environment
    variable's list; ``None`` or ``[]`` clears the programmatic list)."""
    global _programmatic_publishers
    if isinstance(namespaces, str):
        namespaces = [namespaces]
    _programmatic_publishers = frozenset(_normalise(n) for n in namespaces or ())


def trusted_publishers() -> frozenset[str]:
    """The namespaces trusted now: ``MODELYARD_TRUSTED_PUBLISHERS`` (comma-separated) plus the programmatic list."""
    from_env = {_normalise(n) for n in os.environ.get(TRUSTED_PUBLISHERS_ENV, "").split(",") if n.strip()}
    return frozenset(from_env) | _programmatic_publishers


def is_trusted_publisher(repo_id: str | None) -> bool:
    if not repo_id or "/" not in repo_id:
        return False
    return repo_id.split("/", 1)[0].lower() in trusted_publishers()


def prompt_timeout() -> float:
    raw = os.environ.get(PROMPT_TIMEOUT_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_PROMPT_TIMEOUT
    try:
        value = float(raw)
    except ValueError as err:
        raise ConfigurationError(f"{PROMPT_TIMEOUT_ENV} must be a number of seconds, got {raw!r}.") from err
    return max(value, 0.0)


def can_prompt() -> bool:
    """Only a person at a terminal can answer; anything else must not wait for input."""
    if prompt_timeout() <= 0:
        return False
    try:
        return bool(sys.stdin and sys.stdout and sys.stdin.isatty() and sys.stdout.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _read_line(timeout: float) -> str | None:
    """A line from stdin, or ``None`` when nothing arrives in ``timeout`` seconds."""
    try:
        import select

        ready, _, _ = select.select([sys.stdin], [], [], timeout)
        return sys.stdin.readline() if ready else None
    except (ImportError, OSError, ValueError, TypeError):
        pass  # no select on this stream (Windows consoles): read in a helper thread instead
    answers: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: answers.put(sys.stdin.readline()), daemon=True).start()
    try:
        return answers.get(timeout=timeout)
    except queue.Empty:
        return None


def ask(question: str) -> bool:
    """Ask ``question`` on the terminal; only "y"/"yes" within the timeout means yes."""
    timeout = prompt_timeout()
    sys.stdout.write(f"{question}\nRun this code? [y/N] (no answer in {timeout:g}s means no): ")
    sys.stdout.flush()
    answer = _read_line(timeout)
    if answer is None:
        sys.stdout.write("\nNo answer in time: not running it.\n")
        sys.stdout.flush()
        return False
    return answer.strip().lower() in {"y", "yes"}
