"""Real backing servers for the hub's scale-out tests (pytest plugin, registered in ``tests/conftest.py``).

Fixtures (session scope)
------------------------
``postgres_server``
    A PostgreSQL server from Debian's ``postgresql`` package (``make test`` installs it): ``initdb`` into a temp
    folder, listening on a free loopback port, stopped at the end of the session. ``new_database()`` creates a
    fresh database and returns its URL.
``s3_server``
    moto's S3-compatible server (``moto[server]``, in the test extra) over HTTP on loopback.
    ``new_bucket()`` creates a fresh bucket and returns its name; ``env()`` the AWS settings that point boto3 at it.
    With ``MODELYARD_TEST_S3=s3rver``: the npm package ``s3rver`` instead (``make s3rver`` installs it into
    ``.s3rver/``), a file-backed server that streams objects from disk. moto keeps every object in one buffer and
    reads it whole for each request, ranged GETs included, so large objects (hundreds of MiB, fetched by boto3 in
    8 MiB ranges from ten threads) cost it gigabytes of copying per download; ``benchmarks/bench_hub_scale.py``
    measures its 1 GiB download on s3rver. (Two direct-upload tests need S3 behaviour s3rver lacks: see
    :class:`S3rverServer`.)

A test that needs one skips only when the server binary truly is not installed, saying why; the
``MODELYARD_TEST_REQUIRE_SERVERS=1`` setting (CI) turns that skip into a failure.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NoReturn

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("MODELYARD_TEST_REQUIRE_SERVERS") == "1":
        pytest.fail(f"{reason} (MODELYARD_TEST_REQUIRE_SERVERS=1 needs it)")
    print(f"\nSKIP: {reason}", file=sys.stderr)
    pytest.skip(reason)


def postgres_bin_dir() -> Path | None:
    """Debian's ``/usr/lib/postgresql/<version>/bin`` (the newest), or the folder of ``initdb`` on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


class PostgresServer:
    """A throwaway PostgreSQL cluster (trust authentication on loopback, byte-order collation)."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.user = "modelyard"
        self._names = itertools.count(1)

    def start(self) -> PostgresServer:
        run = self._runner()
        run([str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", self.user, "--auth=trust", "--locale=C",
             "--encoding=UTF8"])
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.root}'\n"
                       "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 400\n")
        run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60",
             "start"])
        return self

    def stop(self) -> None:
        self._runner()([str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def new_database(self, prefix: str = "hub") -> str:
        """Create an empty database; returns its URL."""
        import psycopg

        name = f"{prefix}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def _runner(self):  # noqa: ANN202 - a small closure
        # PostgreSQL refuses to run as root: the tests run it as nobody when they are root (containers, CI).
        def run(cmd: list[str]) -> None:
            if os.geteuid() == 0:
                subprocess.run(["chown", "-R", "nobody", str(self.root)], check=True)
                cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            if done.returncode != 0:
                log = (self.root / "log").read_text() if (self.root / "log").exists() else ""
                raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr}{done.stdout}{log}")
        return run


class S3Server:
    """moto's S3 server in a child process."""

    name = "moto's S3 server"

    access_key = "modelyard-test"
    secret_key = "modelyard-test-secret"
    region = "us-east-1"

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen | None = None
        self._names = itertools.count(1)

    @property
    def pid(self) -> int | None:
        """The server process's id (its CPU time is in ``/proc/<pid>/stat``)."""
        return None if self._proc is None else self._proc.pid

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]

    def start(self) -> S3Server:
        self._proc = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                if self._proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self._proc.returncode}") from None
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not listen within 60 s")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=15)

    def env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.url, "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key, "AWS_REGION": self.region}

    def client(self):  # noqa: ANN201 - a boto3 client
        import boto3

        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, region_name=self.region)

    def new_bucket(self, prefix: str = "hub") -> str:
        name = f"{prefix}-{next(self._names)}"
        self.client().create_bucket(Bucket=name)
        return name


S3RVER_VERSION = "3.7.1"  # what `make s3rver` installs (npm)
S3RVER_INSTALL = "make s3rver (npm install --prefix .s3rver s3rver@" + S3RVER_VERSION + "; needs Node.js and npm)"


