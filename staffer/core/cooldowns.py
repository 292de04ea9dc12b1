"""Cool-downs: (agent, queue) pairs the planner must not propose or command for a while.

Two events mean "do not move this agent to this queue again for ``reject_cooldown_s``":
a bridge's ``rejected`` acknowledgement of a move (contract §10) and a supervisor's
``reject`` of a proposal (§9). Both land in one :class:`CooldownBook` per site; the
planner receives the active pairs as ``Controls.blocked_moves`` and skips them. A
supervisor's ``assign`` is not the planner and is not blocked.

Pure: the caller passes the clock (the site's clock, wall or event). A cool-down ends
when the clock reaches ``until``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Cooldown:
    """No planner move of ``agent`` to ``queue`` before ``until`` (POSIX seconds)."""

    agent: str
    queue: str
    until: float
    reason: str = ""
    source: str = ""  # who refused: "bridge", or the supervisor who rejected a proposal


class CooldownBook:
    """The cool-downs of one site, one per (agent, queue) pair."""

    __slots__ = ("_pairs",)

    def __init__(self, cooldowns: Iterable[Cooldown] = ()) -> None:
        self._pairs: dict[tuple[str, str], Cooldown] = {}
        for c in cooldowns:
            self.put(c)

    def __len__(self) -> int:
        return len(self._pairs)

    def __iter__(self) -> Iterator[Cooldown]:
        return iter(list(self._pairs.values()))

    def put(self, cooldown: Cooldown) -> Cooldown:
        """Record ``cooldown``; when the pair already cools down longer, that one stays.
        Returns the cool-down in effect for the pair."""
        key = (cooldown.agent, cooldown.queue)
        old = self._pairs.get(key)
        if old is not None and old.until > cooldown.until:
            return old
        self._pairs[key] = cooldown
        return cooldown

    def add(
        self, agent: str, queue: str, until: float, reason: str = "", source: str = ""
    ) -> Cooldown:
        """``put`` from its fields."""
        return self.put(Cooldown(agent, queue, until, reason, source))

    def blocks(self, agent: str, queue: str, now: float) -> bool:
        """True while moving ``agent`` to ``queue`` is cooling down at ``now``."""
        c = self._pairs.get((agent, queue))
        return c is not None and now < c.until

    def active(self, now: float) -> frozenset[tuple[str, str]]:
        """The (agent, queue) pairs blocked at ``now`` (for ``Controls.blocked_moves``)."""
        return frozenset(k for k, c in self._pairs.items() if now < c.until)

    def expire(self, now: float) -> list[Cooldown]:
        """Drop and return the cool-downs that ended at or before ``now``."""
        gone = [c for c in self._pairs.values() if now >= c.until]
        for c in gone:
            del self._pairs[(c.agent, c.queue)]
        return gone
