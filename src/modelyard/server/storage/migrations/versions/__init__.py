"""The hub's schema revisions (Alembic reads the modules by path; tests reach the first one's DDL here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def _baseline_sqlite() -> list[str]:
    """The SQLite statements of revision 0001 (the schema hubs created before migrations existed)."""
    spec = importlib.util.spec_from_file_location("_hub_schema_0001", Path(__file__).with_name("0001_baseline.py"))
    if spec is None or spec.loader is None:
        raise ImportError("The schema module 0001_baseline.py next to this file cannot be loaded.")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._statements(module.SQLITE)
