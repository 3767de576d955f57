"""Translation of hub client errors into modelyard's, for every hub call of the library and the CLI.

``huggingface_hub`` raises its own HTTP errors (with a link to a page about HTTP) and, underneath, the
transport's connection errors. :func:`hub_errors` turns them into modelyard's typed errors
(:mod:`modelyard.errors`) that say what failed, on which hub, the server's own message, and the fix. The
gateway (:mod:`modelyard.hub.gateway`) runs every client call inside it; callers catch modelyard's errors
only. It is torch-free and imports the client only when an error needs translating.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from modelyard.errors import (
    HubAuthenticationError,
    HubConnectionError,
    HubError,
    MissingFileError,
    ModelyardError,
    OfflineModeError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from modelyard.hub import settings


def transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP stack's "could not talk to the server at all" errors (huggingface_hub 1.x/2.x use httpx2, older
    releases httpx)."""
    found: list[type[BaseException]] = []
    for module in ("httpx2", "httpx"):
        try:
            found.append(__import__(module).TransportError)
        except (ImportError, AttributeError):
            continue
    return tuple(found)


def unreachable_message(err: BaseException, action: str) -> str:
    """One paragraph for a hub that cannot be reached: what failed, which endpoint, and how to fix it."""
    url = settings.endpoint()
    reason = str(err).strip() or type(err).__name__
    where = f"HF_ENDPOINT is not set, so modelyard used {url}" if settings.endpoint_is_default() else f"HF_ENDPOINT is {url}"
    return (f"Could not reach the hub to {action}: {reason} ({where}). If you run your own hub, start it with "
            "`modelyard hub serve` and set HF_ENDPOINT to the URL it prints (for example "
            "`export HF_ENDPOINT=http://127.0.0.1:8000`); for huggingface.co, check your network or proxy.")


def translate(err: BaseException, action: str, *, repo_id: str | None = None) -> ModelyardError | None:
    """The modelyard error for a client or transport error raised while doing ``action``; None if it is
    neither (a bug or an unrelated error, left alone)."""
    from huggingface_hub import errors as hf

    url = settings.endpoint()
    repo = f" {repo_id!r}" if repo_id else ""
    if isinstance(err, transport_errors()):
        return HubConnectionError(unreachable_message(err, action))
    if isinstance(err, hf.LocalEntryNotFoundError):
        return _not_cached(err, action, repo_id=repo_id)
    if isinstance(err, hf.LocalTokenNotFoundError):
        return HubAuthenticationError(
            f"Could not {action}: it needs a token and none is stored. Log in with `modelyard login`, set "
            "HF_TOKEN, or pass token=."
        )
    if isinstance(err, hf.RepositoryNotFoundError):
        return RepositoryNotFoundError(
            f"Could not {action}: repository{repo} was not found on {url}, or it is private and the token in use "
            "may not read it. Check the name, or log in with `modelyard login` / pass token=."
        )
    if isinstance(err, hf.RevisionNotFoundError):
        return RevisionNotFoundError(
            f"Could not {action}: the revision does not exist in{repo or ' the repository'} on {url}. Pass an "
            "existing branch, tag or full commit hash."
        )
    if isinstance(err, hf.EntryNotFoundError):
        return MissingFileError(f"Could not {action}: {err}")
    if isinstance(err, hf.HfHubHTTPError):
        response = getattr(err, "response", None)
        status = getattr(response, "status_code", None)
        message = getattr(err, "server_message", None) or _first_line(err)
        if status in (401, 403):
            return HubAuthenticationError(
                f"Could not {action}: {url} answered {status} ({message}). The token is missing, invalid, or may "
                "not do this: log in with `modelyard login` (a write token for pushing), pass token=, and check "
                "that HF_ENDPOINT names the hub that issued it."
            )
        return HubError(f"Could not {action}: {url} answered {status} for{repo or ' the request'}: {message}")
    return None


@contextlib.contextmanager
def hub_errors(action: str, *, repo_id: str | None = None) -> Iterator[None]:
    """Run a hub call, turning client and transport errors into modelyard's typed errors (chained)."""
    try:
        yield
    except ModelyardError:
        raise
    except Exception as err:  # noqa: BLE001 - translated below, or re-raised as it is
        translated = translate(err, action, repo_id=repo_id)
        if translated is None:
            raise
        raise translated from err


def _not_cached(err: BaseException, action: str, *, repo_id: str | None) -> ModelyardError:
    """A file or snapshot that is not in the download cache, and that the hub could not supply: why not is the
    error the client chained (an unreachable or failing hub), else network access is off."""
    from huggingface_hub.errors import OfflineModeIsEnabled

    cause = err.__cause__
    translated = translate(cause, action, repo_id=repo_id) if cause is not None else None
    if translated is not None:
        return translated
    if cause is None or isinstance(cause, OfflineModeIsEnabled):
        return OfflineModeError(
            f"Could not {action}: it is not in the local cache and network access is off (local_files_only=True "
            "or HF_HUB_OFFLINE=1). Load it once online first, or pass a folder."
        )
    return HubError(f"Could not {action}: {_first_line(cause)} (and it is not in the local cache).")


def _first_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


__all__ = ["hub_errors", "transport_errors", "translate", "unreachable_message"]
