"""The calls of issue 12 through huggingface_hub 0.36 (the client the reference library pins), in .venv-ref."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from _hub_server import HubServer

ROOT = Path(__file__).resolve().parents[2]
REF_PYTHON = ROOT / ".venv-ref" / "bin" / "python"
pytestmark = [pytest.mark.reference,
              pytest.mark.skipif(not REF_PYTHON.exists(), reason="reference environment .venv-ref not built")]


def test_listing_moving_and_whoami_with_huggingface_hub_0_36(hub_server: HubServer, tmp_path: Path) -> None:
    token = hub_server.add_user("oldclient", orgs=["oldorg"])
    hub_server.storage.conn().execute("UPDATE namespaces SET fullname='Old Client' WHERE name='oldclient'")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(HF_ENDPOINT=hub_server.url, HF_TOKEN=token, HF_HOME=str(tmp_path / "hf"), HF_HUB_DISABLE_XET="1",
               HF_HUB_DISABLE_TELEMETRY="1")
    code = textwrap.dedent("""
        import json, huggingface_hub
        from huggingface_hub import HfApi
        api = HfApi()
        for name in ("a-old", "b-old", "c-old"):
            api.create_repo(f"oldclient/{name}")
        api.create_repo("oldclient/d-secret", private=True)
        api.create_repo("oldclient/ds", repo_type="dataset")
        listed = [m.id for m in api.list_models(author="oldclient", sort="createdAt", direction=-1, limit=3)]
        searched = [m.id for m in api.list_models(search="b-old")]
        full = next(iter(api.list_models(search="c-old", full=True)))
        anonymous = [m.id for m in HfApi(token=False).list_models(author="oldclient")]
        api.move_repo("oldclient/c-old", "oldorg/c-moved")
        print(json.dumps({
            "version": huggingface_hub.__version__, "whoami": api.whoami()["fullname"], "listed": listed,
            "searched": searched, "siblings": [s.rfilename for s in full.siblings], "anonymous": sorted(anonymous),
            "datasets": [d.id for d in api.list_datasets(author="oldclient")],
            "moved": api.model_info("oldclient/c-old").id,
        }))
    """)
    result = subprocess.run([str(REF_PYTHON), "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-4000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["version"].startswith("0."), out["version"]
    assert out["whoami"] == "Old Client"
    assert out["listed"] == ["oldclient/d-secret", "oldclient/c-old", "oldclient/b-old"]
    assert out["searched"] == ["oldclient/b-old"] and out["siblings"] == [".gitattributes"]
    assert out["anonymous"] == ["oldclient/a-old", "oldclient/b-old", "oldclient/c-old"]
    assert out["datasets"] == ["oldclient/ds"] and out["moved"] == "oldorg/c-moved"
