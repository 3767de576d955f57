"""Whether an upload goes through Xet: the hub decides, by handing out Xet write tokens or not.

``huggingface_hub`` with ``hf_xet`` installed sends every large file through Xet and cannot fall back to
LFS by itself. huggingface.co and modelyard hubs speak Xet; other hubs may not (an older modelyard hub
answers the token route with an error). Before uploading, modelyard asks the hub for the very token the
upload would need, and switches Xet off for that upload when none comes back, so large files go through
Git LFS there. ``HF_HUB_DISABLE_XET=1`` set by the user always wins.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from modelyard.hub import settings
from modelyard.hub.gateway import hub_client

logger = logging.getLogger(__name__)


def hub_speaks_xet(endpoint: str, repo_id: str, *, token: str | bool | None = None, repo_type: str = "model",
                   revision: str | None = None, create_pr: bool = False) -> bool:
    """True when ``endpoint`` issues a Xet write token for an upload to ``repo_id`` at ``revision``."""
    if settings.is_huggingface_endpoint(endpoint):
        return True
    rev = "None" if create_pr and revision is None else quote(revision or "main", safe="")
    path = f"/api/{repo_type}s/{repo_id}/xet-write-token/{rev}"
    client = hub_client("ask for a Xet write token", repo_id=repo_id, token=token, endpoint=endpoint)
    try:
        answer = client.http_get(path, params={"create_pr": "1"} if create_pr else None)
    except Exception as err:  # the upload itself will report an unreachable hub
        logger.debug("Xet token request to %s%s failed: %s", endpoint, path, err)
        return False
    speaks = answer.status_code == 200 and "x-xet-cas-url" in answer.headers
    if not speaks:
        logger.info("%s issues no Xet token (HTTP %s); large files go through Git LFS.", endpoint,
                    answer.status_code)
    return speaks


@contextmanager
def xet_only_if_supported(endpoint: str, repo_id: str, **options: Any) -> Iterator[None]:
    """Inside, the client uses Xet for uploads only if the hub supports it (see :func:`hub_speaks_xet`)."""
    from huggingface_hub import constants

    previous = constants.HF_HUB_DISABLE_XET
    if not previous and not hub_speaks_xet(endpoint, repo_id, **options):
        constants.HF_HUB_DISABLE_XET = True  # read by the client at call time
    try:
        yield
    finally:
        constants.HF_HUB_DISABLE_XET = previous
