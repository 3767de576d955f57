"""The hub beyond one machine: metadata requests/s of one replica against two, and a large download through
the S3 backend's presigned redirect against a direct GET of the object.

Everything runs on loopback: a throwaway PostgreSQL (Debian's package, as the tests start it), an S3 server,
and one or two ``modelyard hub serve`` processes over them. The load comes from ``--clients`` client processes
(so the client's GIL is not the limit), each looping over a mix of ``model_info``
(``GET /api/models/{id}``), ``list_repo_files`` (``GET /api/models/{id}/tree/main?recursive=true``) and
``paths-info`` (``POST /api/models/{id}/paths-info/main``) calls on ``--repos`` repositories for ``--seconds``,
spread over the replicas in turn. Then the same mix at half the clients gives the latency percentiles. The
ratio two/one only means something on a machine with cores to spare for the second replica (and PostgreSQL);
the output says how many this one has (``nproc``).

The download: one ``--download-mib`` file uploaded through the hub (LFS, straight into the bucket), then
``--repeats`` rounds, in alternating order, of ``hf_hub_download`` through the second replica (a HEAD answered
with a redirect to a presigned GET, which the client follows to the object store) and a direct GET of the same
object, presigned by boto3, written to a file the same way (the same HTTP client and chunk size); medians, the ratio, and the serving replica's CPU
seconds (``/proc/<pid>/stat``) per GiB. A GET that only reads the bytes (no disk) is shown beside them.

``--s3`` picks the object store: ``moto`` (the tests' default, ``moto[server]`` in the test extra) or
``s3rver`` (the npm package; ``make s3rver`` installs it into ``.s3rver/``, it needs Node.js and npm). Use s3rver
for large downloads: moto keeps each object in one buffer and reads it whole for every request, ranged GETs
included, so the hub's fetch of a large blob (boto3: 8 MiB ranges from ten threads) costs it a copy of the whole
object per range, gigabytes per download.

    make s3rver
    .venv/bin/python benchmarks/bench_hub_scale.py --s3 s3rver --download-mib 1024 --repeats 3
    .venv/bin/python benchmarks/bench_hub_scale.py [--clients 8] [--seconds 10] [--only load|download]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
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
    parser.add_argument("--repeats", type=int, default=3, help="download rounds (medians are reported)")
    parser.add_argument("--s3", choices=("moto", "s3rver"), default="moto",
                        help="the S3 server: moto (default) or s3rver (`make s3rver`; use it for large downloads)")
    parser.add_argument("--only", choices=("load", "download"), help="run one part only")
    args = parser.parse_args()

    from _backing_servers import PostgresServer, postgres_bin_dir, s3_server_of_kind
    from _hub_server import SubprocessHub
    from huggingface_hub import HfApi

    from modelyard.server.storage import Storage

    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise SystemExit("PostgreSQL is not installed: apt-get install postgresql (or make servers)")
    try:
        s3 = s3_server_of_kind(args.s3)
    except RuntimeError as err:
        raise SystemExit(str(err)) from None
    work = Path(tempfile.mkdtemp(prefix="bench-hub-scale-"))
    pg = PostgresServer(bin_dir, Path(tempfile.mkdtemp(prefix="bench-pg-"))).start()  # its own folder: run as nobody
    s3.start()
    hubs: list[SubprocessHub] = []
    try:
        url = pg.new_database()
        Storage(url, migrate=True).close()
        storage = Storage(url)
        storage.accounts.add_namespace("bench", "user")
        token = storage.tokens.create("bench", "write")
        storage.close()
        bucket = s3.new_bucket()
        env = {**s3.env(), "MODELYARD_HUB_DATABASE_URL": url,
               "MODELYARD_HUB_BLOB_STORE": f"s3://{bucket}/hub", "MODELYARD_HUB_REGULAR_MAX_SIZE": "1MiB"}
        os.environ.update(s3.env())
        hubs = [SubprocessHub(work / f"replica-{i}", env=env) for i in (1, 2)]
        for hub in hubs:
            hub.data_dir.mkdir(parents=True)
            hub.start()
        api = HfApi(endpoint=hubs[0].url, token=token)
        repos = []
        for i in range(args.repos if args.only != "download" else 1):
            repo = f"bench/m{i}"
            api.create_repo(repo)
            api.upload_file(path_or_fileobj=b'{"a": 1}', path_in_repo="config.json", repo_id=repo)
            repos.append(repo)
        print(f"machine: nproc {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}; S3 server: {s3.name}")
        if args.only != "download":
            _metadata_load(hubs, token, repos, args.clients, args.seconds)
        if args.only != "load":
            _download(api, hubs[1], s3, bucket, token, repos[0], work, args.download_mib, args.repeats)
    finally:
        for hub in hubs:
            hub.stop()
        s3.stop()
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(pg.root, ignore_errors=True)


def _metadata_load(hubs: list, token: str, repos: list[str], clients: int, seconds: float) -> None:
    print(f"metadata mix: {clients} client processes, {seconds:g} s per run")
    one = _load([hubs[0].url], token, repos, clients, seconds)
    two = _load([h.url for h in hubs], token, repos, clients, seconds)
    half = _load([h.url for h in hubs], token, repos, max(1, clients // 2), seconds)
    for label, row in (("1 replica", one), ("2 replicas", two), ("2 replicas, half the clients", half)):
        print(f"{label:30} {row['rps']:8.0f} req/s  p50 {row['p50_ms']:6.1f} ms  p99 {row['p99_ms']:6.1f} ms  "
              f"errors {row['errors']}")
    print(f"two/one: {two['rps'] / one['rps']:.2f}x")


def _download(api, hub, s3, bucket: str, token: str, repo: str, work: Path, mib: int,  # noqa: ANN001 - bench
              repeats: int) -> None:
    """``hf_hub_download`` through ``hub``'s presigned redirect against direct GETs of the object (see the module
    docstring): medians of ``repeats`` rounds in alternating order, and the hub's CPU seconds per GiB."""
    import httpx
    from huggingface_hub import hf_hub_download
    from huggingface_hub.utils import get_session

    big = work / "big.bin"
    digest = hashlib.sha256()
    with open(big, "wb") as fh:
        for _ in range(mib):
            block = os.urandom(1024 * 1024)
            digest.update(block)
            fh.write(block)
    sha = digest.hexdigest()
    started = time.perf_counter()
    api.upload_file(path_or_fileobj=str(big), path_in_repo="w.bin", repo_id=repo)
    print(f"upload of {mib} MiB through the hub (presigned PUTs into the bucket): {time.perf_counter() - started:.1f} s")
    big.unlink()
    answer = httpx.head(f"{hub.url}/{repo}/resolve/main/w.bin", headers={"authorization": f"Bearer {token}"})
    location = answer.headers.get("location", "")
    if answer.status_code != 302 or not location.startswith(s3.url):
        raise SystemExit(f"the hub did not redirect the download to the object store: {answer.status_code} {location}")
    # The direct GET: the object presigned by boto3 itself, not by the hub.
    key = location.split("?", 1)[0][len(f"{s3.url}/{bucket}/"):]
    direct_url = s3.client().generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key})

    def direct(to_disk: bool) -> float:
        target = work / "direct.bin"
        client_cpu[to_disk].append(-time.process_time())
        started = time.perf_counter()
        # The HTTP client hf_hub_download streams with, so the two columns differ only by the hub's part.
        with get_session().stream("GET", direct_url, timeout=60) as response, \
                open(target if to_disk else os.devnull, "wb") as out:
            response.raise_for_status()
            for chunk in response.iter_bytes(10 * 1024 * 1024):  # hf_hub_download's chunk size
                out.write(chunk)
        elapsed = time.perf_counter() - started
        client_cpu[to_disk][-1] += time.process_time()
        target.unlink(missing_ok=True)
        return elapsed

    def through_hub(round_: int) -> tuple[float, float]:
        cache = work / f"cache-{round_}"
        cpu_before = _cpu_seconds(hub.proc.pid)
        client_cpu["hub"].append(-time.process_time())
        started = time.perf_counter()
        path = hf_hub_download(repo, "w.bin", endpoint=hub.url, token=token, cache_dir=cache)
        elapsed = time.perf_counter() - started
        client_cpu["hub"][-1] += time.process_time()
        cpu = _cpu_seconds(hub.proc.pid) - cpu_before
        if round_ == 0 and _file_sha256(Path(path)) != sha:
            raise SystemExit("hf_hub_download through the hub returned other bytes than were uploaded")
        shutil.rmtree(cache)
        return elapsed, cpu

    to_disk, via_hub, hub_cpu, discard = [], [], [], []
    client_cpu: dict[object, list[float]] = {True: [], False: [], "hub": []}  # this process's CPU per transfer
    for round_ in range(repeats):
        if round_ % 2 == 0:
            to_disk.append(direct(True))
            elapsed, cpu = through_hub(round_)
        else:
            elapsed, cpu = through_hub(round_)
            to_disk.append(direct(True))
        via_hub.append(elapsed)
        hub_cpu.append(cpu)
        discard.append(direct(False))
        print(f"  round {round_ + 1}: direct GET to a file {mib / to_disk[-1]:6.0f} MiB/s, hf_hub_download through "
              f"the hub {mib / elapsed:6.0f} MiB/s, the hub's CPU {cpu:.2f} s; direct GET, bytes only read "
              f"{mib / discard[-1]:6.0f} MiB/s")
    gib = mib / 1024
    direct_rate, hub_rate = mib / statistics.median(to_disk), mib / statistics.median(via_hub)
    print(f"download {mib} MiB, medians of {repeats}: direct GET of the object to a file {direct_rate:.0f} MiB/s, "
          f"hf_hub_download through the hub's redirect {hub_rate:.0f} MiB/s ({hub_rate / direct_rate:.0%} of direct; median "
          f"of the rounds' own ratios {statistics.median(d / h for d, h in zip(to_disk, via_hub)):.0%}); "
          f"direct GET without the disk {mib / statistics.median(discard):.0f} MiB/s")
    print(f"this client's CPU per download (median): hf_hub_download {statistics.median(client_cpu['hub']):.2f} s, "
          f"direct GET to a file {statistics.median(client_cpu[True]):.2f} s, without the disk "
          f"{statistics.median(client_cpu[False]):.2f} s")
    print(f"the serving replica's CPU per download: median {statistics.median(hub_cpu):.3f} s "
          f"({statistics.median(hub_cpu) / gib:.3f} s per GiB; /proc ticks are 1/{os.sysconf('SC_CLK_TCK')} s)")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
