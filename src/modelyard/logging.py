"""Verbosity and progress bars of the library, with the reference library's function names.

modelyard logs through the standard :mod:`logging` module under the ``modelyard`` logger. Left alone, its
records propagate to whatever the application configured (and warnings reach stderr as usual). Calling
any ``set_verbosity*`` function (or setting ``MODELYARD_VERBOSITY=info``) gives the library a handler of
its own on stderr at that level, as the reference does, so ``set_verbosity_info()`` alone shows info.

Progress bars (sharded saves and loads, uploads) are tqdm bars; ``disable_progress_bar()`` or
``HF_HUB_DISABLE_PROGRESS_BARS=1`` turns them off.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from logging import CRITICAL, DEBUG, ERROR, FATAL, INFO, NOTSET, WARN, WARNING

LIBRARY_LOGGER = "modelyard"
VERBOSITY_ENV = "MODELYARD_VERBOSITY"
_LEVELS = {"debug": DEBUG, "info": INFO, "warning": WARNING, "error": ERROR, "critical": CRITICAL}
_TRUTHY = {"1", "true", "yes", "on"}

_lock = threading.Lock()
_default_handler: logging.Handler | None = None
_progress_bars_enabled: bool | None = None  # None: follow the environment


def _library_logger() -> logging.Logger:
    return logging.getLogger(LIBRARY_LOGGER)


def _install_default_handler() -> None:
    global _default_handler
    with _lock:
        if _default_handler is not None:
            return
        handler = logging.StreamHandler(sys.stderr)
        handler.flush = sys.stderr.flush  # type: ignore[method-assign]  # flush through to the current stderr
        logger = _library_logger()
        logger.addHandler(handler)
        logger.propagate = False
        _default_handler = handler
        env = os.environ.get(VERBOSITY_ENV, "").strip().lower()
        if env and logger.level == NOTSET:
            if env not in _LEVELS:
                logging.getLogger(__name__).warning(
                    "%s=%r is not a level; use one of %s.", VERBOSITY_ENV, env, ", ".join(_LEVELS)
                )
            else:
                logger.setLevel(_LEVELS[env])
        if logger.level == NOTSET:
            logger.setLevel(WARNING)


def get_logger(name: str | None = None) -> logging.Logger:
    """The library's logger, or the logger ``name`` (e.g. ``__name__`` of a custom model file)."""
    return logging.getLogger(name or LIBRARY_LOGGER)


def get_verbosity() -> int:
    """The library's effective level (``logging.WARNING`` unless changed)."""
    return _library_logger().getEffectiveLevel()


def set_verbosity(verbosity: int) -> None:
    """Show the library's records at ``verbosity`` and above (``modelyard.logging.INFO``, ...) on stderr."""
    if not isinstance(verbosity, int) or isinstance(verbosity, bool):
        raise TypeError(f"verbosity must be a logging level such as modelyard.logging.INFO, got {verbosity!r}.")
    _install_default_handler()
    _library_logger().setLevel(verbosity)


def verbosity_shortcuts(
    setter: Callable[[int], None], module: str
) -> tuple[Callable[[], None], Callable[[], None], Callable[[], None], Callable[[], None]]:
    """``set_verbosity_debug``, ``_info``, ``_warning`` and ``_error`` of the module ``module``, each calling
    ``setter`` (that module's ``set_verbosity``) with its level."""

    def shortcut(level_name: str, level: int) -> Callable[[], None]:
        def set_level() -> None:
            setter(level)

        set_level.__name__ = set_level.__qualname__ = f"set_verbosity_{level_name}"
        set_level.__module__ = module
        set_level.__doc__ = f"``set_verbosity({level_name.upper()})``."
        return set_level

    return shortcut("debug", DEBUG), shortcut("info", INFO), shortcut("warning", WARNING), shortcut("error", ERROR)


set_verbosity_debug, set_verbosity_info, set_verbosity_warning, set_verbosity_error = verbosity_shortcuts(
    set_verbosity, __name__
)


def disable_default_handler() -> None:
    """Remove the library's own stderr handler (records propagate to the application's handlers again)."""
    global _default_handler
    with _lock:
        if _default_handler is not None:
            logger = _library_logger()
            logger.removeHandler(_default_handler)
            logger.propagate = True
            _default_handler = None


def enable_default_handler() -> None:
    _install_default_handler()


def add_handler(handler: logging.Handler) -> None:
    _library_logger().addHandler(handler)


def remove_handler(handler: logging.Handler) -> None:
    _library_logger().removeHandler(handler)


def enable_propagation() -> None:
    _library_logger().propagate = True


def disable_propagation() -> None:
    _library_logger().propagate = False


def enable_explicit_format() -> None:
    """``[LEVEL|file:line] time >> message`` on every handler of the library logger."""
    formatter = logging.Formatter("[%(levelname)s|%(filename)s:%(lineno)s] %(asctime)s >> %(message)s")
    for handler in _library_logger().handlers:
        handler.setFormatter(formatter)


def reset_format() -> None:
    for handler in _library_logger().handlers:
        handler.setFormatter(None)


def disable_progress_bar() -> None:
    global _progress_bars_enabled
    _progress_bars_enabled = False


def enable_progress_bar() -> None:
    global _progress_bars_enabled
    _progress_bars_enabled = True


def is_progress_bar_enabled() -> bool:
    return progress_bars_enabled()


def progress_bars_enabled() -> bool:
    """Whether the library shows progress bars: the last enable/disable call, else the environment."""
    if _progress_bars_enabled is not None:
        return _progress_bars_enabled
    return os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS", "").strip().lower() not in _TRUTHY


__all__ = [
    "CRITICAL", "DEBUG", "ERROR", "FATAL", "INFO", "NOTSET", "WARN", "WARNING",
    "add_handler", "disable_default_handler", "disable_progress_bar", "disable_propagation",
    "enable_default_handler", "enable_explicit_format", "enable_progress_bar", "enable_propagation",
    "get_logger", "get_verbosity", "is_progress_bar_enabled", "progress_bars_enabled", "remove_handler",
    "reset_format", "set_verbosity", "set_verbosity_debug", "set_verbosity_error", "set_verbosity_info",
    "set_verbosity_warning",
]
