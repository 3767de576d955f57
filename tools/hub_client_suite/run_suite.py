"""Run huggingface_hub's own test suite against a loopback modelyard hub and print the counts.

    python tools/hub_client_suite/run_suite.py [--module test_hf_api.py ...] [-k EXPR] [--keep]
                                               [--backend sqlite|postgres+s3]

1. Downloads the source distribution of the *installed* huggingface_hub from PyPI (``pip download --no-binary``)
   into ``build/hub-client-suite/`` (git-ignored; reused by later runs) and unpacks it there.
2. Starts ``modelyard hub serve`` on a free loopback port over a temp data folder, with the users, organisation and
   tokens the tests expect (``testing_constants.py``: USER with FULL_NAME in the organisation ``valid_org_hub``,
   OTHER_USER, ENTERPRISE_USER in ENTERPRISE_ORG, which makes its repositories private by default).
   ``--backend postgres+s3`` (or ``SUITE_BACKEND``) runs the hub on a throwaway PostgreSQL cluster and moto's S3
   server instead of SQLite and files.
3. Copies ``suite_conftest.py`` as the tests' ``conftest.py`` (the sdist does not ship it): it patches only
   constants and fixtures (endpoint, tokens, cache folders), never test logic. The tests listed in
   ``excluded.txt`` (production data or a product the hub does not offer, each with its reason) and those
   marked ``production`` are reported as skipped.
4. Runs the selected modules (``MODULES`` below) with pytest and prints passed/failed/skipped per module and the
   total; exits 1 when any selected test failed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CACHE = ROOT / "build" / "hub-client-suite"

# The modules about the Hub's HTTP API: repositories, commits, uploads, downloads and the cache they fill, cards,
# discussions (through the CLI too), the file system and the model mixins.
# Left out: inference, jobs, endpoints, buckets, kernels, webhooks, OAuth, sandbox (products the hub does not
# offer), test_cli.py (the CLI's commands against a mocked HfApi and its terminal formatting; the CLI's calls to a
# hub are those of HfApi, tested here) and the pure utility modules (they make no Hub call).
MODULES = (
    "test_hf_api.py",
    "test_commit_api.py",
    "test_file_download.py",
    "test_snapshot_download.py",
    "test_cache_layout.py",
    "test_shared_blobs.py",
    "test_upload_pipeline.py",
    "test_commit_scheduler.py",
    "test_copy_files.py",
    "test_repocard.py",
    "test_repocard_data.py",
    "test_cli_discussions.py",
    "test_hf_file_system.py",
    "test_hub_mixin.py",
    "test_hub_mixin_pytorch.py",
    "test_lfs.py",
    "test_xet_upload.py",
    "test_xet_download.py",
    "test_auth.py",
)

USER, FULL_NAME = "__DUMMY_HUB_USER__", "Dummy User"
OTHER_USER = "DVUser"
ENTERPRISE_USER, ENTERPRISE_ORG = "EnterpriseAdmin", "EnterpriseOrgPrivate"  # the org makes repos private
VALID_ORG, VALID_ORG_FULL_NAME = "valid_org_hub", "Dummy Hub Org"  # test_whoami_with_passing_token


def _sdist(version: str) -> Path:
    """The unpacked sdist's folder, fetched once per version."""
    folder = CACHE / f"huggingface_hub-{version}"
    if (folder / "tests").is_dir():
        return folder
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                        f"huggingface_hub=={version}", "-d", tmp], check=True)
        (archive,) = Path(tmp).glob("huggingface_hub-*.tar.gz")
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        unpacked = Path(tmp) / f"huggingface_hub-{version}"
        if not (unpacked / "tests").is_dir():
            raise SystemExit(f"The sdist of huggingface_hub {version} has no tests/ folder; cannot run its suite.")
        unpacked.rename(folder)
    return folder


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _modelyard(data_dir: Path, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "modelyard.cli.main", "hub", *args, "--data-dir", str(data_dir)],
                            check=True, capture_output=True, text=True)
    return result.stdout


