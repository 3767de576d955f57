"""The "sharing custom models" guide against a hub of our own, end to end.

    python examples/hub_demo.py [--tiny]

1. starts the embedded hub (``modelyard hub serve``) on a free loopback port with a fresh data folder,
   and creates a user and a write token with ``modelyard hub user add`` / ``modelyard hub token create``;
2. runs the guide's walkthrough (``examples/custom_architecture/walkthrough.py``), which pushes the
   custom ResNet with its code to that hub (``push_to_hub``);
3. in a fresh process with an empty cache, where the example's ``resnet_model`` package is not
   importable, loads the model back by repo id pinned to the pushed commit with ``trust_remote_code=True``
   and checks that it gives the same logits as the folder saved in step 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLI = [sys.executable, "-m", "modelyard.cli.main"]

FRESH_PROCESS_LOAD = """
import sys, torch
from modelyard import AutoModelForImageClassification
repo_id, commit, saved_folder = sys.argv[1:4]
assert not any(m.startswith("resnet_model") for m in sys.modules)
try:
    import resnet_model  # noqa: F401
    raise SystemExit("resnet_model should not be importable here")
except ImportError:
    pass
model = AutoModelForImageClassification.from_pretrained(repo_id, trust_remote_code=True, revision=commit)
local = AutoModelForImageClassification.from_pretrained(saved_folder, trust_remote_code=True)
torch.manual_seed(0)
images = torch.randn(2, 3, 64, 64)
same_weights = all(torch.equal(v, local.state_dict()[k]) for k, v in model.state_dict().items())
with torch.no_grad():  # equal up to float rounding: kernels may sum in another order for mapped weights
    same = same_weights and torch.allclose(model(images)["logits"], local(images)["logits"], rtol=1e-5, atol=1e-5)
print(f"fresh process: {type(model).__name__} from {type(model).__module__} at {commit}; same logits as the saved folder: {same}")
sys.exit(0 if same else 1)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the hub exited early with code {server.returncode}")
        try:
            urllib.request.urlopen(f"{url}/api/agent-harnesses", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the hub at {url} did not answer within {timeout:.0f} s")


def run(cmd: list[str], env: dict[str, str], **kwargs: object) -> str:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


@dataclass
class DemoHub:
    """An embedded hub on a free loopback port with user alice and her write token, in a fresh folder."""

    root: Path  # a temporary folder: hub data, homes, work
    url: str
    env: dict[str, str]  # the environment of a process that talks to the hub as alice

    def fresh_env(self) -> dict[str, str]:
        """The environment of another machine: the same hub and token, empty caches, no PYTHONPATH."""
        home = self.root / "home"
        env = {**self.env, "HF_HOME": str(home / "hf-fresh"), "MODELYARD_HOME": str(home / "modelyard-fresh")}
        env.pop("PYTHONPATH", None)
        return env


@contextlib.contextmanager
def demo_hub(prefix: str) -> Iterator[DemoHub]:
    """Start the hub (``modelyard hub user add`` / ``token create`` / ``serve``); stop it on the way out."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        root = Path(tmp)
        data_dir, home = root / "hub-data", root / "home"
        env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HF_HUB_OFFLINE")}
        env.update(HF_HOME=str(home / "hf"), MODELYARD_HOME=str(home / "modelyard"), PYTHONUNBUFFERED="1",
                   HF_HUB_DISABLE_TELEMETRY="1")
        run([*CLI, "hub", "user", "add", "alice", "--data-dir", str(data_dir)], env)
        token = run([*CLI, "hub", "token", "create", "--user", "alice", "--data-dir", str(data_dir)], env).split()[0]
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [*CLI, "hub", "serve", "--port", str(port), "--data-dir", str(data_dir), "--log-level", "warning"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            wait_until_up(url, server)
            print(f"hub at {url}; user alice with a write token")
            yield DemoHub(root, url, {**env, "HF_ENDPOINT": url, "HF_TOKEN": token})
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a small ResNet with the same structure (faster)")
    args = parser.parse_args()
    print("=== 1. Starting the embedded hub")
    with demo_hub("modelyard-hub-demo-") as hub:
        print("\n=== 2. The guide's walkthrough, pushing to the hub")
        workdir = hub.root / "work"
        walk = [sys.executable, str(HERE / "custom_architecture" / "walkthrough.py"), "--workdir", str(workdir)]
        output = run(walk + (["--tiny"] if args.tiny else []), hub.env, timeout=900)
        print(output)
        pushed = re.search(r"pushed to (\S+) at commit ([0-9a-f]{40})", output)
        if pushed is None:
            raise SystemExit("the walkthrough did not push to the hub")
        repo_id, commit = pushed.groups()

        print("=== 3. Loading it back by commit hash in a fresh process")
        cmd = [sys.executable, "-c", FRESH_PROCESS_LOAD, repo_id, commit, str(workdir / "custom-resnet50d")]
        print(run(cmd, hub.fresh_env(), cwd=str(hub.root), timeout=600).strip())
    print("\nhub demo finished")


if __name__ == "__main__":
    main()
