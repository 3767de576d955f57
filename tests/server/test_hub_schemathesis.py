"""Property-based fuzzing of every route in the server's OpenAPI spec.

No input may cause a 5xx, every answer must be one the spec declares (its status code, its content type and,
for JSON bodies, its schema: errors are ``{"error": ...}``), and a request the spec calls valid must not be
refused as malformed (``positive_data_acceptance``: answered 2xx, 3xx, 401, 403, 404 or 409, never 400).
Undeclared methods (405 with the right ``Allow``) are checked in ``test_hub_hardening.py``."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup  # noqa: E402

from modelyard.server.app import create_app  # noqa: E402
from modelyard.server.config import HubSettings  # noqa: E402

pytestmark = pytest.mark.slow
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          positive_data_acceptance]


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx, value) -> bytes:
    # The spec describes the commit body as the list of its lines.
    if isinstance(value, list):
        return "\n".join(json.dumps(line) for line in value).encode()
    return json.dumps(value).encode()


@pytest.fixture(scope="module")
def fuzz_hub(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, str]:
    app = create_app(HubSettings(data_dir=Path(tmp_path_factory.mktemp("fuzz-hub"))))
    storage = app.state.hub.storage
    storage.accounts.add_namespace("alice", "user")
    token = storage.tokens.create("alice")
    # A repo with content, so that generated requests naming it reach deeper code paths.
    hub = app.state.hub
    storage.repos.create("model", "alice", "fuzz", private=False, author="alice", initial_blob=hub.gitattributes_blob)
    return app, token


def _aim(params: dict | None) -> None:
    """Point most generated cases at the real repo and branch, so they get past 'not found' answers."""
    if not params or "namespace" not in params:
        return
    roll = zlib.crc32(json.dumps(params, sort_keys=True, default=str).encode()) % 4
    if roll == 0:
        return
    params.update(namespace="alice", name="fuzz")
    for key, value in (("repo_type", "models"), ("name_git", "fuzz.git"), ("revision", "main")):
        if key in params:
            params[key] = value
    if roll == 3 and "path" in params:
        params["path"] = ".gitattributes"


def _expand_and_full(case) -> bool:  # noqa: ANN001 - a schemathesis Case
    query = case.query or {}
    flags = [query.get(key) for key in ("full", "cardData", "config")]
    return bool(query.get("expand")) and any(str(v).strip().lower() in ("1", "true", "yes") for v in flags if v)


def test_no_server_errors(fuzz_hub: tuple[object, str]) -> None:
    app, token = fuzz_hub
    api_schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"authorization": f"Bearer {token}"}
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 25

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def run(case) -> None:
            _aim(case.path_parameters)
            # Two rules the schema cannot state, so schema-valid requests may still be refused: the commit body's
            # line grammar (a header, then per-key operation fields such as a parentCommit that is a commit id),
            # and a listing's `expand` excluding `full`, `cardData` and `config` (the client refuses them together).
            commit = case.operation.path.endswith("/commit/{revision}")
            case.call_and_validate(headers=headers, checks=CHECKS[:-1] if commit or _expand_and_full(case) else CHECKS)

        try:
            run()
        except (Exception, FailureGroup) as err:  # collect every failing operation, not just the first
            failures.append(f"{operation.method.upper()} {operation.path}: {err}")
    assert not failures, "\n\n".join(failures)
