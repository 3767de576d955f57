"""Compatibility namespaces for code written against other libraries.

:mod:`modelyard.compat.transformers` is what custom code shared for the transformers library gets when it
imports ``transformers`` while modelyard runs it (with the user's consent): modelyard's own classes under the
reference library's names and module paths. It is never installed as ``sys.modules["transformers"]``; only
modules of remote code (``modelyard_modules.*``) see it, through :mod:`modelyard.dynamic_modules.remote_imports`.
"""
