"""The consent gate: may code from this repository run here?

- ``trust_remote_code=True``: yes. ``False``: no, never (not even for a trusted publisher).
- ``None`` (not said): yes for code that a trusted publisher committed (see below); otherwise ask ``[y/N]``
  when stdin and stdout are both terminals, with a timeout (``MODELYARD_TRUST_PROMPT_TIMEOUT`` seconds,
  default 15; 0 turns prompting off) after which the answer is no. Off a terminal (servers, CI, notebooks)
  nothing waits for input: the answer is no.

Trusted publishers (``MODELYARD_TRUSTED_PUBLISHERS``, comma-separated, plus :func:`set_trusted_publishers`)
are a namespace *on one hub*: a namespace is only a name, and whoever owns ``acme`` on one hub is unrelated
to whoever owns it on another.

- ``acme``: the namespace ``acme`` on the Hugging Face Hub (``https://huggingface.co``) only;
- ``https://hub.example/acme``: the namespace ``acme`` on the hub at ``https://hub.example`` (the entry is
  the hub's address as ``HF_ENDPOINT`` gives it, then ``/`` and the namespace; scheme and host are
  case-insensitive, default ports and trailing slashes do not matter).

Trust covers what the publisher committed: a commit on one of the repository's branches. A pull-request
ref (``refs/pr/N``, which anyone may open) or any other commit no branch reaches needs explicit consent;
see :mod:`modelyard.dynamic_modules.provenance`. Local folders are never trusted through a publisher.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

from modelyard.errors import ConfigurationError
from modelyard.hub.settings import DEFAULT_ENDPOINT

logger = logging.getLogger(__name__)

TRUSTED_PUBLISHERS_ENV = "MODELYARD_TRUSTED_PUBLISHERS"
PROMPT_TIMEOUT_ENV = "MODELYARD_TRUST_PROMPT_TIMEOUT"
DEFAULT_PROMPT_TIMEOUT = 15.0
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_endpoint(url: str) -> str:
    """``HTTPS://Hub.Example:443/`` -> ``https://hub.example``: one spelling per hub address."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError as err:
        raise ConfigurationError(f"Hub address {url!r} has an invalid port: {err}.") from err
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.query or parts.fragment or parts.username:
        raise ConfigurationError(
            f"A hub address is http:// or https://, a host, an optional port and path, got {url!r}."
        )
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


_DEFAULT = normalise_endpoint(DEFAULT_ENDPOINT)


@dataclass(frozen=True)
class Publisher:
    """A namespace on one hub."""

    endpoint: str  # normalised
    namespace: str  # lower case

    def __str__(self) -> str:
        """The setting's spelling: the bare namespace on the default hub, ``<endpoint>/<namespace>`` elsewhere."""
        return self.namespace if self.endpoint == _DEFAULT else f"{self.endpoint}/{self.namespace}"


def _namespace(name: str, entry: str) -> str:
    try:
        validate_repo_id(name)
    except HFValidationError as err:
        raise ConfigurationError(
            f"Trusted publisher {entry!r}: {name!r} is not a hub namespace ({err}). Write a namespace such as "
            "'acme' (on huggingface.co) or 'https://hub.example/acme' (on another hub)."
        ) from None
    if "/" in name:
        raise ConfigurationError(
            f"A trusted publisher is a namespace (a user or organisation) such as 'acme', not a repository; "
            f"got {entry!r}. To trust a namespace on another hub, write 'https://hub.example/acme'."
        )
    return name.lower()


def parse_publisher(entry: str) -> Publisher:
    """``"acme"`` (huggingface.co) or ``"https://hub.example/acme"`` -> :class:`Publisher`."""
    text = entry.strip()
    if "://" not in text:
        return Publisher(_DEFAULT, _namespace(text.rstrip("/"), entry))
    address = normalise_endpoint(text)  # the hub's address followed by "/<namespace>"
    scheme, _, rest = address.partition("://")
    host, slash, path = rest.partition("/")
    if not slash or not path:
        raise ConfigurationError(f"Trusted publisher {entry!r} names a hub but no namespace: add '/<namespace>'.")
    prefix, _, name = path.rpartition("/")
    base = f"{scheme}://{host}" + (f"/{prefix}" if prefix else "")
    return Publisher(base, _namespace(name, entry))


_programmatic_publishers: frozenset[Publisher] = frozenset()


def set_trusted_publishers(entries: Iterable[str] | None) -> None:
    """Trust code these publishers committed without ``trust_remote_code=True`` (adds to the environment
    variable's list; ``None`` or ``[]`` clears the programmatic list). Entries as in the module docstring."""
    global _programmatic_publishers
    if isinstance(entries, str):
        entries = [entries]
    _programmatic_publishers = frozenset(parse_publisher(e) for e in entries or ())


def _publishers() -> frozenset[Publisher]:
    try:
        from_env = {parse_publisher(e) for e in os.environ.get(TRUSTED_PUBLISHERS_ENV, "").split(",") if e.strip()}
    except ConfigurationError as err:
        raise ConfigurationError(f"{TRUSTED_PUBLISHERS_ENV}: {err}") from None
    return frozenset(from_env) | _programmatic_publishers


def trusted_publishers() -> frozenset[str]:
    """The publishers trusted now, spelled as the setting takes them (``acme``, ``https://hub.example/acme``)."""
    return frozenset(str(p) for p in _publishers())


def publisher_of(repo_id: str | None, endpoint: str) -> Publisher | None:
    """The publisher a hub repository belongs to (``None`` for a repository without a namespace)."""
    if not repo_id or "/" not in repo_id:
        return None
    return Publisher(normalise_endpoint(endpoint), repo_id.split("/", 1)[0].lower())


def is_trusted_publisher(repo_id: str | None, endpoint: str) -> bool:
    publisher = publisher_of(repo_id, endpoint)
    return publisher is not None and publisher in _publishers()


def trusted_elsewhere(repo_id: str | None, endpoint: str) -> list[str]:
    """Hubs on which the repository's namespace is trusted, when it is not trusted on ``endpoint``."""
    publisher = publisher_of(repo_id, endpoint)
    if publisher is None:
        return []
    return sorted(p.endpoint for p in _publishers() if p.namespace == publisher.namespace and p != publisher)


_timeout_override: float | None = None


def set_prompt_timeout(seconds: float | None) -> None:
    """Seconds the consent question waits at a terminal for this process (``0``: never ask, so custom code without
    consent is refused at once); ``None`` goes back to ``MODELYARD_TRUST_PROMPT_TIMEOUT`` or the default."""
    global _timeout_override
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))):
        raise ConfigurationError(f"The consent prompt's time-out must be a number of seconds or None, got {seconds!r}.")
    _timeout_override = None if seconds is None else max(float(seconds), 0.0)


def prompt_timeout() -> float:
    if _timeout_override is not None:
        return _timeout_override
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
