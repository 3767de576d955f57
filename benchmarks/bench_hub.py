"""Hub throughput: a 1 GiB file through ``hf_hub_download`` and through upload, against a static file server,
through Git LFS and through Xet; and Xet's deduplication of a re-uploaded checkpoint.

Both servers run as their own processes on loopback:

* the modelyard hub (``modelyard hub serve``), driven by the stock ``huggingface_hub`` client
  (``hf_hub_download`` into a fresh cache; ``HfApi.upload_file`` into a fresh repo, Xet off -> LFS);
* a plain static server (``python -m http.server`` plus a streaming PUT handler) as the upper bound,
  driven by the *same HTTP client* huggingface_hub uses (its httpx2 session), streaming the same bytes
  to/from disk with the client's 10 MiB chunks; and, when ``curl`` is installed, both servers read by
  curl into /dev/null (server speed alone).

The ratio is hub throughput / static throughput (median of ``--repeats`` runs; target >= 60%). The upload
figure is end to end, so it includes the client hashing the file (sha256, which the LFS protocol needs),
preupload, the LFS PUT, the hub hashing + fsyncing it, and the commit. Then ``--parallel`` concurrent
``hf_hub_download`` calls of a smaller LFS file check that none fails.

Xet rows (skip with ``--no-xet``): the same client with ``hf_xet`` and no setting, each run in a fresh process
with an empty Xet cache (timed inside it): uploads of fresh random files of the same size (so nothing
dedupes), and downloads of one of them. Then a checkpoint (safetensors, 16 float32 tensors, ``--ckpt-mib``)
is uploaded, and re-uploaded with one tensor changed, by a new client (which learns what the hub holds from
the global dedupe API) and by the first client again (its local cache too); the bytes of the xorbs the hub
received, read from its database, give the dedupe ratio (an LFS re-upload sends the whole file).

    .venv/bin/python benchmarks/bench_hub.py [--size-mib 1024] [--repeats 3] [--parallel 32] [--no-xet]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_HUB_DISABLE_XET", "1")

MiB = 1024 * 1024
CHUNK = 10 * MiB  # huggingface_hub's download chunk size

STATIC_SERVER = textwrap.dedent("""
    import http.server, os, sys
    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args): pass
        def do_PUT(self):
            left = int(self.headers["Content-Length"])
            with open(os.path.join(self.directory, "uploaded.bin"), "wb") as fh:
                while left:
                    block = self.rfile.read(min(left, 1 << 20))
                    if not block: break
                    fh.write(block); left -= len(block)
            self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    http.server.ThreadingHTTPServer.allow_reuse_address = True
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])),
        lambda *a, **k: Handler(*a, directory=sys.argv[2], **k))
    server.serve_forever()
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str) -> None:
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"server at {url} did not start")


