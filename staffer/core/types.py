"""Plain value types shared by the pure core, the daemon shell and the simulator.

Times are POSIX seconds (float, UTC); rates are per second; durations seconds.
The wire codec converts to and from RFC 3339 and JSON at the edge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from staffer.vocabulary import (
    MOVABLE_FIRST,
    STAFFED_STATUSES,
    AckStatus,
    AgentStatus,
    Channel,
    Mode,
)

__all__ = [  # the vocabulary's names are re-exported for the core's callers
    "MOVABLE_FIRST",
    "STAFFED_STATUSES",
    "AckStatus",
    "AgentLock",
    "AgentState",
    "AgentStatus",
    "Assignment",
    "AuditRecord",
    "Channel",
    "Controls",
    "GoalOverride",
    "InFlightMove",
    "MalformedRequest",
    "Mode",
    "ModeOverride",
    "Move",
    "MoveAck",
    "Override",
    "OverridePayload",
    "OverrideReply",
    "OverrideRequest",
    "Pin",
    "Plan",
    "QueuePlan",
    "QueueSnapshot",
    "RequestId",
]


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """One interval of live metrics for one queue (contract §3.1)."""

    ts: float
    interval_s: float
    offered: int
    waiting: int
    answered: int | None = None
    abandoned: int | None = None
    answered_within_target: int | None = None
    aht_s: float | None = None
    oldest_wait_s: float | None = None
    backlog: int | None = None
    oldest_age_s: float | None = None

    @property
    def observed_service_level(self) -> float | None:
        """answered_within_target over answered (if reported) else offered; None if
        undefined (no ``answered_within_target`` or no denominator)."""
        if self.answered_within_target is None:
            return None
        denom = self.answered if self.answered is not None else self.offered
        if not denom:
            return None
        return min(1.0, self.answered_within_target / denom)


@dataclass(frozen=True, slots=True)
class AgentState:
    """An agent's latest reported state (contract §3.2)."""

    agent: str
    ts: float
    status: AgentStatus
    queue: str | None
    skills: frozenset[str]
    available_until: float | None = None  # scheduled break or shift end (contract §11)

    @property
    def staffed(self) -> bool:
        return self.status in STAFFED_STATUSES


@dataclass(frozen=True, slots=True)
class Move:
    """Reassign one agent; a bridge applies it after the agent's current contact."""

    agent: str
    from_queue: str | None
    to_queue: str
    reason: str
    after_current_contact: bool = True


@dataclass(frozen=True, slots=True)
class InFlightMove:
    """A move already commanded and not yet confirmed by the agent's state."""

    agent: str
    to_queue: str
    command_id: str
    issued_at: float
    accepted_at: float | None = None  # when the bridge acknowledged it ``accepted`` (§10)


@dataclass(frozen=True, slots=True)
class MoveAck:
    """A bridge's acknowledgement of one move of one command (contract §10)."""

    agent: str
    ts: float
    command_id: str
    to_queue: str
    status: AckStatus
    reason: str = ""


@dataclass(frozen=True, slots=True)
class QueuePlan:
    """Forecast, staffing and predictions for one queue (contract §3.4)."""

    channel: Channel
    forecast_arrival_rate: float
    forecast_aht_s: float
    assigned: int
    target: int
    required: int
    predicted_service_level: float | None  # None: a stale queue (contract §16)
    predicted_asa_s: float | None
    predicted_abandon_ratio: float | None
    sl_target: float
    target_s: float
    # What the latest snapshot observed (None when unknown), shown beside the predictions
    # by the supervisor console (contract §13).
    observed_service_level: float | None = None
    waiting: int | None = None
    # Freshness (contract §16, ``core.freshness``): seconds from the queue's latest snapshot
    # to the plan's ``as_of`` (None: never reported), and whether that is too old to plan on.
    data_age_s: float | None = None
    stale: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    """The planner's decision for one site at one clock time."""

    plan_id: str
    site: str
    as_of: float
    mode: Mode
    queues: dict[str, QueuePlan]
    moves: tuple[Move, ...] = ()


@dataclass(frozen=True, slots=True)
class Pin:
    """Keep a queue's target within [min, max] (either bound optional)."""

    queue: str
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True, slots=True)
class GoalOverride:
    """Temporary service-level goal for a queue."""

    queue: str
    sl_target: float | None = None
    target_s: float | None = None


@dataclass(frozen=True, slots=True)
class Controls:
    """What supervisors currently impose on a site's planner (derived from overrides)."""

    mode: Mode = "auto"
    pins: tuple[Pin, ...] = ()
    goals: tuple[GoalOverride, ...] = ()
    locked_agents: frozenset[str] = frozenset()
    blocked_moves: frozenset[tuple[str, str]] = frozenset()  # (agent, queue) in cool-down


@dataclass(frozen=True, slots=True)
class ModeOverride:
    """Run the site in ``mode`` instead of the configured one."""

    mode: Mode


@dataclass(frozen=True, slots=True)
class AgentLock:
    """Never move ``agent``."""

    agent: str


@dataclass(frozen=True, slots=True)
class Assignment:
    """``agent`` was assigned to ``queue`` by a supervisor (and is locked there)."""

    agent: str
    queue: str


OverridePayload = Pin | GoalOverride | ModeOverride | AgentLock | Assignment
"""What an override holds, by action: pin, target, mode, lock_agent, assign."""


@dataclass(frozen=True, slots=True)
class Override:
    """An accepted supervisor override (contract §4); ``expires_at`` None = permanent."""

    override_id: str
    site: str
    supervisor: str
    payload: OverridePayload
    created_at: float = 0.0
    expires_at: float | None = None
    reason: str = ""


# -- supervisor requests, replies and audit (contract §4); added for core/overrides.py ----------

RequestId = str | int | None


@dataclass(frozen=True, slots=True)
class OverrideRequest:
    """A decoded supervisor request: envelope plus the action's raw fields.

    ``ttl_given`` distinguishes an absent ``ttl_s`` (use the default) from an
    explicit ``null`` (permanent; allowed for ``mode`` only).
    """

    id: RequestId
    action: str
    fields: dict[str, object] = field(default_factory=dict)
    ttl_s: float | None = None
    ttl_given: bool = False
    reason: str = ""


@dataclass(frozen=True, slots=True)
class MalformedRequest:
    """A supervisor request that could not be decoded, or is refused before it is read
    (a forbidden response topic, a retained copy); it still gets a reply with ``code``."""

    id: RequestId
    reason: str
    message: str = ""
    code: str = "invalid"
    refused: bool = False  # well formed but refused: ``message`` is the reply's as it is


@dataclass(frozen=True, slots=True)
class OverrideReply:
    """The one reply to one request (contract §4); the codec renders it as JSON."""

    id: RequestId
    ok: bool
    override_id: str | None = None
    expires_at: float | None = None
    code: str | None = None
    message: str | None = None
    removed: tuple[str, ...] = ()
    extra: Mapping[str, object] = field(default_factory=dict)  # more fields of a success
    # (an approval's ``approved``, ``command_id``, ...: ``codec.proposals.decision_reply``)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit-log entry: who (actor) did what (kind, payload) when, for which site."""

    ts: float
    site: str
    kind: str
    actor: str
    payload: dict[str, object] = field(default_factory=dict)
