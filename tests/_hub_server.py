"""A live modelyard hub for tests (pytest plugin, registered in ``tests/conftest.py``).

Fixtures
--------
``hub_server`` (session scope)
    A real uvicorn server on ``127.0.0.1:<free port>`` over a temp data folder, with user ``alice``, her
    organisation ``acme`` and a write token. Repos persist for the whole session: give yours a unique name
    (``hub_server.repo_id("my-test")``). Regular uploads go up to 10 MiB; LFS uses multipart from 16 MiB.
``MODELYARD_TEST_HUB_BACKEND=postgres`` runs every test hub on a fresh PostgreSQL database instead
(``postgres+s3``: and its blobs in a fresh bucket of an S3 server).
``hub_env`` (function scope)
    ``hub_server`` with ``hub_server.env()`` active for the test.

``HubServer`` API (stable)
--------------------------
``url``, ``token`` (alice's write token), ``user`` (``"alice"``), ``org`` (``"acme"``), ``data_dir``;
``add_user(name, orgs=()) -> str`` creates a user (and missing orgs) and returns a write token for it;
``create_token(user, role="write") -> str``; ``repo_id(prefix, namespace=None) -> str`` a fresh
``namespace/prefix-N``; ``api(token=...) -> HfApi`` bound to the server; ``env(token=..., disable_xet=False)``
a context manager that sets ``HF_ENDPOINT``, ``HF_TOKEN`` (and ``HF_HUB_DISABLE_XET=1`` with
``disable_xet=True``) *and* patches the copies ``huggingface_hub.constants`` took at import time
(``ENDPOINT``, ``HUGGINGFACE_CO_URL_TEMPLATE``, ``HF_HUB_DISABLE_XET``), so code that relies on the client's
defaults talks to this server as users run it: large files through Xet. Without it,
pass ``endpoint=hub_server.url`` explicitly (the suite-wide autouse fixture points HF_ENDPOINT at a dead
address).
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

MiB = 1024 * 1024


def backend_settings() -> dict[str, Any]:
    """``MODELYARD_TEST_HUB_BACKEND=postgres``: each test hub gets a fresh database on a real PostgreSQL server
    (``tests/_backing_servers.py``) instead of its SQLite file, so the hub suite runs against that backend too."""
    backend = os.environ.get("MODELYARD_TEST_HUB_BACKEND", "sqlite")
    if backend == "sqlite":
        return {}
    if backend in ("postgres", "postgres+s3"):
        from _backing_servers import migrated_database, s3_blob_store

        settings: dict[str, Any] = {"database_url": migrated_database()}
        if backend == "postgres+s3":
            # The suite's raw HTTP checks expect the hub to take and serve bytes itself; the presigned uploads and
            # redirects the S3 store answers with by default are tested on their own (test_hub_replicas.py,
            # test_hub_direct_uploads.py), with the stock client.
            settings.update(blob_store=s3_blob_store(), blob_redirects=False, direct_uploads=False)
        return settings
    raise ValueError(f"MODELYARD_TEST_HUB_BACKEND={backend!r}: use sqlite, postgres or postgres+s3")


class HubServer:
    """Handle on a running hub; see the module docstring."""

    user = "alice"
    org = "acme"

    def __init__(self, data_dir: Path, **settings: Any) -> None:
        import uvicorn

        from modelyard.server.app import create_app
        from modelyard.server.config import HubSettings

        self.data_dir = Path(data_dir)
        settings = {**backend_settings(), **settings}
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._sock = sock
        port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.settings = HubSettings(data_dir=self.data_dir, port=port, **settings)
        self.app = create_app(self.settings)
        self.storage = self.app.state.hub.storage
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off",
                                timeout_keep_alive=30)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True,
                                        name="modelyard-hub")
        self._counter = itertools.count(1)
        self.token = ""

    def start(self, *, seed: bool = True) -> HubServer:
        """Serve; with ``seed``, create alice, acme and alice's token (a hub whose database has them already
        passes False and sets ``token`` itself)."""
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"The test hub at {self.url} did not start; see the log above.")
            time.sleep(0.02)
        if not seed:
            return self
        self.storage.accounts.add_namespace(self.user, "user")
        self.storage.accounts.add_namespace(self.org, "org")
        self.storage.accounts.add_member(self.org, self.user)
        self.token = self.create_token(self.user)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._sock.close()

    # -- helpers --------------------------------------------------------------------------------------
    def admin_environment(self) -> dict[str, str]:
        """The settings an operator's environment gives the admin commands (``modelyard hub ...``) so that they
        act on this hub's backends: its database and blob store when they are not the data folder's."""
        env = {}
        if self.settings.database_url:
            env["MODELYARD_HUB_DATABASE_URL"] = self.settings.database_url
        if self.settings.blob_store:
            env["MODELYARD_HUB_BLOB_STORE"] = self.settings.blob_store
        return env

    def create_token(self, user: str, role: str = "write") -> str:
        return self.storage.tokens.create(user, role)

    def add_user(self, name: str, orgs: tuple[str, ...] | list[str] = ()) -> str:
        if self.storage.accounts.namespace_kind(name) is None:
            self.storage.accounts.add_namespace(name, "user")
        for org in orgs:
            if self.storage.accounts.namespace_kind(org) is None:
                self.storage.accounts.add_namespace(org, "org")
            self.storage.accounts.add_member(org, name)
        return self.create_token(name)

    def repo_id(self, prefix: str = "repo", namespace: str | None = None) -> str:
        return f"{namespace or self.user}/{prefix}-{next(self._counter)}"

    def api(self, token: str | None | bool = None) -> Any:
        from huggingface_hub import HfApi

        return HfApi(endpoint=self.url, token=self.token if token is None else token)

    @contextmanager
    def env(self, token: str | None = None, *, disable_xet: bool = False) -> Iterator[HubServer]:
        from huggingface_hub import constants

        saved_env = {k: os.environ.get(k) for k in ("HF_ENDPOINT", "HF_TOKEN", "HF_HUB_DISABLE_XET")}
        saved_consts = {k: getattr(constants, k) for k in ("ENDPOINT", "HUGGINGFACE_CO_URL_TEMPLATE",
                                                            "HF_HUB_DISABLE_XET")}
        os.environ["HF_ENDPOINT"] = self.url
        os.environ["HF_TOKEN"] = token or self.token
        if disable_xet:
            os.environ["HF_HUB_DISABLE_XET"] = "1"
        else:
            os.environ.pop("HF_HUB_DISABLE_XET", None)
        constants.ENDPOINT = self.url
        constants.HUGGINGFACE_CO_URL_TEMPLATE = self.url + "/{repo_id}/resolve/{revision}/{filename}"
        constants.HF_HUB_DISABLE_XET = disable_xet
        try:
            yield self
        finally:
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            for key, value in saved_consts.items():
                setattr(constants, key, value)


class SubprocessHub:
    """``modelyard hub serve`` in a child process (to kill -9 it, or read its logs); output goes to ``log``."""

    def __init__(self, data_dir: Path, *, log_level: str = "warning", env: dict[str, str] | None = None) -> None:
        self.env = env
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.data_dir = data_dir
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"{data_dir.name}-serve.log"
        self.log_level = log_level
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        import httpx

        cmd = [sys.executable, "-m", "modelyard.cli.main", "hub", "serve", "--port", str(self.port),
               "--data-dir", str(self.data_dir), "--log-level", self.log_level]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                         env=None if self.env is None else {**os.environ, **self.env})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    assert f"serving at {self.url}" in self.log.read_text()
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
            if self.proc.poll() is not None:
                break
        raise RuntimeError(f"hub subprocess did not start:\n{self.log.read_text()}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Graceful stop (SIGINT), so every log line is written."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


@pytest.fixture(scope="session")
def hub_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    server = HubServer(tmp_path_factory.mktemp("hub-data"), lfs_multipart_threshold=16 * MiB,
                       lfs_chunk_size=6 * MiB).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def unsafe_pickles_marked(hub_server: HubServer, monkeypatch: pytest.MonkeyPatch) -> HubServer:
    """``hub_server`` accepting pickles that run code, and marking them (``unsafe_pickles="mark"``, as the
    Hugging Face Hub does) for this test; by default such commits are refused."""
    monkeypatch.setattr(hub_server.settings, "unsafe_pickles", "mark")
    return hub_server


@pytest.fixture
def hub_env(hub_server: HubServer) -> Iterator[HubServer]:
    with hub_server.env():
        yield hub_server
