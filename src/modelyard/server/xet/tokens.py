"""Xet access tokens: short-lived, scoped to one repository, signed by the hub (nothing stored).

A token is ``xet_<payload>.<signature>``: the payload (base64url JSON) names the repository (by its database
id *and* its creation time, so a rename keeps it valid while a new repository that reuses the id of a deleted
one does not match), the user it was issued to (None for anonymous reads), the scope (``read`` or ``write``),
for write tokens the ref the commit goes to, and the expiry; the signature is an HMAC-SHA256 under a key
derived from the hub's secret. Every CAS request re-checks that the repository still exists and that the user
may still read it (and, for uploads, still commit to it), so a token never outlives a permission change by
more than that check; what is left to the expiry is the token itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from modelyard.server.errors import HubHTTPError, forbidden, unauthorized

PREFIX = "xet_"
SCOPES = ("read", "write")


@dataclass(frozen=True)
class XetClaims:
    repo_id: int  # database id of the repository
    user: str | None
    scope: str
    expires: int
    create_pr: bool = False
    repo_created: float = 0.0  # the repository's creation time: with the id, never reused
    ref: str | None = None  # write tokens: the ref the upload commits to (None: a new pull request)


def _key(secret: bytes) -> bytes:
    return hmac.new(secret, b"modelyard xet access token", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint(secret: bytes, claims: XetClaims) -> str:
    payload = _b64(json.dumps({"r": claims.repo_id, "u": claims.user, "s": claims.scope, "e": claims.expires,
                               "p": claims.create_pr, "c": claims.repo_created, "f": claims.ref}, separators=(",", ":")).encode())
    signature = hmac.new(_key(secret), payload.encode("ascii"), hashlib.sha256).digest()
    return f"{PREFIX}{payload}.{_b64(signature)}"


def read_token(secret: bytes, authorization: str | None, *, scope: str) -> XetClaims:
    """The claims of the ``Authorization: Bearer xet_...`` token; 401 when missing, forged or expired (the
    client then fetches a new one), 403 when a read token is used to write."""
    how = "Request one from /api/{type}s/{namespace}/{name}/xet-{read|write}-token/{revision}."
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(PREFIX) or "." not in token:
        raise unauthorized(f"This Xet storage API needs a Xet access token (Authorization: Bearer xet_...). {how}")
    payload, _, signature = token[len(PREFIX):].partition(".")
    expected = _b64(hmac.new(_key(secret), payload.encode("ascii", "replace"), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature):
        raise unauthorized(f"The Xet access token is not valid on this hub. {how}")
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims = XetClaims(int(data["r"]), data["u"], str(data["s"]), int(data["e"]), bool(data.get("p", False)),
                           float(data["c"]), data.get("f"))
    except (binascii.Error, ValueError, KeyError, TypeError):  # tokens minted before "c" existed are refused
        raise unauthorized(f"The Xet access token is malformed. {how}") from None
    if claims.expires < time.time():
        raise unauthorized(f"The Xet access token expired at {claims.expires}. {how}")
    if scope == "write" and claims.scope != "write":
        raise forbidden("This Xet access token has the 'read' scope; uploads need one from the xet-write-token "
                        "route (with a write token for the hub).")
    if claims.scope not in SCOPES:
        raise HubHTTPError(401, f"The Xet access token has an unknown scope {claims.scope!r}. {how}")
    return claims
