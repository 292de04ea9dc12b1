"""The retained override list of a site, published at a bounded rate (issue 14, item 7).

A request flood must not republish a site's whole override list after every request:
``OverridePacer.offer`` sends at once when the site's last list went out at least
``every_s`` ago, otherwise it schedules one send at the end of that interval carrying
the latest list then (later offers only replace it). ``flush`` sends what is waiting
(on shutdown), ``cancel`` drops the timers.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence

from staffer.core.types import Override

OVERRIDES_EVERY_S = 0.5  # the retained override list of a site, at most this often

Send = Callable[[str, list[Override]], Awaitable[None]]


class OverridePacer:
    """At most one override-list publish per site per ``every_s``, always the latest."""

    def __init__(self, send: Send, every_s: float = OVERRIDES_EVERY_S) -> None:
        self._send = send
        self._every_s = every_s
        self._latest: dict[str, list[Override]] = {}  # site -> list not yet sent
        self._at: dict[str, float] = {}  # site -> monotonic time of its last send
        self._due: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def offer(self, site: str, active: Sequence[Override]) -> None:
        self._latest[site] = list(active)
        if site in self._due:
            return  # the scheduled send will carry this list
        wait_s = self._at.get(site, -math.inf) + self._every_s - time.monotonic()
        if wait_s <= 0:
            await self._send_latest(site)
            return
        self._due[site] = asyncio.get_running_loop().call_later(wait_s, self._timer, site)

    def _timer(self, site: str) -> None:
        self._due.pop(site, None)
        task = asyncio.get_running_loop().create_task(self._send_latest(site))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_latest(self, site: str) -> None:
        active = self._latest.pop(site, None)
        if active is not None:
            self._at[site] = time.monotonic()
            await self._send(site, active)

    async def flush(self) -> None:
        """Send every list still waiting for its interval now."""
        for site, handle in list(self._due.items()):
            handle.cancel()
            del self._due[site]
            await self._send_latest(site)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def cancel(self) -> None:
        for handle in self._due.values():
            handle.cancel()
        self._due.clear()
