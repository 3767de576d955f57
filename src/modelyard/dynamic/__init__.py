"""Internals of custom code shared with the weights; the public API is :mod:`modelyard.dynamic_modules`.

- :mod:`.naming`: package names that are valid identifiers whatever the repository or folder is called.
- :mod:`.imports`: reading a module's imports with ``ast`` (never executing it) and the dependency check.
- :mod:`.closure`: the set of files a module needs (its relative imports, recursively, subpackages included).
- :mod:`.cache`: the on-disk module cache (file locks, atomic writes) and the import machinery for it.
- :mod:`.trust`: the consent gate (flag, trusted publishers keyed by hub and namespace, interactive prompt).
- :mod:`.provenance`: whether a trusted publisher committed a revision (on a branch, not a pull request).
- :mod:`.stand_in`: when a built-in class may stand in for refused custom code (a complete fit only).
- :mod:`.saving`: copying a registered class's code next to the saved files and writing ``auto_map``.
"""
