"""Every log line of a request carries its id, which the answer names in ``X-Request-Id`` (text or JSON logs)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from _hub_server import SubprocessHub

pytestmark = pytest.mark.slow


def test_text_logs_tag_each_line_with_the_request_id(tmp_path: Path) -> None:
    server = SubprocessHub(tmp_path / "hub", log_level="info")
    server.start()
    try:
        traced = httpx.get(f"{server.url}/api/models/nobody/nothing", headers={"X-Amzn-Trace-Id": "trace-42"})
        fresh = httpx.get(f"{server.url}/api/models/nobody/else")
    finally:
        server.stop()
    assert traced.headers["x-request-id"] == "trace-42"
    generated = fresh.headers["x-request-id"]
    assert len(generated) == 32 and generated != "trace-42"
    log = server.log.read_text()
    assert any("[trace-42]" in line and "/api/models/nobody/nothing" in line for line in log.splitlines())
    assert any(f"[{generated}]" in line and "/api/models/nobody/else" in line for line in log.splitlines())


def test_json_logs_are_one_object_per_line(tmp_path: Path) -> None:
    server = SubprocessHub(tmp_path / "hub", log_level="info", env={"MODELYARD_HUB_LOG_FORMAT": "json"})
    server.start()
    try:
        answer = httpx.get(f"{server.url}/api/models/nobody/nothing")
    finally:
        server.stop()
    entries = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
    mine = [e for e in entries if e["request_id"] == answer.headers["x-request-id"]]
    assert mine and all(e["level"] in ("info", "warning") and e["time"].endswith("Z") for e in mine)
    assert any("/api/models/nobody/nothing" in e["message"] for e in mine)
