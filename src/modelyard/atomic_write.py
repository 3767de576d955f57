"""Writing a file so that readers see the old bytes or the new ones, never a mix.

The new content goes to a temporary file in the same folder, which then replaces the target in one rename.
Besides surviving a crash mid-write, this matters for weights: a loaded model's tensors are views of a
memory map of the file it came from, and overwriting that file in place would change them under the model
(or kill the process with SIGBUS once the file is truncated). A rename leaves the old inode, and the map,
intact.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on error it is removed.

    The result gets the permissions of the file it replaces, or the process's default (umask) for a new
    file, whatever mode the writer gave the temporary file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        yield temp
        os.chmod(temp, _mode_for(path))
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_bytes(path: Path, data: bytes) -> None:
    with replacing(path) as temp:
        temp.write_bytes(data)


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process umask, read without changing it where Linux shows it; otherwise the common 022."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022
