"""Server time of the hub's web pages on a big repository: 10,000 files and 2,000 commits.

The repository is written through the hub's own storage layer (``Storage.create_repo`` / ``Storage.commit``,
the code path every API commit takes, history index included): a first commit with ``--files`` files (a flat
``data/`` folder of 80% of them, the rest in ``nested/aN/bN/``, and a card, config and weights at the root),
then ``--commits`` - 2 commits changing 1-5 files each (seeded, so every build is the same). Blob files
are written straight into the store's layout (setting them up with an fsync each would take minutes) and their
content kinds recorded, as the commit API's scan records them at upload. The build is kept in ``--data-dir``
and reused when its parameters match.

Each page is requested in a fresh process (a restart: nothing imported, compiled or cached beyond what the
app's start-up does, which runs to its end before the first request, as uvicorn runs it before it listens;
the request comes a second later, as a first visitor would) on a new worker thread: the *cold* column, the
median of ``--cold-runs`` processes. Then ``--repeats`` more times in each process (*warm*: median and
slowest of them all). Server time is measured inside the ASGI app, from the request's arrival to the last byte
of the answer (no client or network time). Target: under 100 ms per page, cold and warm.

    .venv/bin/python benchmarks/bench_web.py [--files 10000] [--commits 2000] [--repeats 20] [--cold-runs 3]
                                             [--data-dir DIR] [--save]

The header says how the build's trees are stored (``blob``: packed, ``text``: the JSON of older databases,
which the hub still reads): a build made by older code measures the reading of an older database.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE / "results" / "web-data"
REPO = "bench/big-model"
TARGET_MS = 100.0


def _layout(files: int) -> list[str]:
    flat = int(files * 0.8)
    paths = [f"data/file-{i:05}.txt" for i in range(flat)]
    nested = files - flat - 3
    paths += [f"nested/a{i % 10}/b{(i // 10) % 10}/file-{i:05}.txt" for i in range(nested)]
    return paths + ["README.md", "config.json", "model.safetensors"]


def _content(path: str, version: int) -> bytes:
    if path == "README.md":
        return (f"---\nlicense: mit\nlibrary_name: modelyard\npipeline_tag: text-classification\n---\n# Big model\n\n"
                f"Version {version}. A repository with many files and a long history.\n").encode()
    if path == "config.json":
        return json.dumps({"model_type": "bert", "architectures": ["BertForSequenceClassification"],
                           "version": version}).encode()
    if path == "model.safetensors":
        header = json.dumps({"w": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]}}).encode()
        return len(header).to_bytes(8, "little") + header + bytes(64)
    return f"{path} version {version}\n".encode()


def build(data_dir: Path, files: int, commits: int, seed: int = 0) -> None:
    """Write the benchmark repository (see the module docstring); reuse an identical earlier build."""
    from modelyard.server.config import HubSettings
    from modelyard.server.gitobjects import FileEntry, git_blob_oid
    from modelyard.server.service import Hub
    from modelyard.server.storage import NewCommit

    marker = data_dir / "bench-web.json"
    # version 2: the content kinds of the blobs are recorded, as the commit API's scan does at upload time
    wanted = {"files": files, "commits": commits, "seed": seed, "version": 2}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return
    shutil.rmtree(data_dir, ignore_errors=True)
    hub = Hub(HubSettings(data_dir=data_dir))
    storage, store = hub.storage, hub.store
    namespace, name = REPO.split("/")
    storage.accounts.add_namespace(namespace, "user")
    repo = storage.repos.create("model", namespace, name, private=False, author=namespace,
                               initial_blob=hub.gitattributes_blob)
    assert repo is not None

    def entry(path: str, version: int) -> FileEntry:
        import hashlib

        content = _content(path, version)
        sha = hashlib.sha256(content).hexdigest()
        blob = store.path(sha)
        if not blob.exists():
            blob.parent.mkdir(parents=True, exist_ok=True)
            blob.write_bytes(content)
        return FileEntry(sha, len(content), git_blob_oid(content), False)

    paths = _layout(files)
    started = time.perf_counter()
    print(f"building {REPO}: {files} files, {commits} commits in {data_dir} ...", flush=True)
    first = {p: entry(p, 0) for p in paths}
    hub.content_scan_exts(first.values())
    storage.commits.commit(repo, "refs/heads/main", lambda head, manifest: NewCommit(
        {**manifest, **first}, namespace, f"Add {files} files", ""))
    rng = random.Random(seed)
    versions = dict.fromkeys(paths, 0)
    for n in range(commits - 2):
        changed = rng.sample(paths, rng.randint(1, 5))
        updates = {}
        for path in changed:
            versions[path] += 1
            updates[path] = entry(path, versions[path])
        hub.content_scan_exts(updates.values())
        storage.commits.commit(repo, "refs/heads/main", lambda head, manifest, updates=updates, n=n: NewCommit(
            {**manifest, **updates}, namespace, f"Update {len(updates)} file(s) (step {n})", f"step {n}"))
        if n % 200 == 199:
            print(f"  {n + 3} commits, {time.perf_counter() - started:.0f} s", flush=True)
    marker.write_text(json.dumps(wanted))
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)


class Timed:
    """ASGI wrapper recording the server time of each request (arrival to the last body byte)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last: float = 0.0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()

        async def timed_send(message: dict[str, Any]) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.last = time.perf_counter() - start

        await self.app(scope, receive, timed_send)


