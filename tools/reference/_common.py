"""Helpers shared by the reference-fixture generators (run with .venv-ref/bin/python).

Everything written here must be byte-identical from one run to the next: fixed seeds, one CPU thread,
sorted JSON, and no timestamps.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

EXPECTED_VERSION = "4.57.6"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "tests" / "fixtures" / "parity"


def reference_version() -> str:
    import transformers

    return transformers.__version__


def reference_tag() -> str:
    return f"transformers {reference_version()}"


def check_reference(allow_other: bool = False) -> None:
    version = reference_version()
    if version != EXPECTED_VERSION and not allow_other:
        raise SystemExit(
            f"The fixtures are generated with transformers {EXPECTED_VERSION}, but this interpreter has "
            f"{version}. Run `make reference` and use .venv-ref/bin/python, or pass --allow-other-version."
        )


def quiet_reference() -> None:
    """Silence the reference's advisory logging (deprecations, 'rescaled images' hints)."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import transformers

    transformers.logging.set_verbosity_error()



def run_case_generator(doc: str, generate: Callable[[Path, list[str] | None], object]) -> None:
    """The command line every case generator shares: ``--out``, repeatable ``--case``, ``--allow-other-version``;
    the reference checked and quietened, one thread (the fixtures must not depend on the thread count)."""
    import argparse

    import torch

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--case", action="append", help="only this case (repeatable)")
    parser.add_argument("--allow-other-version", action="store_true")
    args = parser.parse_args()
    check_reference(args.allow_other_version)
    quiet_reference()
    torch.set_num_threads(1)
    generate(args.out, args.case)

def stable_seed(name: str) -> int:
    """A seed derived from a case name, the same on every machine and Python version."""
    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


def seed_everything(seed: int) -> None:
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def json_text(obj: Any, *, compact: bool = False) -> str:
    if compact:
        return json.dumps(obj, sort_keys=True, ensure_ascii=True, separators=(",", ":")) + "\n"
    return json.dumps(obj, sort_keys=True, ensure_ascii=True, indent=1) + "\n"


def write_json(path: Path, obj: Any, *, compact: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json_text(obj, compact=compact), encoding="utf-8")


def fresh_dir(path: Path) -> Path:
    """Empty `path` (created if missing) so a regeneration leaves no stale files behind."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def jsonable(value: Any) -> Any:
    """Turn reference outputs (numpy / torch scalars and arrays, tuples, enums) into plain JSON values."""
    import enum

    import numpy as np

    try:
        import torch
    except ImportError:  # pragma: no cover - the reference venv always has torch
        torch = None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if torch is not None and isinstance(value, torch.Tensor):
        return value.tolist()
    return value


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def capture_warnings():
    """Collect what the reference logs (warning and up) and warns inside the block, in order."""
    import transformers

    handler = _Capture()
    logger = logging.getLogger("transformers")
    old = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_warning()
    transformers.logging.disable_default_handler()  # captured, not printed
    logger.addHandler(handler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield handler.messages
        finally:
            logger.removeHandler(handler)
            transformers.logging.enable_default_handler()
            transformers.logging.set_verbosity(old)
            handler.messages.extend(str(w.message) for w in caught)
