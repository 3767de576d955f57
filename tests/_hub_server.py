"""Placeholder for the live hub-server fixture (filled in by the hub work)."""
