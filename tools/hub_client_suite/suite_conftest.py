"""conftest.py for huggingface_hub's own tests, run against a loopback modelyard hub.

``run_suite.py`` copies this file to ``tests/conftest.py`` of the unpacked sdist (which ships the tests but not
their conftest). It only provides fixtures and patches constants: the endpoint the tests call "staging", the
tokens of the suite's users, the cache folders. It never changes what a test does or asserts.

The hub and its accounts are made by ``run_suite.py`` and described in ``MODELYARD_SUITE_*`` variables.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path
from typing import Any, Protocol

import pytest
from huggingface_hub import HfApi, RepoUrl, constants

from . import testing_constants
from .testing_utils import repo_name

_ENDPOINT = os.environ["MODELYARD_SUITE_ENDPOINT"]

# The suite's staging endpoint and tokens are this hub and the tokens run_suite.py created for the same users.
testing_constants.ENDPOINT_STAGING = _ENDPOINT
testing_constants.TOKEN = os.environ["MODELYARD_SUITE_TOKEN"]
testing_constants.OTHER_TOKEN = os.environ["MODELYARD_SUITE_OTHER_TOKEN"]
testing_constants.ENTERPRISE_TOKEN = os.environ["MODELYARD_SUITE_ENTERPRISE_TOKEN"]

_EXCLUDED: dict[str, str] = {}
for _line in Path(os.environ["MODELYARD_SUITE_EXCLUDED"]).read_text().splitlines():
    _entry, _, _reason = _line.partition("#")
    if _entry.strip():
        _EXCLUDED[_entry.strip()] = _reason.strip() or "excluded"


def _excluded_reason(nodeid: str) -> str | None:
    """An entry names a test (``module::Class::test``), a class or a module; parametrised ids match by prefix."""
    for entry, reason in _EXCLUDED.items():
        if nodeid == entry or nodeid.startswith(entry + "::") or nodeid.startswith(entry + "["):
            return reason
    return None


def pytest_configure(config: pytest.Config) -> None:
    # Markers of plugins the API modules do not need (pytest-vcr records inference calls).
    config.addinivalue_line("markers", "vcr: recorded HTTP exchanges (pytest-vcr)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Node ids are relative to the sdist root: "tests/test_hf_api.py::..."; the list names them without "tests/".
    for item in items:
        reason = _excluded_reason(item.nodeid.removeprefix("tests/"))
        if reason is None and item.get_closest_marker("production") is not None:
            reason = "production: reads repositories on huggingface.co"
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=f"[excluded] {reason}"))


@pytest.fixture(autouse=True)
def patch_constants(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A fresh cache and token location per test, and the hub as the default endpoint."""
    home = tmp_path_factory.mktemp("hf_home")
    for name, value in {
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(home / "hub"),
        "HUGGINGFACE_HUB_CACHE": str(home / "hub"),
        "HF_XET_CACHE": str(home / "xet"),
        "HF_ASSETS_CACHE": str(home / "assets"),
        "HF_TOKEN_PATH": str(home / "token"),
        "HF_STORED_TOKENS_PATH": str(home / "stored_tokens"),
        "ENDPOINT": _ENDPOINT,
        "HUGGINGFACE_CO_URL_TEMPLATE": _ENDPOINT + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HUB_DISABLE_EXPERIMENTAL_WARNING": True,
    }.items():
        if hasattr(constants, name):
            monkeypatch.setattr(constants, name, value)


@pytest.fixture(autouse=True)
def reset_oauth_refresh_state() -> None:
    """``get_token()`` remembers its OAuth refresh decision process-wide: every test starts without one."""
    from huggingface_hub.utils import _auth

    for name, value in (("_OAUTH_REFRESH_CACHE", None), ("_OAUTH_REFRESH_WARNED", False)):
        if hasattr(_auth, name):
            setattr(_auth, name, value)


@pytest.fixture(autouse=True)
def _markers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Generator[None, None, None]:
    """The upstream markers: ``xet`` (needs hf_xet, Xet on), ``no_xet`` (needs hf_xet absent), ``git_lfs``
    (opt-in), ``deprecated(...)`` (the test must warn about the named functions)."""
    node = request.node
    if node.get_closest_marker("xet") is not None:
        try:
            import hf_xet  # noqa: F401
        except ImportError:
            pytest.skip("needs hf_xet")
        monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
        monkeypatch.delenv("HF_HUB_DISABLE_XET", raising=False)
    if node.get_closest_marker("no_xet") is not None:
        try:
            import hf_xet  # noqa: F401
        except ImportError:
            pass
        else:
            pytest.skip("must run without hf_xet installed")
    if node.get_closest_marker("git_lfs") is not None and os.environ.get("RUN_GIT_LFS_TESTS") != "1":
        pytest.skip("git-lfs test (set RUN_GIT_LFS_TESTS=1 to run)")
    names = [name for marker in node.iter_markers("deprecated") for name in marker.args]
    if not names:
        yield
        return
    from contextlib import ExitStack

    with ExitStack() as stack:
        for name in names:
            stack.enter_context(pytest.warns(FutureWarning, match=rf".*'{name}'.*"))
        yield


@pytest.fixture(scope="session")
def api() -> HfApi:
    """The suite's main user, authenticated."""
    return HfApi(endpoint=_ENDPOINT, token=testing_constants.TOKEN)


@pytest.fixture(scope="session")
def api_prod() -> HfApi:
    return HfApi(endpoint=testing_constants.ENDPOINT_PRODUCTION)


class RepoFactory(Protocol):
    """``repo_factory(repo_type="model", **create_repo_kwargs) -> RepoUrl``; the repos are deleted afterwards."""

    def __call__(self, repo_type: str = "model", **kwargs: Any) -> RepoUrl: ...


@pytest.fixture
def repo_factory(api: HfApi) -> Generator[RepoFactory, None, None]:
    created: list[tuple[str, str, str | None]] = []

    def factory(repo_type: str = "model", **kwargs: Any) -> RepoUrl:
        if repo_type == "space" and "space_sdk" not in kwargs:
            kwargs["space_sdk"] = "gradio"
        kwargs.setdefault("repo_id", repo_name(prefix=repo_type))
        url = api.create_repo(repo_type=repo_type, **kwargs)
        created.append((url.repo_id, repo_type, kwargs.get("token")))
        return url

    yield factory
    for repo_id, repo_type, token in created:
        try:
            api.delete_repo(repo_id=repo_id, repo_type=repo_type, token=token, missing_ok=True)
        except Exception:  # cleanup only: the test's own outcome is what counts
            pass


@pytest.fixture
def new_repo_id(api: HfApi) -> Generator[str, None, None]:
    """A repo id of the suite's user that does not exist yet (the test creates it); deleted afterwards."""
    repo_id = f"{testing_constants.USER}/{repo_name()}"
    yield repo_id
    try:
        api.delete_repo(repo_id=repo_id, missing_ok=True)
    except Exception:  # cleanup only
        pass
