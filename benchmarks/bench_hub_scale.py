"""The hub beyond one machine: metadata requests/s of one replica against two, and a large download through
the S3 backend's presigned redirect against a direct GET of the object.

Everything runs on loopback: a throwaway PostgreSQL (Debian's package, as the tests start it), moto's S3 server,
and one or two ``modelyard hub serve`` processes over them. The load comes from ``--clients`` client processes
(so the client's GIL is not the limit), each looping over a mix of ``model_info``
(``GET /api/models/{id}``), ``list_repo_files`` (``GET /api/models/{id}/tree/main?recursive=true``) and
``paths-info`` (``POST /api/models/{id}/paths-info/main``) calls on ``--repos`` repositories for ``--seconds``,
spread over the replicas in turn. Then the same mix at half the clients gives the latency percentiles. The
ratio two/one only means something on a machine with cores to spare for the second replica (and PostgreSQL);
the table says how many this one has.

    .venv/bin/python benchmarks/bench_hub_scale.py [--clients 8] [--seconds 10] [--download-mib 256]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_XET", "1")  # LFS: the path presigned redirects serve
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the test suite's PostgreSQL and S3 server helpers

CLIENT = textwrap.dedent("""
    import json, sys, time, httpx
    urls, token, repos, seconds = json.loads(sys.argv[1])
    headers = {"authorization": f"Bearer {token}"}
    latencies, errors, i = [], 0, 0
    with httpx.Client(headers=headers, timeout=30) as http:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            url, repo = urls[i % len(urls)], repos[i % len(repos)]
            kind = i % 3
            started = time.perf_counter()
            if kind == 0:
                r = http.get(f"{url}/api/models/{repo}")
            elif kind == 1:
                r = http.get(f"{url}/api/models/{repo}/tree/main", params={"recursive": "true"})
            else:
                r = http.post(f"{url}/api/models/{repo}/paths-info/main", data={"paths": ["config.json", "w.bin"]})
            latencies.append(time.perf_counter() - started)
            errors += r.status_code != 200
            i += 1
    print(json.dumps({"latencies": latencies, "errors": errors}))
""")


def _load(urls: list[str], token: str, repos: list[str], clients: int, seconds: float) -> dict:
    args = json.dumps([urls, token, repos, seconds])
    procs = [subprocess.Popen([sys.executable, "-c", CLIENT, args], stdout=subprocess.PIPE, text=True)
             for _ in range(clients)]
    results = [json.loads(p.communicate()[0]) for p in procs]
    latencies = sorted(x for r in results for x in r["latencies"])
    return {"rps": len(latencies) / seconds, "errors": sum(r["errors"] for r in results),
            "p50_ms": 1000 * latencies[len(latencies) // 2],
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--repos", type=int, default=20)
    parser.add_argument("--download-mib", type=int, default=256)
    args = parser.parse_args()

    import httpx
    from _backing_servers import PostgresServer, S3Server, postgres_bin_dir
    from _hub_server import SubprocessHub
    from huggingface_hub import HfApi, hf_hub_download

    from modelyard.server.storage import Storage

    work = Path(tempfile.mkdtemp(prefix="bench-hub-scale-"))
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise SystemExit("PostgreSQL is not installed: apt-get install postgresql (or make servers)")
    pg = PostgresServer(bin_dir, Path(tempfile.mkdtemp(prefix="bench-pg-"))).start()  # its own folder: run as nobody
    s3 = S3Server().start()
    hubs: list[SubprocessHub] = []
    try:
        url = pg.new_database()
        Storage(url, migrate=True).close()
        storage = Storage(url)
        storage.accounts.add_namespace("bench", "user")
        token = storage.tokens.create("bench", "write")
        storage.close()
        env = {**s3.env(), "MODELYARD_HUB_DATABASE_URL": url,
               "MODELYARD_HUB_BLOB_STORE": f"s3://{s3.new_bucket()}/hub", "MODELYARD_HUB_REGULAR_MAX_SIZE": "1MiB"}
        os.environ.update(s3.env())
        hubs = [SubprocessHub(work / f"replica-{i}", env=env) for i in (1, 2)]
        for hub in hubs:
            hub.data_dir.mkdir(parents=True)
            hub.start()
        api = HfApi(endpoint=hubs[0].url, token=token)
        repos = []
        for i in range(args.repos):
            repo = f"bench/m{i}"
            api.create_repo(repo)
            api.upload_file(path_or_fileobj=b'{"a": 1}', path_in_repo="config.json", repo_id=repo)
            repos.append(repo)
        print(f"machine: {os.cpu_count()} CPUs; {args.clients} client processes, {args.seconds:g} s per run")
        one = _load([hubs[0].url], token, repos, args.clients, args.seconds)
        two = _load([h.url for h in hubs], token, repos, args.clients, args.seconds)
        half = _load([h.url for h in hubs], token, repos, max(1, args.clients // 2), args.seconds)
        for label, row in (("1 replica", one), ("2 replicas", two), ("2 replicas, half the clients", half)):
            print(f"{label:30} {row['rps']:8.0f} req/s  p50 {row['p50_ms']:6.1f} ms  p99 {row['p99_ms']:6.1f} ms  "
                  f"errors {row['errors']}")
        print(f"two/one: {two['rps'] / one['rps']:.2f}x")

        size = args.download_mib * 1024 * 1024
        big = work / "big.bin"
        with open(big, "wb") as fh:
            for _ in range(args.download_mib):
                fh.write(os.urandom(1024 * 1024))
        api.upload_file(path_or_fileobj=str(big), path_in_repo="w.bin", repo_id=repos[0])
        sha = hashlib.sha256(big.read_bytes()).hexdigest()
        redirect = httpx.get(f"{hubs[1].url}/{repos[0]}/resolve/main/w.bin",
                             headers={"authorization": f"Bearer {token}"}).headers["location"]
        started = time.perf_counter()
        with httpx.stream("GET", redirect) as r:
            for _ in r.iter_bytes(1 << 20):
                pass
        direct = time.perf_counter() - started
        cpu_before = _cpu_seconds(hubs[1].proc.pid)
        started = time.perf_counter()
        path = hf_hub_download(repos[0], "w.bin", endpoint=hubs[1].url, token=token, cache_dir=work / "cache")
        through_hub = time.perf_counter() - started
        hub_cpu = _cpu_seconds(hubs[1].proc.pid) - cpu_before
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == sha
        mib = size / 1024 / 1024
        print(f"download {mib:.0f} MiB: direct GET of the object {mib / direct:.0f} MiB/s, hf_hub_download through "
              f"the hub's redirect {mib / through_hub:.0f} MiB/s ({direct / through_hub:.0%} of direct)")
        print(f"the serving replica's CPU for that download: {hub_cpu:.3f} s ({hub_cpu / (mib / 1024):.3f} s per GiB)")
    finally:
        for hub in hubs:
            hub.stop()
        s3.stop()
        pg.stop()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
