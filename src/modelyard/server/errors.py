"""HTTP errors in the shape ``huggingface_hub`` maps to exceptions.

Every error answer carries ``X-Error-Message`` (the text), an optional ``X-Error-Code`` (``RepoNotFound``,
``RevisionNotFound``, ``EntryNotFound``, ``GatedRepo``: the only codes the client turns into specific
exceptions) and the JSON body ``{"error": message}``. Without the code a plain 404 becomes a generic error,
so handlers raise the helpers below instead of bare ``HTTPException``.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.responses import JSONResponse

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class HubHTTPError(Exception):
    """An error answer: status, text, optional ``X-Error-Code``, extra headers and extra JSON fields."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def response(self) -> JSONResponse:
        """The error answer: ``X-Error-Message`` and ``X-Error-Code`` headers, ``{"error": message}`` body."""
        headers = {"X-Error-Message": header_value(self.message), **self.headers}
        # A message may quote what the client sent, lone surrogates included (JSON escapes such as "\ud800"):
        # they cannot be encoded as UTF-8, so they are written as escapes rather than failing the answer.
        message = self.message.encode("utf-8", "backslashreplace").decode("utf-8")
        if self.code:
            headers["X-Error-Code"] = self.code
        return JSONResponse({"error": message, **self.extra}, status_code=self.status, headers=headers)


def header_value(text: str) -> str:
    """``text`` as a header value: latin-1, one line, no control characters (a message may quote the request,
    "\x1b" or "\ud800" included); the JSON body keeps the full text."""
    return _CONTROL.sub("?", " ".join(text.split()).encode("latin-1", "replace").decode("latin-1"))


def repo_not_found(repo_id: str, *, anonymous: bool = False, detail: str = "") -> HubHTTPError:
    # HF answers 401 to anonymous callers and 404 to signed-in ones; both carry RepoNotFound. The message is the
    # plain "Repository not found" (the client's own text contains it, so it does not repeat it); the specifics
    # are in the body's "detail".
    hint = " If it is private, pass a token that can read it." if anonymous else ""
    return HubHTTPError(
        401 if anonymous else 404,
        "Repository not found",
        code="RepoNotFound",
        extra={"detail": f"{repo_id!r} does not exist or you may not see it.{hint}{detail}"},
    )


def revision_not_found(repo_id: str, revision: str, *, commit: str | None = None) -> HubHTTPError:
    return HubHTTPError(
        404,
        f"Invalid rev id: {revision!r} is not a branch, tag, pull-request ref or commit of {repo_id!r}. "
        "List the refs with `HfApi.list_repo_refs`.",
        code="RevisionNotFound",
        headers={"X-Repo-Commit": commit} if commit else None,
    )


def entry_not_found(repo_id: str, revision: str, path: str, *, commit: str, what: str = "file") -> HubHTTPError:
    return HubHTTPError(
        404,
        f"Entry not found: no {what} {path!r} in {repo_id!r} at revision {revision!r}.",
        code="EntryNotFound",
        headers={"X-Repo-Commit": commit},
    )


def bad_request(message: str) -> HubHTTPError:
    return HubHTTPError(400, message)


def forbidden(message: str) -> HubHTTPError:
    return HubHTTPError(403, message)


def unauthorized(message: str) -> HubHTTPError:
    return HubHTTPError(401, message)


def conflict(message: str, **extra: Any) -> HubHTTPError:
    return HubHTTPError(409, message, extra=extra)
