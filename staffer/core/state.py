"""Per-site live state: latest queue snapshots, smoothed estimates, the agent roster.

The daemon ingests tens of thousands of messages per second, so every update is O(1):
a snapshot updates the queue's latest value, a bounded history and the incremental
smoothed estimate (``forecast.LiveEstimate``); an agent state replaces the roster entry.
Out-of-order and duplicate messages are ignored and reported through the return value so
the shell can count them. No I/O, no clocks: every time comes from the messages.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Iterator, Mapping

from staffer.core.forecast import LiveEstimate, ScheduledForecast
from staffer.core.types import AgentState, QueueSnapshot

DEFAULT_HISTORY = 96  # snapshots kept per queue (8 h of 5-minute intervals)
DEFAULT_MAX_AGENTS = 5000  # roster bound per site (``[[sites]] max_agents``)
UNKNOWN_SINCE = -math.inf  # assignment start of an agent first seen mid-assignment
MAX_LEFT = 16  # queues remembered per agent for min_return_s


class Applied(enum.Enum):
    """Outcome of applying one message; truthy only when the state changed."""

    OK = "ok"
    STALE = "stale"  # older than the latest message for that queue/agent
    DUPLICATE = "duplicate"  # same timestamp as the latest snapshot of that queue
    FULL = "full"  # a new agent id while the roster is at ``max_agents``

    def __bool__(self) -> bool:
        return self is Applied.OK


class QueueTrack:
    """Everything known about one queue: latest snapshot, short history, live estimate."""

    __slots__ = ("estimate", "history", "latest")

    def __init__(self, half_life_s: float, history: int) -> None:
        self.latest: QueueSnapshot | None = None
        self.history: deque[QueueSnapshot] = deque(maxlen=history)
        self.estimate = LiveEstimate(half_life_s)


class SiteState:
    """Mutable live state of one site; methods are pure functions of their inputs.

    ``half_life_s`` is the smoothing half-life of the live forecast
    (``PlannerSettings.smoothing_half_life_s``); ``history`` bounds the per-queue history;
    ``schedule`` is the site's scheduled forecast, if any (``load_forecast_csv``).
    """

    __slots__ = (
        "_assigned_since",
        "_half_life_s",
        "_history",
        "_left",
        "_queues",
        "_roster",
        "clock",
        "max_agents",
        "schedule",
        "site",
    )

    def __init__(
        self,
        site: str = "",
        half_life_s: float = 900.0,
        history: int = DEFAULT_HISTORY,
        max_agents: int = DEFAULT_MAX_AGENTS,
    ) -> None:
        if half_life_s <= 0 or history < 1 or max_agents < 1:
            raise ValueError("half_life_s must be > 0, history >= 1 and max_agents >= 1")
        self.site = site
        self.max_agents = max_agents
        self.clock: float = -math.inf  # latest ts seen in any applied message
        self._half_life_s = half_life_s
        self._history = history
        self._queues: dict[str, QueueTrack] = {}
        self._roster: dict[str, AgentState] = {}
        self._assigned_since: dict[str, float] = {}
        self._left: dict[str, dict[str, float]] = {}  # agent -> queue -> when it left
        # Scheduled forecast for this site (set by the shell from ``forecast_file``).
        self.schedule: ScheduledForecast | None = None

    # -- ingest ---------------------------------------------------------------------------

    def apply_snapshot(self, queue_id: str, snap: QueueSnapshot) -> Applied:
        """Record one queue snapshot; ignore it when not newer than the queue's latest."""
        track = self._queues.get(queue_id)
        if track is None:
            track = self._queues[queue_id] = QueueTrack(self._half_life_s, self._history)
        latest = track.latest
        if latest is not None:
            if snap.ts < latest.ts:
                return Applied.STALE
            if snap.ts == latest.ts:
                return Applied.DUPLICATE
        track.estimate.update(snap, latest)
        track.latest = snap
        track.history.append(snap)
        if snap.ts > self.clock:
            self.clock = snap.ts
        return Applied.OK

    def apply_agent(self, agent: AgentState) -> Applied:
        """Record an agent's state; an older ts than the agent's latest is ignored.

        An equal ts is applied (last writer wins): retained states are redelivered on
        reconnect and reapplying one is harmless. A queue change starts the dwell clock at
        the message's ts; an agent seen for the first time has an unknown start
        (``UNKNOWN_SINCE``), so dwell never blocks it.
        """
        prev = self._roster.get(agent.agent)
        if prev is not None and agent.ts < prev.ts:
            return Applied.STALE
        if prev is None and len(self._roster) >= self.max_agents:
            return Applied.FULL  # bounded memory against a flood of invented agent ids
        if prev is None:
            self._assigned_since[agent.agent] = UNKNOWN_SINCE
        elif prev.queue != agent.queue:
            self._assigned_since[agent.agent] = agent.ts
            if prev.queue is not None:  # for min_return_s (contract §11)
                left = self._left.setdefault(agent.agent, {})
                left[prev.queue] = agent.ts
                if len(left) > MAX_LEFT:  # bounded whatever queue ids a bridge invents
                    del left[min(left, key=left.__getitem__)]
        self._roster[agent.agent] = agent
        if agent.ts > self.clock:
            self.clock = agent.ts
        return Applied.OK

    # -- queries --------------------------------------------------------------------------

    @property
    def half_life_s(self) -> float:
        return self._half_life_s

    @property
    def roster(self) -> Mapping[str, AgentState]:
        """Agent id -> latest state (read-only view)."""
        return self._roster

    def queue_ids(self) -> Iterator[str]:
        return iter(self._queues)

    def latest(self, queue_id: str) -> QueueSnapshot | None:
        track = self._queues.get(queue_id)
        return None if track is None else track.latest

    def history(self, queue_id: str) -> tuple[QueueSnapshot, ...]:
        """Recent snapshots of a queue, oldest first (bounded)."""
        track = self._queues.get(queue_id)
        return () if track is None else tuple(track.history)

    def estimate(self, queue_id: str) -> LiveEstimate | None:
        track = self._queues.get(queue_id)
        return None if track is None else track.estimate

    @property
    def assignment_starts(self) -> Mapping[str, float]:
        """Agent id -> when its current assignment started (read-only view; -inf unknown)."""
        return self._assigned_since

    @property
    def left_queues(self) -> Mapping[str, Mapping[str, float]]:
        """Agent id -> queue -> when the agent last left that queue (read-only view)."""
        return self._left

    def assigned_since(self, agent_id: str) -> float:
        """When the agent's current queue assignment started (-inf when unknown)."""
        return self._assigned_since.get(agent_id, UNKNOWN_SINCE)