def _token(data_dir: Path, user: str) -> str:
    out = _modelyard(data_dir, "token", "create", "--user", user)
    return out.split()[0]  # the token itself is the first word printed


def _start_hub(data_dir: Path, log) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "modelyard.cli.main", "hub", "serve", "--data-dir", str(data_dir),
                             "--port", str(port), "--log-level", "warning"], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"The hub exited with {proc.returncode}; see {log.name}.")
        try:
            with urllib.request.urlopen(url + "/api/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit(f"The hub did not answer on {url} within 60 s; see {log.name}.")


def _excluded(junit: Path) -> list[tuple[str, str]]:
    """(test id, reason) of every excluded test of a run, in the suite's order."""
    out = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        for child in case:
            message = child.get("message") or ""
            if child.tag == "skipped" and "[excluded]" in message:
                module = (case.get("classname") or "").removeprefix("tests.").split(".")
                test_id = "::".join([module[0] + ".py", *module[1:], case.get("name") or "?"])
                out.append((test_id, message.split("[excluded]", 1)[1].strip()))
    return out


def _counts(junit: Path) -> dict[str, Counter]:
    per_module: dict[str, Counter] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        module = (case.get("classname") or "").split(".")
        name = next((part + ".py" for part in module if part.startswith("test_")), "?")
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
            elif child.tag == "skipped":
                outcome = "excluded" if "[excluded]" in (child.get("message") or "") else "skipped"
        per_module.setdefault(name, Counter())[outcome] += 1
    return per_module


def _backend(kind: str, work: Path) -> tuple[dict[str, str], list]:
    """The hub's settings (environment) for ``kind`` and the servers started for it (to stop at the end).

    ``postgres+s3``: a throwaway PostgreSQL cluster and moto's S3 server, as the hub's own scale-out tests start
    them (``tests/_backing_servers.py``); the hub runs with its S3 defaults (presigned downloads and direct
    uploads from the client to the bucket)."""
    if kind == "sqlite":
        return {}, []
    sys.path.insert(0, str(ROOT / "tests"))
    from _backing_servers import PostgresServer, S3Server, postgres_bin_dir

    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise SystemExit("--backend postgres+s3 needs PostgreSQL (Debian's postgresql package; `make servers`).")
    # Its own temp folder: PostgreSQL runs as nobody when this runs as root, and the work folder is private.
    postgres = PostgresServer(bin_dir, Path(tempfile.mkdtemp(prefix="hub-client-suite-pg-"))).start()
    servers: list = [postgres]
    try:
        s3 = S3Server().start()
        servers.append(s3)
        env = {**s3.env(), "MODELYARD_HUB_DATABASE_URL": postgres.new_database(),
               "MODELYARD_HUB_BLOB_STORE": f"s3://{s3.new_bucket()}/blobs"}
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return env, servers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", help="a module of the suite (default: the selected list)")
    parser.add_argument("-k", dest="keyword", default=None, help="pytest -k expression")
    parser.add_argument("--keep", action="store_true", help="keep the hub's data folder and log")
    parser.add_argument("--workers", default=os.environ.get("SUITE_WORKERS"),
                        help="pytest-xdist workers, when installed (default: none)")
    parser.add_argument("--backend", choices=("sqlite", "postgres+s3"), default=os.environ.get("SUITE_BACKEND",
                        "sqlite"), help="the hub's storage: SQLite and files (default), or PostgreSQL and S3")
    args, extra = parser.parse_known_args(argv)

    version = importlib.metadata.version("huggingface_hub")
    suite = _sdist(version)
    tests = suite / "tests"
    (tests / "__init__.py").touch()
    shutil.copyfile(HERE / "suite_conftest.py", tests / "conftest.py")
    modules = args.module or list(MODULES)

    work = Path(tempfile.mkdtemp(prefix="hub-client-suite-"))
    data_dir = work / "hub"
    log_path = work / "hub.log"
    backend_env, servers = _backend(args.backend, work)
    os.environ.update(backend_env)  # for the admin commands and the hub alike
    try:
        return _run(args, extra, version, suite, modules, work, data_dir, log_path)
    finally:
        for server in servers:
            server.stop()
            if hasattr(server, "root"):  # the PostgreSQL cluster's folder
                shutil.rmtree(server.root, ignore_errors=True)


def _run(args: argparse.Namespace, extra: list[str], version: str, suite: Path, modules: list[str], work: Path,
         data_dir: Path, log_path: Path) -> int:
    if args.backend != "sqlite":
        _modelyard(data_dir, "migrate")
    _modelyard(data_dir, "user", "add", USER, "--fullname", FULL_NAME)
    _modelyard(data_dir, "user", "add", OTHER_USER)
    _modelyard(data_dir, "user", "add", ENTERPRISE_USER)
    _modelyard(data_dir, "org", "add", VALID_ORG, "--fullname", VALID_ORG_FULL_NAME, "--member", USER)
    _modelyard(data_dir, "org", "add", ENTERPRISE_ORG, "--member", ENTERPRISE_USER, "--private-by-default")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "HUGGING"))}
    junit = work / "junit.xml"
    with open(log_path, "w") as log:
        env.update(
            MODELYARD_SUITE_TOKEN=_token(data_dir, USER),
            MODELYARD_SUITE_OTHER_TOKEN=_token(data_dir, OTHER_USER),
            MODELYARD_SUITE_ENTERPRISE_TOKEN=_token(data_dir, ENTERPRISE_USER),
            MODELYARD_SUITE_EXCLUDED=str(HERE / "excluded.txt"),
            HF_HUB_DISABLE_TELEMETRY="1",
            DISABLE_SYMLINKS_IN_WINDOWS_TESTS="1",
        )
        hub, url = _start_hub(data_dir, log)
        env.update(MODELYARD_SUITE_ENDPOINT=url, HF_ENDPOINT=url)
        print(f"huggingface_hub {version} suite ({suite}) against {url} ({args.backend})", flush=True)
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "-q",
                   "-W", "error::FutureWarning", "--strict-markers", "--timeout=300", "-rN",
                   f"--junitxml={junit}", *[f"tests/{m}" for m in modules], *extra]
        if args.keyword:
            command += ["-k", args.keyword]
        if args.workers:
            command += ["-n", args.workers]
        try:
            subprocess.run(command, cwd=suite, env=env, check=False)
        finally:
            hub.terminate()
            hub.wait(timeout=30)

    per_module = _counts(junit) if junit.exists() else {}
    excluded = _excluded(junit) if junit.exists() else []
    if excluded:
        listing = CACHE / "excluded-tests.txt"
        listing.write_text("".join(f"{test_id}  # {reason}\n" for test_id, reason in excluded))
        print("\nexcluded, by reason (each test in " + str(listing.relative_to(ROOT)) + "):")
        for reason, n in Counter(reason for _, reason in excluded).most_common():
            print(f"{n:6}  {reason}")
    total: Counter = Counter()
    print(f"\n{'module':32} {'passed':>7} {'failed':>7} {'skipped':>8} {'excluded':>9}")
    for name in sorted(per_module):
        c = per_module[name]
        total.update(c)
        print(f"{name:32} {c['passed']:7} {c['failed']:7} {c['skipped']:8} {c['excluded']:9}")
    print(f"{'total':32} {total['passed']:7} {total['failed']:7} {total['skipped']:8} {total['excluded']:9}")
    ran = total["passed"] + total["failed"]
    print(f"huggingface_hub {version}: {total['passed']} of {ran} selected tests pass against the hub on {args.backend} "
          f"({total['excluded']} excluded with a reason, {total['skipped']} skipped by the suite itself).")
    if args.keep:
        print(f"hub data and log kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if total["failed"] or not ran else 0


if __name__ == "__main__":
    sys.exit(main())
