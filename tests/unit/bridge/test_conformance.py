"""bridge-check's judgements as plain calls: which moves it commands, and what counts as a
steady cadence (the edge cases the integration tests do not reach)."""

from __future__ import annotations

import pytest

from staffer.bridge.conformance import (
    NO_SUCH_QUEUE,
    choose_moves,
    malformed_command_survived,
    snapshot_cadence,
)
from staffer.bridge.recording import Message, Recording, Thresholds
from staffer.codec.topics import Route
from staffer.core.types import AgentState, QueueSnapshot


def _a(agent: str, status: str, queue: str | None, *skills: str) -> AgentState:
    return AgentState(agent, 0.0, status, queue, frozenset(skills))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("states", "agent", "skilled", "unskilled"),
    [
        (  # the first movable agent, to a skill the site reports; another agent for the refusal
            [
                _a("b", "busy", "email", "email", "phone", "chat"),
                _a("a", "break", "phone", "phone", "chat"),
            ],
            None,
            ("b", "email", "chat"),
            ("b", "email", NO_SUCH_QUEUE),
        ),
        (
            [_a("a", "available", "phone", "phone", "chat"), _a("z", "busy", "phone", "phone")],
            None,
            ("a", "phone", "chat"),
            ("z", "phone", "chat"),
        ),
        (
            [_a("a", "available", "phone", "phone")],
            None,
            "no available or busy agent with a second skill",
            ("a", "phone", "chat"),
        ),
        (
            [_a("a", "wrap_up", "phone", "phone", "chat")],
            "a",
            "agent 'a' is wrap_up",
            "no available",
        ),
        ([], "x", "agent 'x' never reported a state", "no available or busy agent"),
    ],
)
def test_choose_moves(states, agent, skilled, unskilled) -> None:
    got = choose_moves({s.agent: s for s in states}, {"phone", "chat"}, agent)
    for want, have in zip((skilled, unskilled), got, strict=True):
        if isinstance(want, str):
            assert isinstance(have, str) and have.startswith(want)
        else:
            assert have == want


def _stream(
    times: list[float], stamps: list[float] | None = None, duration: float = 10.0
) -> Recording:
    rec = Recording("main", "staffer/main/commands", duration)
    for at, ts in zip(times, stamps or times, strict=True):
        snap = QueueSnapshot(ts, 1.0, 0, 0)
        topic = "staffer/main/queues/phone/metrics"
        rec.messages.append(
            Message(at, topic, Route("queue_metrics", "main", queue="phone"), False, b"", snap)
        )
    return rec


@pytest.mark.parametrize(
    ("times", "stamps", "status", "words"),
    [
        ([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5], None, "PASS", "every 1.0 s"),
        ([1.0, 2.0], None, "FAIL", "only 2 snapshot(s)"),
        ([0.5, 1.5, 2.5, 6.5, 7.5, 8.5, 9.5], None, "FAIL", "irregular"),
        ([0.5, 1.5, 2.5, 3.5], None, "FAIL", "stopped"),
        ([7.0, 8.0, 9.0, 9.9], [1.0, 2.0, 2.0, 3.0], "FAIL", "does not advance"),
    ],
)
def test_cadence(times, stamps, status, words) -> None:
    result = snapshot_cadence(_stream(times, stamps), Thresholds())
    assert result.status == status and words in result.summary


def _survival(last: float, malformed_at: float = 6.0, period: float = 0.25) -> Recording:
    """A bridge snapshotting every ``period`` s from 0.1 s until ``last``, in a 10 s run
    whose malformed commands went out at ``malformed_at``."""
    n = int((last - 0.1) / period) + 1
    rec = _stream([0.1 + i * period for i in range(n)])
    rec.malformed_at = malformed_at
    return rec


@pytest.mark.parametrize(
    ("last", "malformed_at", "period", "status", "words"),
    [
        (9.85, 6.0, 0.25, "PASS", "kept coming every 0.2 s until +9.8 s"),
        (9.1, 6.0, 1.0, "PASS", "3.1 s after the malformed command"),
        # handled each command for 2.5 s, then died on the malformed one (QA's bridge)
        (8.6, 6.1, 0.25, "FAIL", "stopped 2.5 s after the malformed command (at +6.1 s)"),
        (6.1, 6.0, 0.25, "FAIL", "3.9 s before the end"),  # only what was in flight
        (5.0, 3.5, 1.0, "FAIL", "stopped 0.6 s after"),
        (9.1, 6.0, 2.0, "SKIP", "too soon to tell"),  # 4 s left: two periods of 2 s
    ],
)
def test_malformed_command_survived_needs_snapshots_until_the_end(
    last: float, malformed_at: float, period: float, status: str, words: str
) -> None:
    result = malformed_command_survived(_survival(last, malformed_at, period), Thresholds())
    assert result.status == status and words in result.summary, result
    if status == "FAIL":
        assert result.topic == "staffer/main/queues/phone/metrics"
        assert "the last at +" in result.got and "none until +10.0 s" in result.got


def test_malformed_command_survived_silence_and_no_command() -> None:
    rec = _survival(5.9)
    result = malformed_command_survived(rec, Thresholds())
    assert result.status == "FAIL" and "published nothing" in result.summary
    rec.malformed_at = None
    assert malformed_command_survived(rec, Thresholds()).status == "SKIP"
