"""``transformers.utils.logging`` for remote code: loggers with ``warning_once`` and the verbosity switches.

Remote code writes ``logger = logging.get_logger(__name__)``; its module name is ``modelyard_modules.…``, so
its records go through the standard ``logging`` tree like any library's. The verbosity functions act on
modelyard's loggers and on those of remote code (``modelyard`` and ``modelyard_modules``), never on the
root logger or anyone else's; the rest is :mod:`modelyard.logging` itself. ``warning_once`` is a method of the returned logger here; the reference adds
it to every ``logging.Logger`` of the process, which modelyard does not do.
"""

from __future__ import annotations

import functools
import logging as _logging
from typing import Any

from modelyard import logging as library_logging
from modelyard.compat.transformers._namespace import declare

CRITICAL = _logging.CRITICAL
FATAL = _logging.FATAL
ERROR = _logging.ERROR
WARNING = _logging.WARNING
WARN = _logging.WARN
INFO = _logging.INFO
DEBUG = _logging.DEBUG
NOTSET = _logging.NOTSET

_REMOTE_LOGGERS = "modelyard_modules"  # the package remote code is imported under


class _CompatLogger(_logging.LoggerAdapter):
    """A standard logger plus the reference's ``warning_once`` / ``info_once`` / ``warning_advice``."""

    def __init__(self, logger: _logging.Logger) -> None:
        super().__init__(logger, {})

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return msg, kwargs

    @functools.lru_cache(None)  # noqa: B019 - deliberately once per (logger, message) for the process
    def warning_once(self, *args: Any, **kwargs: Any) -> None:
        self.warning(*args, **kwargs)

    @functools.lru_cache(None)  # noqa: B019
    def info_once(self, *args: Any, **kwargs: Any) -> None:
        self.info(*args, **kwargs)

    def warning_advice(self, *args: Any, **kwargs: Any) -> None:
        self.warning(*args, **kwargs)

    # handlers and filters belong to the logger itself (``logger.addHandler(...)`` in code written for the
    # reference, whose get_logger returns a plain logging.Logger)
    def addHandler(self, handler: _logging.Handler) -> None:  # noqa: N802 - logging's name
        self.logger.addHandler(handler)

    def removeHandler(self, handler: _logging.Handler) -> None:  # noqa: N802
        self.logger.removeHandler(handler)

    def addFilter(self, log_filter: Any) -> None:  # noqa: N802
        self.logger.addFilter(log_filter)

    def removeFilter(self, log_filter: Any) -> None:  # noqa: N802
        self.logger.removeFilter(log_filter)

    @property
    def handlers(self) -> list[_logging.Handler]:
        return self.logger.handlers

    @property
    def filters(self) -> list[Any]:
        return self.logger.filters

    @property
    def level(self) -> int:
        return self.logger.level

    @property
    def propagate(self) -> bool:
        return self.logger.propagate

    @propagate.setter
    def propagate(self, value: bool) -> None:
        self.logger.propagate = value


@functools.lru_cache(None)
def _adapter(name: str) -> _CompatLogger:
    return _CompatLogger(_logging.getLogger(name))


def get_logger(name: str | None = None) -> _CompatLogger:
    """``name``'s logger; without a name, the library's root as the reference names it (``transformers``), whose
    handlers receive modelyard's records (see :class:`_ToReferenceLoggers`)."""
    return _adapter(name or "transformers")


# Where the reference logs what modelyard logs under these modules (family modules share the Hub's file names).
_REFERENCE_LOGGERS = {
    "modelyard.modeling": "transformers.modeling_utils",
    "modelyard.module_utils": "transformers.modeling_utils",
    "modelyard.configuration": "transformers.configuration_utils",
    "modelyard.tokenization": "transformers.tokenization_utils_base",
    "modelyard.feature_extraction": "transformers.feature_extraction_utils",
    "modelyard.image_processing": "transformers.image_processing_utils",
    "modelyard.processing": "transformers.processing_utils",
    "modelyard.training": "transformers.trainer",
    "modelyard.generation": "transformers.generation.utils",
}


def _reference_logger_name(name: str) -> str:
    """The reference's logger for a modelyard logger name: ``modelyard.models.bert.modeling_bert`` ->
    ``transformers.models.bert.modeling_bert``, the core's modules -> their reference module, else ``transformers``."""
    if name.startswith("modelyard.models."):
        return "transformers" + name[len("modelyard"):]
    for prefix, reference in _REFERENCE_LOGGERS.items():
        if name == prefix or name.startswith(prefix + "."):
            return reference
    return "transformers"


class _ToReferenceLoggers(_logging.Handler):
    """Hands modelyard's records to the handlers that code written for the reference put on the ``transformers``
    loggers (``logging.getLogger("transformers").addHandler(...)``, ``assertLogs("transformers")``), walking from
    the matching reference logger up to ``transformers`` as propagation would, and never further (the records
    reach the root through the ``modelyard`` logger already)."""

    def emit(self, record: _logging.LogRecord) -> None:
        logger: _logging.Logger | None = _logging.getLogger(_reference_logger_name(record.name))
        if logger is None or not logger.isEnabledFor(record.levelno):
            return
        while logger is not None and logger.name.startswith("transformers"):
            for handler in logger.handlers:
                if record.levelno >= handler.level:
                    handler.handle(record)
            if not logger.propagate:
                break
            logger = logger.parent


def _forward_to_reference_loggers() -> None:
    library = _logging.getLogger(library_logging.LIBRARY_LOGGER)
    if not any(isinstance(handler, _ToReferenceLoggers) for handler in library.handlers):
        library.addHandler(_ToReferenceLoggers())


_forward_to_reference_loggers()


def set_verbosity(verbosity: int) -> None:
    """modelyard's verbosity (:func:`modelyard.logging.set_verbosity`), applied to remote code's loggers and to
    the ``transformers`` logger too (handlers that code written for the reference put there see modelyard's
    records at that level: ``set_verbosity_info()`` then ``logging.getLogger("transformers").addHandler(...)``)."""
    library_logging.set_verbosity(verbosity)
    _logging.getLogger(_REMOTE_LOGGERS).setLevel(verbosity)
    _logging.getLogger("transformers").setLevel(verbosity)


set_verbosity_debug, set_verbosity_info, set_verbosity_warning, set_verbosity_error = (
    library_logging.verbosity_shortcuts(set_verbosity, __name__)
)


# The rest is modelyard's own (modelyard.logging), under the reference's names.
_SHARED = ("get_verbosity", "enable_propagation", "disable_propagation", "enable_default_handler",
           "disable_default_handler", "enable_progress_bar", "disable_progress_bar", "is_progress_bar_enabled",
           "enable_explicit_format", "reset_format", "add_handler", "remove_handler")

__getattr__, __dir__ = declare(
    globals(),
    {name: f"modelyard.logging:{name}" for name in _SHARED},
    constants=("CRITICAL", "FATAL", "ERROR", "WARNING", "WARN", "INFO", "DEBUG", "NOTSET"),
)
