"""No credential reaches the hub's logs: signed-link signatures, tokens in URLs, headers or tracebacks."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import httpx
import pytest
from _hub_server import SubprocessHub
from huggingface_hub import HfApi

from modelyard.cli.main import main as cli
from modelyard.server.logredact import RedactSecrets, redact

pytestmark = pytest.mark.slow


def test_access_log_of_a_real_server_holds_no_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "hub"
    assert cli(["hub", "user", "add", "alice", "--data-dir", str(data)]) == 0
    assert cli(["hub", "token", "create", "--user", "alice", "--data-dir", str(data)]) == 0
    token = capsys.readouterr().out.splitlines()[-1].strip()
    server = SubprocessHub(data, log_level="info")
    server.start()
    try:
        api = HfApi(endpoint=server.url, token=token)
        api.create_repo("alice/secret", private=True)
        # An LFS upload: the client PUTs to the signed link (?size=...&exp=...&sig=...).
        api.upload_file(path_or_fileobj=os.urandom(11 * 1024 * 1024), path_in_repo="w.safetensors",
                        repo_id="alice/secret")
        # Download links handed out by the LFS batch API, and tokens sent in URLs.
        batch = httpx.post(f"{server.url}/alice/secret.git/info/lfs/objects/batch",
                           headers={"authorization": f"Bearer {token}"},
                           json={"operation": "download", "objects": [
                               {"oid": api.model_info("alice/secret", files_metadata=True).siblings[-1].lfs.sha256,
                                "size": 11 * 1024 * 1024}]}).json()
        href = batch["objects"][0]["actions"]["download"]["href"]
        assert httpx.get(href).status_code == 200
        httpx.get(f"{server.url}/api/models/alice/secret?token={token}&access_token={token}")
        httpx.get(f"{server.url}/api/whoami-v2", headers={"authorization": "Bearer myd_wrongButSecretLooking"})
    finally:
        server.stop()
    log = server.log.read_text()
    assert "PUT /_lfs/model/alice/secret/" in log and "GET /_lfs/model/alice/secret/" in log  # it is an access log
    signature = re.search(r"sig=([0-9a-f]{64})", href).group(1)
    assert signature not in log and token not in log and "myd_wrongButSecretLooking" not in log
    assert not re.search(r"(sig|exp|token)=(?!\[REDACTED\])", log), log
    assert "sig=[REDACTED]" in log


def test_redaction_of_messages_arguments_and_tracebacks() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("1.2.3.4:5", "PUT", "/_lfs/x?size=1&exp=99&sig=abcdef", "1.1", 200), None)
    try:
        raise ValueError("bad header authorization: Bearer hf_abcdefghijklmnop")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert RedactSecrets().filter(record)
    text = record.getMessage() + record.exc_text
    assert "abcdef" not in text and "99" not in text and "hf_abcdefghijklmnop" not in text
    assert record.args[0] == "1.2.3.4:5" and record.args[4] == 200  # uvicorn's formatter unpacks these
    assert redact("modelyard hub token create --user alice") == "modelyard hub token create --user alice"
    assert redact("Authorization: Basic dXNlcjpwYXNz") == "Authorization: [REDACTED]"
