"""Is the state database taking writes? One flag for the whole daemon.

Every write the daemon makes goes through the `Emitter` (`staffer.adapters.emitter`),
which reports each outcome here. The first failed write (disk full, read-only file, I/O
error) flips the daemon into "storage failing": ``staffer_storage_ok`` drops to 0,
``/readyz`` answers 503, and ONE error line is logged (then at most one per
``period_s``, with the number of failures since, never a traceback per request).
Requests are answered ``storage`` (``staffer.vocabulary.STORAGE``) and nothing is
commanded or counted while it lasts. The next write that succeeds flips everything
back and logs the recovery: no restart needed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("staffer.store")


class StoreHealth:
    """Tracks whether state writes succeed (``ok``); ``on_change(ok)`` sets the gauge."""

    def __init__(
        self,
        on_change: Callable[[bool], object] = lambda _ok: None,
        period_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ok = True
        self.failures = 0  # failed writes since storage last worked
        self._on_change = on_change
        self._period_s = period_s
        self._clock = clock
        self._logged_at = -float("inf")
        self._logged_failures = 0
        on_change(True)

    def reason(self) -> str | None:
        """None while writes succeed, else why the daemon is not ready."""
        return None if self.ok else "state storage failing: writes to the state database fail"

    def succeeded(self) -> None:
        if self.ok:
            return
        log.warning(
            "state storage recovered: writes succeed again after %d failed write(s)",
            self.failures,
        )
        self.ok, self.failures = True, 0
        self._on_change(True)

    def failed(self, err: BaseException) -> None:
        self.failures += 1
        now = self._clock()
        if self.ok:
            self.ok = False
            self._on_change(False)
            self._say(now, f"state storage FAILING, requests are answered 'storage': {err}")
        elif now - self._logged_at >= self._period_s:
            since = self.failures - self._logged_failures
            self._say(now, f"state storage still failing ({since} more failed write(s)): {err}")

    def _say(self, now: float, msg: str) -> None:
        self._logged_at, self._logged_failures = now, self.failures
        log.error("%s", msg)
