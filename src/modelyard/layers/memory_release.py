"""Give memory back to the system when inference set-up replaced or measured weights (Linux, glibc).

A weight re-laid for inference leaves two kinds of garbage behind:

**The pages of a memory-mapped checkpoint.** A checkpoint loaded from safetensors leaves each weight a view of the file's memory map: its pages count in
the process's resident memory once read. When a weight is replaced by a copy (say, re-laid column-major for
inference), the old pages stay resident until memory runs short, so the process holds the weight twice.
``MADV_PAGEOUT`` (Linux 5.4+) asks the kernel to reclaim them now. It never changes what memory holds: a clean
page of a file is read again from the file if touched, a modified one goes to swap or stays; it is only a hint.
We ask only for ranges inside a file mapping, whole pages entirely under the tensor: anonymous memory is freed
by its allocator anyway, and paging it out first would only write it to swap.

**Freed heap memory.** glibc's malloc keeps freed blocks in its heap for reuse; when something allocated later
sits above them, large freed blocks (the weights timed by ``transposed_rows``) stay resident for the
life of the process. ``malloc_trim`` returns the free pages in the middle of the heap too.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import mmap
import sys
from collections.abc import Callable

import torch

logger = logging.getLogger(__name__)

_MADV_PAGEOUT = 21  # <linux/mman.h>
_PAGE = mmap.PAGESIZE


@functools.cache
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


@functools.cache
def _madvise() -> Callable[[int, int, int], int] | None:
    libc = _libc()
    function = getattr(libc, "madvise", None)
    if function is None:
        return None
    function.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]  # a ctypes foreign function, typed by argtypes above


def file_mappings() -> list[tuple[int, int]]:
    """The address ranges of this process mapped from files (``/proc/self/maps``), sorted; empty elsewhere."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            lines = maps.readlines()
    except OSError:
        return []
    ranges = []
    for line in lines:
        fields = line.split(maxsplit=5)
        # Fields: range, permissions, offset, device, inode, path. An inode of 0 is anonymous memory.
        if len(fields) == 6 and fields[4] != "0" and fields[5].startswith("/"):
            low, high = fields[0].split("-")
            ranges.append((int(low, 16), int(high, 16)))
    return sorted(ranges)


def release_file_pages(tensor: torch.Tensor, mappings: list[tuple[int, int]]) -> bool:
    """Ask the kernel to reclaim the whole pages under ``tensor`` (contiguous, on CPU) when they lie inside
    one of ``mappings`` (see :func:`file_mappings`). True when the request was made and accepted."""
    madvise = _madvise()
    if madvise is None or tensor.device.type != "cpu" or not tensor.is_contiguous() or not tensor.numel():
        return False
    first = tensor.data_ptr()
    start = -(-first // _PAGE) * _PAGE
    end = (first + tensor.numel() * tensor.element_size()) // _PAGE * _PAGE
    if end <= start or not any(low <= start and end <= high for low, high in mappings):
        return False
    if madvise(start, end - start, _MADV_PAGEOUT) != 0:  # an older kernel: EINVAL; nothing is lost
        logger.debug("madvise(MADV_PAGEOUT) refused (errno %d)", ctypes.get_errno())
        return False
    return True


def trim_heap() -> bool:
    """Return the C heap's free pages to the system (glibc's ``malloc_trim``); False where there is none."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is None:  # musl and other C libraries
        return False
    trim.argtypes = (ctypes.c_size_t,)
    trim.restype = ctypes.c_int
    return bool(trim(0))
