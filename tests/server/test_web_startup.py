"""The app's start-up does the one-time work, so the first visitor after a restart does not pay for it."""

from __future__ import annotations

from pathlib import Path

import fastapi.routing
import pytest
from fastapi.testclient import TestClient

from modelyard.server import web
from modelyard.server.app import create_app, resolve_routes
from modelyard.server.config import HubSettings
from modelyard.server.web import templating


def test_start_up_builds_every_route_before_the_first_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    """FastAPI (0.137+) builds an included router's parameter handling on the first request that reaches it;
    the app's lifespan does it before the server listens, so no request builds any."""
    built: list[str] = []
    real = fastapi.routing.get_dependant

    def counting(*args: object, **kwargs: object) -> object:
        built.append(str(kwargs.get("path")))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fastapi.routing, "get_dependant", counting)
    app = create_app(HubSettings(data_dir=tmp_path / "hub"))
    with TestClient(app, headers={"Accept": "text/html"}) as client:
        built.clear()
        assert client.get("/").status_code == 200
        assert client.get("/models").status_code == 200
        assert client.get("/api/models", headers={"Accept": "application/json"}).status_code == 200
        assert client.get("/nobody/nothing").status_code == 404
    assert built == []


def test_resolve_routes_counts_every_route(tmp_path: Path) -> None:
    app = create_app(HubSettings(data_dir=tmp_path / "hub"))
    count = resolve_routes(app)
    assert count > 50  # the API's routers and the pages, each route of an included router counted
    assert resolve_routes(app) == count  # built once, then reused


def test_start_up_warms_the_pages_before_requests_not_in_the_background(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(web, "warm_up", lambda: calls.append("warm-up"))
    app = create_app(HubSettings(data_dir=tmp_path / "hub"))
    assert calls == []  # creating the app starts nothing that would race the first request
    with TestClient(app) as client:
        assert calls == ["warm-up"]
        client.get("/api/health")
    assert calls == ["warm-up"]


def test_warm_up_compiles_every_template(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(templating, "_warmed", False)
    monkeypatch.setattr(templating.ENV, "cache", type(templating.ENV.cache)(templating.ENV.cache.capacity))
    templating.warm_up()
    compiled = {key[1] for key in templating.ENV.cache.keys()}
    assert compiled == set(templating.ENV.list_templates())