def s3rver_bin() -> Path | None:
    """The ``s3rver`` command: ``$MODELYARD_S3RVER``, ``.s3rver/`` of the repository (``make s3rver``), or PATH."""
    if configured := os.environ.get("MODELYARD_S3RVER"):
        return Path(configured)
    local = Path(__file__).resolve().parent.parent / ".s3rver" / "node_modules" / ".bin" / "s3rver"
    if local.exists():
        return local
    on_path = shutil.which("s3rver")
    return Path(on_path) if on_path else None


class S3rverServer(S3Server):
    """The npm package ``s3rver`` in a child process: objects are files in a temp folder, streamed from disk.

    Its credentials are fixed (``S3RVER``/``S3RVER``). Where it differs from S3 (so the tests stay on moto): it
    answers no ``ChecksumSHA256`` on copies (the hub then reads a direct upload back to hash it), implements no
    ``ListMultipartUploads`` (garbage collection's sweep of abandoned uploads needs it), and completes a multipart
    upload from a subset of its parts (S3 and moto refuse a missing part)."""

    name = "s3rver"
    access_key = "S3RVER"
    secret_key = "S3RVER"

    def __init__(self, binary: Path) -> None:
        super().__init__()
        self.binary = binary
        self.root = Path(tempfile.mkdtemp(prefix="modelyard-s3rver-"))

    def command(self) -> list[str]:
        return [str(self.binary), "--directory", str(self.root), "--address", "127.0.0.1", "--port", str(self.port),
                "--silent", "--no-vhost-buckets"]

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.root, ignore_errors=True)


def s3_server_of_kind(kind: str) -> S3Server:
    """A (not yet started) S3 server: ``moto`` or ``s3rver``; RuntimeError saying how to install a missing one."""
    if kind == "moto":
        try:
            import moto.server  # noqa: F401
        except ImportError as err:
            raise RuntimeError(f"moto[server] is not installed ({err}); `pip install -e .[test]` installs it") from None
        return S3Server()
    if kind == "s3rver":
        binary = s3rver_bin()
        if binary is None:
            raise RuntimeError(f"s3rver is not installed: {S3RVER_INSTALL}, or set MODELYARD_S3RVER to its command")
        return S3rverServer(binary)
    raise RuntimeError(f"unknown S3 server {kind!r}: use moto or s3rver")


_SHARED: dict[str, PostgresServer | S3Server] = {}


def shared_postgres() -> PostgresServer:
    """The session's PostgreSQL server, started on first use (stopped when pytest ends)."""
    if "postgres" not in _SHARED:
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            _unavailable("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); `make test` installs "
                         "Debian's postgresql package")
        _SHARED["postgres"] = PostgresServer(bin_dir, Path(tempfile.mkdtemp(prefix="modelyard-pg-"))).start()
    return _SHARED["postgres"]  # type: ignore[return-value]


def shared_s3() -> S3Server:
    """The session's S3 server, started on first use (stopped when pytest ends)."""
    if "s3" not in _SHARED:
        try:
            server = s3_server_of_kind(os.environ.get("MODELYARD_TEST_S3", "moto"))
        except RuntimeError as err:
            _unavailable(str(err))
        _SHARED["s3"] = server.start()
    return _SHARED["s3"]  # type: ignore[return-value]


def migrated_database() -> str:
    """A fresh database on the shared PostgreSQL server, at the hub's schema head."""
    from modelyard.server.storage import Storage

    url = shared_postgres().new_database()
    Storage(url, migrate=True).close()
    return url


def s3_blob_store() -> str:
    """A fresh bucket on the shared S3 server as a ``MODELYARD_HUB_BLOB_STORE`` value; points this process's
    AWS settings at that server (what an operator's environment does for the hub)."""
    server = shared_s3()
    os.environ.update(server.env())
    return f"s3://{server.new_bucket()}/blobs"


def pytest_unconfigure(config: pytest.Config) -> None:
    for server in _SHARED.values():
        server.stop()
        if isinstance(server, PostgresServer):
            shutil.rmtree(server.root, ignore_errors=True)
    _SHARED.clear()


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    return shared_postgres()


@pytest.fixture(scope="session")
def s3_server() -> S3Server:
    return shared_s3()
