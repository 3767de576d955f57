"""Who is calling, and what they may do.

Rules: anyone (even anonymous) reads public repos; private repos are visible only to their owner and the
members of their organisation, and answer RepoNotFound to everyone else (401 anonymous, 404 signed in), so
their existence does not leak. A gated repo's files (all but its README.md) are downloaded
only by its owners and the users whose access request was accepted; others get ``GatedRepo``. Writing needs a ``write`` token and a namespace that is the caller's own
name or one of their organisations. A token that is sent but unknown is refused with 401 everywhere.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

from modelyard.server.errors import HubHTTPError, forbidden, repo_not_found, unauthorized
from modelyard.server.storage import PR, Identity, Repo, Storage

INVALID_CREDENTIALS = "Invalid credentials in Authorization header"


def token_from_header(authorization: str | None) -> str | None:
    """The token of ``Bearer <token>``, or the password of ``Basic`` auth (what git-lfs sends)."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def identify(storage: Storage, authorization: str | None) -> Identity | None:
    """The caller's identity; None when anonymous; 401 when a token is sent but not valid."""
    if not authorization:
        return None
    token = token_from_header(authorization)
    identity = storage.tokens.identity(token) if token else None
    if identity is None:
        raise unauthorized(INVALID_CREDENTIALS)
    return identity


def owns_namespace(caller: Identity, namespace: str) -> bool:
    lowered = namespace.lower()
    return caller.name.lower() == lowered or any(org.lower() == lowered for org in caller.orgs)


def can_read(caller: Identity | None, repo: Repo) -> bool:
    return not repo.private or (caller is not None and owns_namespace(caller, repo.namespace))


def require_read(caller: Identity | None, repo: Repo | None, repo_id: str) -> Repo:
    if repo is None or not can_read(caller, repo):
        raise repo_not_found(repo_id, anonymous=caller is None)
    return repo


# -- gated repositories -------------------------------------------------------------------------------
# Readable in a gated repository without access: its card, as on the Hugging Face Hub (whose own client tests
# expect a download of .gitattributes to be refused).
GATE_FREE = frozenset({"README.md"})


def has_gate_access(storage: Storage, caller: Identity | None, repo: Repo) -> bool:
    """Whether ``caller`` may download the gated files of ``repo`` (always, when it is not gated)."""
    if repo.gated is None:
        return True
    if caller is None:
        return False
    return owns_namespace(caller, repo.namespace) or storage.gating.has_access(repo, caller.name)


def require_gate_access(storage: Storage, caller: Identity | None, repo: Repo, path: str | None = None) -> None:
    """Refuse a download of ``path`` (None: any file) from a gated repo without access, with the error code
    that makes ``huggingface_hub`` raise ``GatedRepoError`` (401 anonymous, 403 signed in)."""
    if (path is not None and path in GATE_FREE) or has_gate_access(storage, caller, repo):
        return
    where = ("" if repo.type == "model" else f"{repo.type}s/") + repo.repo_id
    hint = ("Sign in (pass a token) and ask for access" if caller is None else
            f"You ({caller.name!r}) have not been given access: ask for it")
    raise HubHTTPError(401 if caller is None else 403,
                       f"Access to {repo.type} {repo.repo_id} is restricted and you are not in the authorized list (it "
                       f"is a gated repository). {hint} on its page (/{where}) or with POST /{where}/ask-access, then "
                       "wait for an owner to accept.",
                       code="GatedRepo")


def require_write_namespace(caller: Identity | None, namespace: str) -> Identity:
    """Checks for creating or deleting repos in ``namespace``."""
    if caller is None:
        raise unauthorized("You must be signed in to write to the hub: pass a token with the 'write' role "
                           "(HF_TOKEN, `modelyard login` or token=...).")
    if caller.role != "write":
        raise forbidden(f"Your token {caller.token_name!r} has the 'read' role; writing needs a 'write' token "
                        f"(create one with `modelyard hub token create --user {caller.name} --role write`).")
    if not owns_namespace(caller, namespace):
        raise forbidden(f"You ({caller.name!r}) may not write to namespace {namespace!r}: it is neither your "
                        "user name nor one of your organisations.")
    return caller


def require_write(caller: Identity | None, repo: Repo | None, repo_id: str) -> Identity:
    """Checks for committing to, or changing refs of, an existing repo."""
    repo = require_read(caller, repo, repo_id)
    return require_write_namespace(caller, repo.namespace)


def pull_request_number(ref: str) -> int | None:
    """N of ``refs/pr/N``, or None when ``ref`` is not one (``refs/pr/abc``, or a number no database holds)."""
    number = ref[len(PR):] if ref.startswith(PR) else ""
    if number.isascii() and number.isdigit() and len(number) <= 15:
        return int(number)
    return None


def require_commit_rights(storage: Storage, caller: Identity | None, repo: Repo, ref: str | None,
                          create_pr: bool) -> Identity:
    """Checks for committing to ``ref`` of ``repo`` (``None``: a branch): branches need write access to the
    namespace; pull requests only a write token (as on the HF Hub), and a pull-request ref accepts commits from
    its author too."""
    if caller is None:
        raise unauthorized("You must be signed in to commit: pass a token with the 'write' role.")
    if caller.role != "write":
        raise forbidden(f"Your token {caller.token_name!r} has the 'read' role; committing needs a 'write' token.")
    if owns_namespace(caller, repo.namespace):
        return caller
    if create_pr:
        return caller
    if ref and ref.startswith(PR):
        number = pull_request_number(ref)
        row = storage.discussions.get(repo, number) if number is not None else None
        if row is not None and row["author"].lower() == caller.name.lower():
            return caller
    raise forbidden(f"You ({caller.name!r}) may not write to {repo.repo_id!r}; open a pull request instead "
                    "(create_pr=True).")


# -- signed links (LFS upload hrefs carry their own credential: the client sends no token there) -----------
def sign(secret: bytes, *parts: object) -> str:
    message = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def check_signature(secret: bytes, signature: str | None, expires: str | None, *parts: object) -> None:
    try:
        exp = int(expires or "")
    except ValueError:
        raise unauthorized("This upload link is missing its expiry; request a new one from the LFS batch API.") from None
    if exp < time.time():
        raise unauthorized("This upload link has expired; request a new one from the LFS batch API.")
    expected = sign(secret, *parts, exp)
    if not signature or not hmac.compare_digest(expected, signature):
        raise HubHTTPError(403, "This upload link's signature is not valid; request a new one from the LFS batch API.")
