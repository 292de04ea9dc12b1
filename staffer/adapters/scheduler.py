"""Periodic jobs on APScheduler 3.11's ``AsyncIOScheduler`` (started inside the loop).

* ``grid(job_id, interval_s, func)`` — wall-clock planning on the ``interval_s`` grid
  counted from midnight UTC (300 s -> 08:05:00, 08:10:00, ...), via `GridTrigger`.
* ``every(job_id, seconds, func)`` — plain intervals (override expiry, in-flight
  timeout sweep, housekeeping).

Every job is a coroutine function run on the loop, with ``coalesce=True``,
``max_instances=1`` and a misfire grace, and is wrapped so that an exception is
logged and never kills the job.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from staffer.core.clock import next_grid_time

log = logging.getLogger("staffer.scheduler")

Job = Callable[[], Awaitable[None]]


class GridTrigger(BaseTrigger):
    """Fires at whole multiples of ``interval_s`` counted from midnight UTC."""

    __slots__ = ("interval_s",)

    def __init__(self, interval_s: float) -> None:
        self.interval_s = float(interval_s)

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime:
        base = previous_fire_time if previous_fire_time is not None else now
        return datetime.fromtimestamp(next_grid_time(base.timestamp(), self.interval_s), UTC)

    def __str__(self) -> str:
        return f"grid[{self.interval_s:g}s from midnight UTC]"

    def __repr__(self) -> str:
        return f"<GridTrigger (interval_s={self.interval_s!r})>"


def _guarded(job_id: str, func: Job) -> Job:
    async def run() -> None:
        try:
            await func()
        except Exception:  # a failing job is logged and runs again next time
            log.exception("scheduled job %s failed", job_id)

    run.__name__ = f"staffer_job_{job_id}"
    return run


class Scheduler:
    """A thin owner of one AsyncIOScheduler with the daemon's job defaults."""

    def __init__(self) -> None:
        self._sched = AsyncIOScheduler(timezone=UTC)

    def start(self) -> None:
        """Start inside the running event loop."""
        self._sched.start()

    def shutdown(self) -> None:
        """Stop firing jobs (running ones finish on the loop); idempotent."""
        if self._sched.running:
            self._sched.shutdown(wait=False)

    def grid(self, job_id: str, interval_s: float, func: Job) -> None:
        """Run ``func`` at each grid time of ``interval_s`` (replacing a job of that id)."""
        self._sched.add_job(
            _guarded(job_id, func),
            GridTrigger(interval_s),
            id=job_id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, int(interval_s / 2)),
        )

    def every(self, job_id: str, seconds: float, func: Job) -> None:
        """Run ``func`` every ``seconds`` (replacing a job of that id)."""
        self._sched.add_job(
            _guarded(job_id, func),
            IntervalTrigger(seconds=seconds, timezone=UTC),
            id=job_id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )  # late is fine: run once (coalesced)

    def remove(self, job_id: str) -> None:
        """Remove a job if present."""
        if self._sched.get_job(job_id) is not None:
            self._sched.remove_job(job_id)
