"""An ordered outbox: the daemon's slow I/O (SQLite writes, QoS 1 publishes) off the
message path.

Handlers change in-memory state at once and queue the I/O that follows, as zero-argument
coroutine functions run one at a time, in order, by a single worker task. So a reply is
still published after the write that acknowledges it (same order as queued), while the
next inbound message does not wait for an fsync or a PUBACK. ``put`` blocks when
``maxsize`` jobs are pending (backpressure instead of unbounded memory). A failing job
is logged and the worker moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("staffer.outbox")

Job = Callable[[], Awaitable[object]]


class Outbox:
    """A FIFO of I/O jobs run by one worker task (``start()`` inside the loop)."""

    def __init__(self, maxsize: int = 10000) -> None:
        self._queue: asyncio.Queue[Job] = asyncio.Queue(maxsize)
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return self._queue.qsize()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._work(), name="staffer-outbox")

    async def put(self, job: Job) -> None:
        """Queue ``job`` (waits only when the outbox is full)."""
        if self._queue.full():
            await self._queue.put(job)
        else:
            self._queue.put_nowait(job)

    def offer(self, job: Job) -> bool:
        """Queue ``job`` without waiting (from a callback); False when the outbox is full."""
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            return False
        return True

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("output job failed")
            finally:
                self._queue.task_done()

    async def drain(self, timeout_s: float) -> bool:
        """Wait until every queued job ran (True) or ``timeout_s`` passed (False)."""
        try:
            await asyncio.wait_for(self._queue.join(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
