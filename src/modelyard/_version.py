"""The package version, in a module of its own so that modules inside the package read it without importing
the package root (whose lazy export table names everything). ``pyproject.toml`` reads it from here too."""

__version__ = "0.1.0"
