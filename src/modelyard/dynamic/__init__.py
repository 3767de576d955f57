"""Custom code, the core half: what saving and inspecting custom code needs, nothing that fetches or runs it.

The loading half (consent, fetching, the module cache, the ``transformers`` namespace remote code sees) is the
upper package :mod:`modelyard.dynamic_modules`, which is also the public API.

- :mod:`.naming`: package names that are valid identifiers whatever the repository or folder is called.
- :mod:`.imports`: reading a module's imports with ``ast`` (never executing it) and the dependency check.
- :mod:`.closure`: the set of files a module needs (its relative imports, recursively, subpackages included).
- :mod:`.portability`: what ties a module to modelyard rather than to the reference's API (``check_portable_code``).
- :mod:`.origins`: which top-level names a module of remote code may import as ``transformers``.
- :mod:`.stand_in`: when a built-in class may stand in for refused custom code (a complete fit only).
- :mod:`.saving`: copying a registered class's code next to the saved files and writing ``auto_map``.
"""
