"""The sites' last plans on their way to the store (``plans`` table), newest wins.

A plan is not an acknowledgement: it is stored so a restarted daemon can republish it.
A plan without a command waits here for a batched flush (``take_all``: several plans, one
outbox job). A plan whose moves are commanded rides in its command's transaction instead
(``rider``), so the command waits for one fsync, not two (issue 17). Either way only the
newest plan of a site is ever written last: a rider taken after a newer plan of its site
already reached the store writes nothing, and one taken while a newer plan still waits
here writes that newer one.
"""

from __future__ import annotations

from collections.abc import Callable

LastPlan = tuple[bytes, float]  # (the JSON as published, as_of)


class LastPlans:
    """Plans handed to the emitter and not written yet, per site (one event loop)."""

    def __init__(self) -> None:
        self._waiting: dict[str, LastPlan] = {}
        self._seq: dict[str, int] = {}  # plans handed in per site, riders included

    def put(self, site: str, plan: LastPlan) -> bool:
        """A plan for the next flush; True when nothing was waiting (queue a flush)."""
        first = not self._waiting
        self._seq[site] = self._seq.get(site, 0) + 1
        self._waiting[site] = plan
        return first

    def take_all(self) -> dict[str, LastPlan]:
        """Every waiting plan (the flush writes them)."""
        waiting, self._waiting = self._waiting, {}
        return waiting

    def rider(self, site: str, plan: LastPlan) -> Callable[[], LastPlan | None]:
        """``plan`` for its command's transaction: the returned function, called when that
        transaction is built, gives the plan to write with it (None: a newer one of the
        site is already written)."""
        seq = self._seq[site] = self._seq.get(site, 0) + 1

        def take() -> LastPlan | None:
            newer = self._waiting.pop(site, None)  # put after this rider, not flushed yet
            if newer is not None:
                return newer
            return plan if self._seq[site] == seq else None

        return take
