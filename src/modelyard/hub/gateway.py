"""The one door to the hub client: every ``huggingface_hub`` client of the library is built here, and every
call through it has its errors translated.

:func:`hub_client` binds a client to

- the hub: ``HF_ENDPOINT``, read at call time (:func:`modelyard.hub.settings.endpoint`), or ``endpoint=``;
- the token: :func:`modelyard.hub.settings.get_token` (an explicit string; ``False`` for none at all, which the
  client would otherwise replace by the stored login; else ``HF_TOKEN`` or the token file);
- modelyard's name and version in the user agent (``library_name`` / ``library_version``).

The :class:`HubClient` it returns forwards every ``HfApi`` method (``repo_info``, ``upload_folder``,
``hf_hub_download``, ...) inside :func:`~modelyard.hub.translate.hub_errors`, so a failure is a
:class:`~modelyard.errors.HubError` that says what failed (the ``action`` the caller names), on which hub,
and the fix. ``tests/test_structure.py`` checks that no other module builds a client.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Literal

from modelyard._version import __version__
from modelyard.errors import HubAuthenticationError
from modelyard.hub import settings
from modelyard.hub.translate import hub_errors

LIBRARY_NAME = "modelyard"


class HubClient:
    """An ``HfApi`` bound to one hub and token whose every call raises modelyard's errors (see the module doc).

    ``action`` words what the calls are for, as errors say it: "Could not <action>: ...".
    """

    def __init__(self, api: Any, *, action: str, repo_id: str | None = None) -> None:
        self._api = api
        self.action = action
        self.repo_id = repo_id

    @property
    def endpoint(self) -> str:
        return str(self._api.endpoint)

    @property
    def token(self) -> str | Literal[False] | None:
        """The token every call sends: a string, ``False`` (none), or ``None`` (the client's own lookup)."""
        token: str | Literal[False] | None = self._api.token
        return token

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._api, name)
        if name.startswith("_") or not callable(attribute):
            return attribute
        return self._translated(attribute)

    def _translated(self, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            with hub_errors(self.action, repo_id=self.repo_id):
                return method(*args, **kwargs)

        return call

    def full_repo_id(self, repo_id: str) -> str:
        """``repo_id`` itself when it names a namespace, else ``<token owner>/<repo_id>`` (asks the hub)."""
        if "/" in repo_id:
            return repo_id
        if self.token is False:
            raise HubAuthenticationError(
                f"Could not {self.action}: {repo_id!r} has no namespace, and token=False sends no token, so the hub "
                "cannot say whose namespace to use. Pass the full repo_id ('namespace/name') or a token."
            )
        return f"{self.whoami()['name']}/{repo_id}"

    def http_get(self, path: str, *, params: dict[str, str] | None = None) -> Any:
        """GET ``<endpoint><path>`` with this client's headers (token, user agent), redirects not followed; the
        response is returned whatever its status (for probes that read the status themselves)."""
        from huggingface_hub.utils import build_hf_headers, get_session

        headers = build_hf_headers(token=self.token, library_name=LIBRARY_NAME, library_version=__version__)
        with hub_errors(self.action, repo_id=self.repo_id):
            return get_session().get(f"{self.endpoint}{path}", headers=headers, params=params, follow_redirects=False)


def hub_client(action: str, *, repo_id: str | None = None, token: str | bool | None = None,
               endpoint: str | None = None) -> HubClient:
    """The client for ``action`` (for example ``"push BertConfig to 'alice/net'"``): on ``endpoint`` (default
    ``HF_ENDPOINT``) with ``token`` resolved by :func:`~modelyard.hub.settings.get_token`; ``repo_id`` is named
    in the errors."""
    from huggingface_hub import HfApi

    api = HfApi(
        endpoint=(endpoint or settings.endpoint()).rstrip("/"),
        token=settings.get_token(token),
        library_name=LIBRARY_NAME,
        library_version=__version__,
    )
    return HubClient(api, action=action, repo_id=repo_id)


__all__ = ["HubClient", "hub_client"]
