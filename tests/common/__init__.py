"""Shared test helpers (importable as `common.*` from the tests)."""
