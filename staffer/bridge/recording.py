"""What one ``staffer bridge-check`` run saw and did, and how its checks report.

Plain records: the checker (``checker.py``) fills a :class:`Recording`, the checks
(``conformance.py``) read it and return :class:`CheckResult` values. Times are seconds
since the check started.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from staffer.codec.topics import Route

Status = Literal["PASS", "FAIL", "SKIP"]
Purpose = Literal["skilled", "unskilled"]


@dataclass(frozen=True, slots=True)
class Message:
    """One message the bridge published, as the daemon would have decoded it."""

    at: float
    topic: str
    route: Route
    retained: bool
    payload: bytes
    value: object | None = None  # QueueSnapshot, (ts, {queue: QueueSnapshot}), AgentState, MoveAck
    error: str | None = None  # the daemon's reason code when it would reject the message
    detail: str = ""

    def excerpt(self) -> str:
        text = self.payload[:160].decode("utf-8", "replace")
        return text + ("..." if len(self.payload) > 160 else "")


@dataclass(frozen=True, slots=True)
class Sent:
    """A one-move command the checker published."""

    at: float
    purpose: Purpose
    command_id: str
    agent: str
    from_queue: str | None
    to_queue: str


@dataclass
class Recording:
    """Everything one run saw and did."""

    site: str
    commands_topic: str
    duration_s: float
    messages: list[Message] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    not_sent: dict[str, str] = field(default_factory=dict)  # purpose -> why no move was sent
    malformed_at: float | None = None

    def live(self, kinds: Iterable[str] | None = None) -> list[Message]:
        wanted = None if kinds is None else set(kinds)
        return [
            m
            for m in self.messages
            if not m.retained and (wanted is None or m.route.kind in wanted)
        ]

    def command(self, purpose: Purpose) -> Sent | None:
        return next((s for s in self.sent if s.purpose == purpose), None)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One named check: its status, a one-line summary and the evidence."""

    name: str
    status: Status
    summary: str
    expected: str = ""
    got: str = ""
    topic: str = ""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """What counts as on time and steady (configurable so tests can run in seconds)."""

    ack_timeout_s: float = 30.0
    min_snapshots: int = 3
    cadence_tolerance: float = 2.0  # every gap within [median / t, median * t]