def pages(files: int, commits: int) -> list[tuple[str, str]]:
    data_pages = int(files * 0.8) // 100
    history_pages = commits // 50
    return [
        ("model page (card, snippet, weights)", f"/{REPO}"),
        ("tree: root", f"/{REPO}/tree/main"),
        ("tree: data/ (first 100 of 8000)", f"/{REPO}/tree/main/data"),
        ("tree: data/ page in the middle", f"/{REPO}/tree/main/data?p={data_pages // 2}"),
        ("tree: nested/a3/b7", f"/{REPO}/tree/main/nested/a3/b7"),
        ("commits: first page", f"/{REPO}/commits/main"),
        ("commits: middle page", f"/{REPO}/commits/main?p={history_pages // 2}"),
        ("commits: last page", f"/{REPO}/commits/main?p={history_pages - 1}"),
        ("commits of one file", f"/{REPO}/commits/main/config.json"),
        ("commit: changed files + diffs", f"/{REPO}/commit/main"),
        ("blob: config.json", f"/{REPO}/blob/main/config.json"),
    ]


def measure_once(data_dir: Path, path: str, repeats: int) -> dict[str, Any]:
    """One fresh app in this process: the first request to ``path`` (cold), then ``repeats`` more (warm)."""
    from fastapi.testclient import TestClient

    from modelyard.server.app import create_app
    from modelyard.server.config import HubSettings

    timed = Timed(create_app(HubSettings(data_dir=data_dir)))
    with TestClient(timed, headers={"Accept": "text/html"}) as client:  # runs the app's start-up (lifespan)
        time.sleep(1.0)
        answer = client.get(path)
        if answer.status_code != 200:
            raise SystemExit(f"{path} answered {answer.status_code}: {answer.text[:500]}")
        cold = timed.last
        warm = []
        for _ in range(repeats):
            client.get(path)
            warm.append(timed.last)
    return {"cold_ms": cold * 1000, "warm_ms": [w * 1000 for w in warm], "bytes": len(answer.content)}


def measure(data_dir: Path, path: str, repeats: int, cold_runs: int) -> dict[str, Any]:
    """``cold_runs`` fresh processes (see :func:`measure_once`): median cold, median and slowest warm."""
    runs = []
    for _ in range(cold_runs):
        child = subprocess.run([sys.executable, __file__, "--one", path, "--data-dir", str(data_dir),
                                "--repeats", str(repeats)], capture_output=True, text=True, check=False)
        if child.returncode != 0:
            raise SystemExit(f"measuring {path} failed:\n{child.stdout}{child.stderr}")
        runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
    warm = [w for run in runs for w in run["warm_ms"]]
    return {"cold_ms": statistics.median(r["cold_ms"] for r in runs), "cold_runs_ms": [r["cold_ms"] for r in runs],
            "warm_median_ms": statistics.median(warm), "warm_max_ms": max(warm), "bytes": runs[0]["bytes"]}


def tree_storage(data_dir: Path) -> str:
    """How the build's trees are stored, e.g. ``2000 blob`` (packed) or ``2000 text`` (JSON)."""
    db = sqlite3.connect(data_dir / "hub.sqlite")
    try:
        rows = db.execute("SELECT typeof(manifest), COUNT(*) FROM trees GROUP BY 1").fetchall()
    finally:
        db.close()
    return ", ".join(f"{count} {kind}" for kind, count in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--commits", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--cold-runs", type=int, default=3, help="fresh processes per page (the cold column)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--one", metavar="PATH", help=argparse.SUPPRESS)  # a child of measure()
    parser.add_argument("--save", action="store_true", help="write the figures to benchmarks/results/bench_web.json")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_once(args.data_dir, args.one, args.repeats)))
        return
    if args.commits < 52 or args.files < 1000:
        parser.error("use at least 1000 files and 52 commits (the pages measured need that many)")
    build(args.data_dir, args.files, args.commits)
    rows = {}
    for label, path in pages(args.files, args.commits):
        rows[label] = measure(args.data_dir, path, args.repeats, args.cold_runs)
    print(f"\nweb pages of {REPO}: {args.files} files, {args.commits} commits (trees stored: "
          f"{tree_storage(args.data_dir)}); server time in ms (cold: first request of a fresh process, median of "
          f"{args.cold_runs}; warm: median and slowest of {args.repeats} x {args.cold_runs})")
    print(f"{'page':40}{'cold':>9}{'(range)':>15}{'warm':>9}{'slowest':>9}{'KiB':>7}  target < {TARGET_MS:.0f} ms")
    for label, row in rows.items():
        verdict = "met" if row["warm_max_ms"] < TARGET_MS and max(row["cold_runs_ms"]) < TARGET_MS else (
            "warm met" if row["warm_max_ms"] < TARGET_MS else "NOT met")
        spread = f"{min(row['cold_runs_ms']):.0f}-{max(row['cold_runs_ms']):.0f}"
        print(f"{label:40}{row['cold_ms']:9.1f}{spread:>15}{row['warm_median_ms']:9.1f}{row['warm_max_ms']:9.1f}"
              f"{row['bytes'] / 1024:7.0f}  {verdict}")
    if args.save:
        out = HERE / "results" / "bench_web.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"files": args.files, "commits": args.commits, "repeats": args.repeats,
                                   "cold_runs": args.cold_runs, "trees": tree_storage(args.data_dir),
                                   "pages": rows}, indent=2))
        print(f"saved {out}")


if __name__ == "__main__":
    sys.exit(main())