def _make_file(path: Path, size: int) -> str:
    h = hashlib.sha256()
    block = os.urandom(MiB)
    with open(path, "wb") as fh:
        for i in range(size // MiB):
            chunk = block[i % 251:] + block[: i % 251]  # cheap, non-repeating content per MiB
            fh.write(chunk)
            h.update(chunk)
    return h.hexdigest()


def _static_download(url: str, dest: Path) -> float:
    from huggingface_hub.utils import get_session

    start = time.perf_counter()
    with get_session().stream("GET", url, timeout=60) as response, open(dest, "wb") as fh:
        response.raise_for_status()
        for chunk in response.iter_bytes(CHUNK):
            fh.write(chunk)
    return time.perf_counter() - start


def _static_upload(url: str, src: Path) -> float:
    from huggingface_hub.utils import get_session

    start = time.perf_counter()
    with open(src, "rb") as fh:
        get_session().put(url, content=fh, headers={"Content-Length": str(src.stat().st_size)},
                          timeout=120).raise_for_status()
    return time.perf_counter() - start


XET_CLIENT = textwrap.dedent("""
    import json, sys, time
    from huggingface_hub import HfApi, hf_hub_download
    action, url, token, repo, path = sys.argv[1:6]
    start = time.perf_counter()
    if action == "upload":
        HfApi(endpoint=url, token=token).upload_file(path_or_fileobj=path, path_in_repo="model.safetensors",
                                                     repo_id=repo)
    else:
        hf_hub_download(repo, "model.safetensors", endpoint=url, token=token, cache_dir=path)
    print(json.dumps({"seconds": time.perf_counter() - start}))
""")


def _xet_client(action: str, hub_url: str, token: str, repo: str, path: Path, home: Path) -> float:
    """One Xet upload or download by the stock client in its own process (``home``: its HF_HOME and Xet
    cache); returns the seconds the call took inside that process."""
    import json

    env = {**os.environ, "HF_HOME": str(home)}
    env.pop("HF_HUB_DISABLE_XET", None)
    done = subprocess.run([sys.executable, "-c", XET_CLIENT, action, hub_url, token, repo, str(path)], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"Xet {action} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["seconds"]


def _random_file(path: Path, size: int) -> None:
    with open(path, "wb") as fh:
        for _ in range(size // MiB):
            fh.write(os.urandom(MiB))


def _xorb_bytes(data_dir: Path) -> int:
    """Bytes of all xorbs the hub holds (what Xet clients have sent it, each xorb once)."""
    import sqlite3

    with sqlite3.connect(f"file:{data_dir / 'hub.sqlite'}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT COALESCE(SUM(size), 0) FROM xet_xorbs").fetchone()[0])


def _checkpoints(folder: Path, size: int) -> tuple[Path, Path, Path, int]:
    """v1 of a 16-tensor float32 safetensors file, v2 (tensor 7 changed) and v3 (tensor 3 changed)."""
    import numpy as np
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    floats = size // 16 // 4
    tensors = {f"layer{i:02d}.weight": rng.standard_normal(floats, dtype=np.float32) for i in range(16)}
    paths = []
    for version, changed in (("v1", None), ("v2", "layer07.weight"), ("v3", "layer03.weight")):
        version_tensors = dict(tensors)
        if changed:
            version_tensors[changed] = tensors[changed] + np.float32(0.5)
        paths.append(folder / f"{version}.safetensors")
        save_file(version_tensors, paths[-1])
    return paths[0], paths[1], paths[2], floats * 4


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), 0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _curl(url: str, headers: dict[str, str] | None = None) -> float | None:
    if shutil.which("curl") is None:
        return None
    extra = [arg for k, v in (headers or {}).items() for arg in ("-H", f"{k}: {v}")]
    out = subprocess.run(["curl", "-sf", "-o", "/dev/null", "-w", "%{time_total}", *extra, url],
                         check=True, capture_output=True, text=True).stdout
    return float(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=32)
    parser.add_argument("--parallel-size-mib", type=int, default=64)
    parser.add_argument("--multipart", action="store_true", help="make the hub ask for multipart LFS uploads")
    parser.add_argument("--no-xet", action="store_true", help="skip the Xet rows")
    parser.add_argument("--ckpt-mib", type=int, default=None, help="checkpoint size for the dedupe rows "
                        "(default: --size-mib)")
    args = parser.parse_args()

    from huggingface_hub import HfApi, constants, hf_hub_download

    constants.HF_HUB_DISABLE_XET = True
    size = args.size_mib * MiB
    work = Path(tempfile.mkdtemp(prefix="bench-hub-"))
    procs: list[subprocess.Popen] = []
    try:
        # -- servers ----------------------------------------------------------------------------------
        data = work / "hub"
        cli = [sys.executable, "-m", "modelyard.cli.main"]
        subprocess.run([*cli, "hub", "user", "add", "bench", "--data-dir", str(data)], check=True,
                       capture_output=True)
        token = subprocess.run([*cli, "hub", "token", "create", "--user", "bench", "--data-dir", str(data)],
                               check=True, capture_output=True, text=True).stdout.split()[0]
        hub_port, static_port = _free_port(), _free_port()
        env = dict(os.environ)
        if args.multipart:
            env.update(MODELYARD_HUB_LFS_MULTIPART_THRESHOLD="64MiB", MODELYARD_HUB_LFS_CHUNK_SIZE="256MiB")
        procs.append(subprocess.Popen([*cli, "hub", "serve", "--port", str(hub_port), "--data-dir", str(data),
                                       "--log-level", "warning"], stdout=subprocess.DEVNULL, env=env))
        static_dir = work / "static"
        static_dir.mkdir()
        procs.append(subprocess.Popen([sys.executable, "-c", STATIC_SERVER, str(static_port), str(static_dir)]))
        hub_url, static_url = f"http://127.0.0.1:{hub_port}", f"http://127.0.0.1:{static_port}"
        _wait(f"{hub_url}/api/health")
        _wait(f"{static_url}/")

        source = static_dir / "file.bin"
        print(f"writing a {args.size_mib} MiB test file ...", flush=True)
        sha = _make_file(source, size)
        api = HfApi(endpoint=hub_url, token=token)

        # -- upload -----------------------------------------------------------------------------------
        # Which side goes first alternates: on a VM, writing into memory that was just freed is much
        # cheaper than into fresh pages, so a fixed order would favour whichever side runs second.
        hub_up, static_up, client_sha = [], [], []
        hub_cpu, static_cpu = [], []
        for run in range(args.repeats):
            start = time.perf_counter()
            with open(source, "rb") as fh:
                hashlib.file_digest(fh, "sha256")  # what upload_file does first (the LFS oid)
            client_sha.append(time.perf_counter() - start)
            repo = f"bench/up-{run}"
            api.create_repo(repo)

            def hub_upload(repo: str = repo) -> None:
                cpu = _cpu_seconds(procs[0].pid)
                start = time.perf_counter()
                api.upload_file(path_or_fileobj=str(source), path_in_repo="model.safetensors", repo_id=repo)
                hub_up.append(time.perf_counter() - start)
                hub_cpu.append(_cpu_seconds(procs[0].pid) - cpu)

            def static_upload() -> None:
                cpu = _cpu_seconds(procs[1].pid)
                static_up.append(_static_upload(f"{static_url}/uploaded.bin", source))
                static_cpu.append(_cpu_seconds(procs[1].pid) - cpu)
                (static_dir / "uploaded.bin").unlink(missing_ok=True)

            for step in (hub_upload, static_upload) if run % 2 == 0 else (static_upload, hub_upload):
                step()
        assert api.model_info("bench/up-0", files_metadata=True).siblings[1].lfs.sha256 == sha

        # -- download ---------------------------------------------------------------------------------
        hub_down, static_down, hub_curl, static_curl = [], [], [], []
        for run in range(args.repeats):
            cache = work / f"cache-{run}"
            start = time.perf_counter()
            path = hf_hub_download("bench/up-0", "model.safetensors", endpoint=hub_url, token=token, cache_dir=cache)
            hub_down.append(time.perf_counter() - start)
            assert os.path.getsize(path) == size
            shutil.rmtree(cache)
            dest = work / "static-download.bin"
            static_down.append(_static_download(f"{static_url}/file.bin", dest))
            dest.unlink()
            auth = {"authorization": f"Bearer {token}"}
            curl_hub = _curl(f"{hub_url}/bench/up-0/resolve/main/model.safetensors", auth)
            curl_static = _curl(f"{static_url}/file.bin")
            if curl_hub and curl_static:
                hub_curl.append(curl_hub)
                static_curl.append(curl_static)

        # -- Xet ----------------------------------------------------------------------------------------
        xet_up, xet_down, xet_cpu = [], [], []
        dedupe: list[tuple[str, int, int, float]] = []  # (case, file bytes, xorb bytes sent, seconds)
        if not args.no_xet:
            for run in range(args.repeats):
                fresh = work / "xet-source.bin"
                _random_file(fresh, size)  # new content each run: nothing to dedupe against
                repo = f"bench/xet-up-{run}"
                api.create_repo(repo)
                cpu = _cpu_seconds(procs[0].pid)
                xet_up.append(_xet_client("upload", hub_url, token, repo, fresh, work / f"xet-home-up-{run}"))
                xet_cpu.append(_cpu_seconds(procs[0].pid) - cpu)
                fresh.unlink()
            for run in range(args.repeats):
                cache = work / f"xet-cache-{run}"
                xet_down.append(_xet_client("download", hub_url, token, "bench/xet-up-0", cache,
                                            work / f"xet-home-down-{run}"))
                shutil.rmtree(cache)
            ckpt_size = (args.ckpt_mib or args.size_mib) * MiB
            v1, v2, v3, tensor_bytes = _checkpoints(work, ckpt_size)
            api.create_repo("bench/ckpt")
            first_client, new_client = work / "xet-home-a", work / "xet-home-b"
            for case, path, home in (("first upload", v1, first_client),
                                     ("one tensor changed, new client", v2, new_client),
                                     ("one tensor changed, same client", v3, first_client)):
                before = _xorb_bytes(data)
                seconds = _xet_client("upload", hub_url, token, "bench/ckpt", path, home)
                dedupe.append((case, path.stat().st_size, _xorb_bytes(data) - before, seconds))

        # -- parallel downloads -----------------------------------------------------------------------
        small = work / "small.bin"
        small_sha = _make_file(small, args.parallel_size_mib * MiB)
        api.create_repo("bench/parallel")
        api.upload_file(path_or_fileobj=str(small), path_in_repo="w.safetensors", repo_id="bench/parallel")

        def fetch(i: int) -> str:
            p = hf_hub_download("bench/parallel", "w.safetensors", endpoint=hub_url, token=token,
                                cache_dir=work / f"par-{i}")
            with open(p, "rb") as fh:
                return hashlib.file_digest(fh, "sha256").hexdigest()

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.parallel) as pool:
            digests = list(pool.map(fetch, range(args.parallel)))
        par_seconds = time.perf_counter() - start
        errors = sum(d != small_sha for d in digests)

        # -- report -----------------------------------------------------------------------------------
        def mbps(seconds: list[float], nbytes: int = size) -> float:
            return nbytes / MiB / statistics.median(seconds)

        print(f"\nhub benchmark: {args.size_mib} MiB file, median of {args.repeats} runs, loopback, "
              f"{os.cpu_count()} CPUs{' (multipart LFS)' if args.multipart else ''}")
        print(f"{'':32}{'hub MiB/s':>12}{'static MiB/s':>14}{'ratio':>8}")
        rows = [("download: hf_hub_download", hub_down, static_down),
                ("upload: HfApi.upload_file", hub_up, static_up)]
        rows.append(("upload minus client sha256", [h - c for h, c in zip(hub_up, client_sha)], static_up))
        rows.append(("upload vs best static run", hub_up, [min(static_up)]))
        if hub_curl:
            rows.append(("download: curl (servers only)", hub_curl, static_curl))
        for label, hub_t, static_t in rows:
            ratio = mbps(hub_t) / mbps(static_t)
            print(f"{label:32}{mbps(hub_t):12.0f}{mbps(static_t):14.0f}{ratio:8.0%}")
        gib = size / (1024 * MiB)
        print(f"server CPU per GiB uploaded (user + system, median): hub {statistics.median(hub_cpu) / gib:.2f} s, "
              f"static {statistics.median(static_cpu) / gib:.2f} s (the hub also hashes and fsyncs)")
        if xet_up:
            print(f"\nXet vs LFS vs the static server: {args.size_mib} MiB, median of {args.repeats} runs "
                  "(Xet runs in fresh client processes, timed inside them)")
            print(f"{'':32}{'Xet MiB/s':>11}{'LFS MiB/s':>11}{'static MiB/s':>14}{'Xet/static':>12}")
            for label, xet_t, lfs_t, static_t in (("upload: HfApi.upload_file", xet_up, hub_up, static_up),
                                                  ("download: hf_hub_download", xet_down, hub_down, static_down)):
                print(f"{label:32}{mbps(xet_t):11.0f}{mbps(lfs_t):11.0f}{mbps(static_t):14.0f}"
                      f"{mbps(xet_t) / mbps(static_t):12.0%}")
            print(f"server CPU per GiB uploaded through Xet (median): {statistics.median(xet_cpu) / gib:.2f} s "
                  "(checks every chunk's and xorb's hash as they stream in, rebuilds each file once for its "
                  "SHA-256)")
            print(f"\nXet dedupe: checkpoint of 16 float32 tensors, {dedupe[0][1] / MiB:.0f} MiB, one tensor "
                  f"{tensor_bytes / MiB:.0f} MiB ({tensor_bytes / dedupe[0][1]:.1%} of the file)")
            print(f"{'':34}{'sent MiB':>10}{'of file':>9}{'saved':>9}{'seconds':>9}")
            for case, nbytes, sent, seconds in dedupe:
                print(f"{case:34}{sent / MiB:10.1f}{sent / nbytes:9.1%}{1 - sent / nbytes:9.1%}{seconds:9.2f}")
            print("(the first upload saves by compression only; an LFS re-upload sends the whole file again)")
        print(f"\n{args.parallel} parallel hf_hub_download of {args.parallel_size_mib} MiB: {par_seconds:.2f} s, "
              f"{args.parallel * args.parallel_size_mib / par_seconds:.0f} MiB/s aggregate, {errors} errors")
        rounded = {k: [round(x, 3) for x in v] for k, v in (("hub_down", hub_down), ("static_down", static_down),
                                                            ("hub_up", hub_up), ("static_up", static_up))}
        print(f"seconds per run: {rounded}, client sha256 of the file: {[round(x, 3) for x in client_sha]}")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
