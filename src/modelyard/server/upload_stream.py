"""Receiving a large request body in blocks, processed in worker threads while the next block arrives.

LFS uploads (hash + write) and Xet xorb uploads (parse + write) both stream gigabytes: while the event loop
receives the next block, the previous one goes through the consumers in worker threads (hashlib, the
parsers' hashing and file writes release the GIL), so one upload is not limited to one core. Two
preallocated, page-aligned blocks take turns: fresh multi-MiB buffers per block would cost page faults per
GiB, and aligned full blocks let the blob writer use direct I/O.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from modelyard.server.blobstore import aligned_buffer
from modelyard.server.errors import HubHTTPError

BLOCK_SIZE = 4 * 1024 * 1024


async def stream_blocks(request: Request, consumers: tuple[Callable[[memoryview], Any], ...], *, limit: int,
                        too_large: Callable[[], HubHTTPError], block_size: int = BLOCK_SIZE) -> None:
    """Feed the body of ``request`` to every consumer, block by block (the last block may be shorter), each
    block in its own worker thread per consumer; raise ``too_large()`` once more than ``limit`` bytes came.

    A consumer's exception propagates after the block in flight has landed, so the caller may abort or roll
    back its writer safely.
    """
    blocks = [aligned_buffer(block_size), aligned_buffer(block_size)]
    current, fill, received = 0, 0, 0
    pending: asyncio.Future[Any] | None = None

    async def flush() -> None:
        nonlocal pending, current, fill
        if pending is not None:
            await pending  # the other block is free again
        data = memoryview(blocks[current])[:fill]
        pending = asyncio.gather(*(run_in_threadpool(consume, data) for consume in consumers))
        current, fill = 1 - current, 0

    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise too_large()
            view = memoryview(chunk)
            while view:
                n = min(len(view), block_size - fill)
                blocks[current][fill:fill + n] = view[:n]
                fill += n
                view = view[n:]
                if fill == block_size:
                    await flush()
        if fill:
            await flush()
        if pending is not None:
            await pending
            pending = None
    except Exception:
        if pending is not None:  # let the in-flight block land before the caller aborts or rolls back
            await asyncio.wait([pending])
            pending.exception()
            pending = None
        raise
    finally:
        if pending is not None:  # cancelled: the writer's abort/rollback locks wait for this write
            pending.add_done_callback(lambda f: f.cancelled() or f.exception())
