"""The checks of ``staffer bridge-check`` (contract §14), as pure functions of a recording.

The checker (``staffer.bridge.checker``) plays the daemon's side of one site: it records
every message the bridge publishes, decoded with the daemon's own codec, and the commands
it sent. This module turns that :class:`Recording` into named PASS/FAIL/SKIP results,
each saying what was expected, what arrived, and on which topic, so a bridge author knows
what to fix. Times are seconds since the check started.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence

from staffer.bridge.recording import CheckResult, Message, Recording, Sent, Thresholds
from staffer.core.types import AgentState, MoveAck, QueueSnapshot

NO_SUCH_QUEUE = "bridge-check-no-such-queue"
SNAPSHOT_KINDS = ("queue_metrics", "site_metrics")


# -- choosing the moves to command ---------------------------------------------------------------


def choose_moves(
    states: dict[str, AgentState], queues: set[str], agent: str | None = None
) -> tuple[tuple[str, str | None, str] | str, tuple[str, str | None, str] | str]:
    """(agent, from, to) of the skilled and of the unskilled move, or why there is none.

    Skilled: an available or busy agent with a skill besides its current queue (``agent``
    if given), to a skill seen among the site's queues when possible. Unskilled: another
    agent if possible, to a queue it lacks (one the site reports, else a made-up one).
    """

    def movable(a: AgentState) -> bool:
        return a.status in ("available", "busy") and bool(a.skills - {a.queue})

    if agent is not None:
        a = states.get(agent)
        if a is None:
            skilled: tuple[str, str | None, str] | str = f"agent {agent!r} never reported a state"
        elif not movable(a):
            skilled = f"agent {agent!r} is {a.status} with skills {sorted(a.skills)} in {a.queue}"
        else:
            skilled = _target(a, queues)
    else:
        pick = next((states[k] for k in sorted(states) if movable(states[k])), None)
        skilled = (
            "no available or busy agent with a second skill"
            if pick is None
            else _target(pick, queues)
        )
    busy = skilled[0] if isinstance(skilled, tuple) else None
    staffed = [states[k] for k in sorted(states) if states[k].status in ("available", "busy")]
    others = [a for a in staffed if a.agent != busy] or staffed
    if not others:
        return skilled, "no available or busy agent"
    a = others[0]
    lacking = sorted((queues | {q for s in states.values() for q in s.skills}) - a.skills)
    return skilled, (a.agent, a.queue, lacking[0] if lacking else NO_SUCH_QUEUE)


def _target(a: AgentState, queues: set[str]) -> tuple[str, str | None, str]:
    options = sorted(a.skills - {a.queue})
    return a.agent, a.queue, next((q for q in options if q in queues), options[0])


# -- the checks ----------------------------------------------------------------------------------


def evaluate(rec: Recording, th: Thresholds) -> list[CheckResult]:
    """Every check, in the order the contract lists them."""
    return [
        snapshots_decode(rec),
        snapshot_cadence(rec, th),
        agent_states_decode(rec),
        move_acknowledged(rec, th),
        move_carried_out(rec),
        unskilled_move_refused(rec, th),
        malformed_command_survived(rec, th),
    ]


def _first_error(msgs: Sequence[Message]) -> Message | None:
    return next((m for m in msgs if m.error is not None), None)


def snapshots_decode(rec: Recording) -> CheckResult:
    name = "snapshots_decode"
    snaps = rec.live(SNAPSHOT_KINDS)
    topic = f"{rec.commands_topic.rsplit('/', 1)[0]}/metrics or .../queues/+/metrics"
    if not snaps:
        return CheckResult(
            name,
            "FAIL",
            "no queue or site snapshot arrived",
            "at least one snapshot",
            "none",
            topic,
        )
    bad = [m for m in snaps if m.error is not None]
    first = _first_error(bad)
    if first is not None:
        return CheckResult(
            name,
            "FAIL",
            f"{len(bad)} of {len(snaps)} snapshots would be rejected ({first.error})",
            "a §3.1 snapshot the daemon decodes",
            f"{first.error}: {first.detail}; payload {first.excerpt()}",
            first.topic,
        )
    topics = sorted({m.topic for m in snaps})
    return CheckResult(name, "PASS", f"{len(snaps)} snapshots on {len(topics)} topic(s) decode")


def snapshot_cadence(rec: Recording, th: Thresholds) -> CheckResult:
    name = "snapshot_cadence"
    streams: dict[str, list[Message]] = {}
    for m in rec.live(SNAPSHOT_KINDS):
        if m.error is None:
            streams.setdefault(m.topic, []).append(m)
    if not streams:
        return CheckResult(name, "FAIL", "no valid snapshot to time", f"{th.min_snapshots}+", "0")
    notes = []
    for topic, msgs in sorted(streams.items()):
        problem = _stream_problem(msgs, th, rec.duration_s)
        if problem is not None:
            return CheckResult(name, "FAIL", problem[0], problem[1], problem[2], topic)
        gaps = [b.at - a.at for a, b in itertools.pairwise(msgs)]
        notes.append(f"every {statistics.median(gaps):.1f} s")
    return CheckResult(name, "PASS", f"{len(streams)} stream(s) steady: {', '.join(notes)}")


def _stream_problem(
    msgs: list[Message], th: Thresholds, duration_s: float
) -> tuple[str, str, str] | None:
    """(summary, expected, got) when one topic's snapshots are too few, irregular or their
    ``ts`` does not advance; None when steady."""
    if len(msgs) < th.min_snapshots:
        return (
            f"only {len(msgs)} snapshot(s) in {duration_s:.0f} s",
            f"at least {th.min_snapshots} (run longer with --duration, or publish more often)",
            f"{len(msgs)}",
        )
    stamps = [_snapshot_ts(m) for m in msgs]
    for (a, b), m in zip(itertools.pairwise(stamps), msgs[1:], strict=False):
        if b <= a:
            return (
                "a snapshot's ts does not advance (the daemon ignores it as stale or duplicate)",
                "each ts later than the previous one on the topic",
                f"ts {b:.3f} after {a:.3f} at +{m.at:.1f} s",
            )
    gaps = [b.at - a.at for a, b in itertools.pairwise(msgs)]
    med = statistics.median(gaps)
    worst = max(gaps, key=lambda g: max(g / med, med / g) if g > 0 and med > 0 else float("inf"))
    if med <= 0 or not med / th.cadence_tolerance <= worst <= med * th.cadence_tolerance:
        return (
            "snapshots arrive at an irregular cadence",
            f"every gap within x{th.cadence_tolerance:g} of the median {med:.1f} s",
            f"a gap of {worst:.1f} s",
        )
    silent = duration_s - msgs[-1].at
    if silent > med * th.cadence_tolerance:
        return (
            f"snapshots stopped {silent:.1f} s before the end of the run",
            f"one about every {med:.1f} s until the end",
            f"the last at +{msgs[-1].at:.1f} s",
        )
    return None


def _snapshot_ts(m: Message) -> float:
    v = m.value
    if isinstance(v, QueueSnapshot):
        return v.ts
    return float(v[0]) if isinstance(v, tuple) else 0.0


def agent_states_decode(rec: Recording) -> CheckResult:
    name = "agent_states_decode"
    states = [m for m in rec.messages if m.route.kind == "agent_state"]
    if not states:
        return CheckResult(
            name,
            "FAIL",
            "no agent state arrived",
            "one state per agent on the agents/{agent}/state topic (retained is fine)",
            "none",
            rec.commands_topic.rsplit("/", 1)[0] + "/agents/+/state",
        )
    agents = {m.route.agent for m in states}
    bad = [m for m in states if m.error is not None]
    first = _first_error(bad)
    if first is not None:
        who = sorted({str(m.route.agent) for m in bad})
        return CheckResult(
            name,
            "FAIL",
            f"states of {len(who)} of {len(agents)} agents would be rejected ({first.error}): "
            + ", ".join(who[:5])
            + (" ..." if len(who) > 5 else ""),
            "a §3.2 agent state the daemon decodes",
            f"{first.error}: {first.detail}; payload {first.excerpt()}",
            first.topic,
        )
    return CheckResult(name, "PASS", f"{len(agents)} agent(s), {len(states)} state(s), all decode")


def _acks(rec: Recording, sent: Sent) -> tuple[list[tuple[Message, MoveAck]], list[Message]]:
    """(matching acks, other messages on that agent's move topic after the command)."""
    ok, other = [], []
    for m in rec.messages:
        if m.route.kind != "move_ack" or m.route.agent != sent.agent or m.at < sent.at:
            continue
        v = m.value
        if (
            isinstance(v, MoveAck)
            and v.command_id == sent.command_id
            and v.to_queue == sent.to_queue
        ):
            ok.append((m, v))
        else:
            other.append(m)
    return ok, other


def _switched(rec: Recording, sent: Sent) -> Message | None:
    """The first state after the command showing the agent in the target queue."""
    return next(
        (
            m
            for m in rec.messages
            if m.route.kind == "agent_state"
            and m.route.agent == sent.agent
            and m.at >= sent.at
            and isinstance(m.value, AgentState)
            and m.value.queue == sent.to_queue
        ),
        None,
    )


def _describe(sent: Sent) -> str:
    return f"{sent.agent}: {sent.from_queue} -> {sent.to_queue} (command {sent.command_id})"


def move_acknowledged(rec: Recording, th: Thresholds) -> CheckResult:
    name = "move_acknowledged"
    sent = rec.command("skilled")
    if sent is None:
        return CheckResult(name, "FAIL", f"no move could be commanded: {rec.not_sent['skilled']}")
    topic = rec.commands_topic.rsplit("/", 1)[0] + f"/agents/{sent.agent}/move"
    acks, other = _acks(rec, sent)
    expected = (
        f'{{"command_id": "{sent.command_id}", "to": "{sent.to_queue}", '
        f'"status": "accepted" | "rejected"}} within {th.ack_timeout_s:g} s'
    )
    if not acks:
        got = "nothing" if not other else _other_ack(other[0], sent)
        return CheckResult(name, "FAIL", f"no ack of {_describe(sent)}", expected, got, topic)
    m, ack = acks[0]
    delay = m.at - sent.at
    if delay > th.ack_timeout_s:
        return CheckResult(
            name, "FAIL", f"ack after {delay:.1f} s", expected, f"{ack.status} after {delay:.1f} s"
        )
    return CheckResult(name, "PASS", f"{ack.status} after {delay:.1f} s: {_describe(sent)}")


def _other_ack(m: Message, sent: Sent) -> str:
    if m.error is not None:
        return f"an ack the daemon rejects ({m.error}: {m.detail}): {m.excerpt()}"
    v = m.value
    if isinstance(v, MoveAck):
        return (
            f"an ack for command {v.command_id!r} to {v.to_queue!r}, not "
            f"{sent.command_id!r} to {sent.to_queue!r} (the daemon counts it unknown_command)"
        )
    return m.excerpt()


def move_carried_out(rec: Recording) -> CheckResult:
    name = "move_carried_out"
    sent = rec.command("skilled")
    if sent is None:
        return CheckResult(name, "SKIP", "no move was commanded")
    acks, _ = _acks(rec, sent)
    statuses = [a.status for _, a in acks]
    if "rejected" in statuses and "done" not in statuses:
        reason = next(a.reason for _, a in acks if a.status == "rejected") or "no reason"
        return CheckResult(
            name, "SKIP", f"the bridge rejected {_describe(sent)} ({reason}); try --agent"
        )
    topic = rec.commands_topic.rsplit("/", 1)[0] + f"/agents/{sent.agent}/state"
    m = _switched(rec, sent)
    if m is None:
        last = [
            x for x in rec.messages if x.route.kind == "agent_state" and x.route.agent == sent.agent
        ]
        got = "no state after the command" if not last else f"last state {last[-1].excerpt()}"
        return CheckResult(
            name,
            "FAIL",
            f"the state of {sent.agent} never showed {sent.to_queue!r} "
            f"({'/'.join(statuses) or 'no ack'})",
            f'an agent state with "queue": "{sent.to_queue}" before the end of --duration',
            got,
            topic,
        )
    return CheckResult(
        name, "PASS", f"{sent.agent} in {sent.to_queue} after {m.at - sent.at:.1f} s"
    )


def unskilled_move_refused(rec: Recording, th: Thresholds) -> CheckResult:
    name = "unskilled_move_refused"
    sent = rec.command("unskilled")
    if sent is None:
        return CheckResult(name, "SKIP", f"not commanded: {rec.not_sent.get('unskilled', '')}")
    acks, _ = _acks(rec, sent)
    statuses = [a.status for _, a in acks]
    switched = _switched(rec, sent)
    if switched is not None or "done" in statuses:
        return CheckResult(
            name,
            "FAIL",
            f"{sent.agent} was moved to {sent.to_queue!r}, a queue outside its skills",
            '"rejected", or the move never carried out',
            "done" if switched is None else f"state {switched.excerpt()}",
            switched.topic if switched is not None else "",
        )
    if "rejected" in statuses:
        return CheckResult(name, "PASS", f"rejected: {_describe(sent)}")
    note = " (accepted, but the daemon counts it in flight until accepted_timeout_s: reject it)"
    return CheckResult(name, "PASS", "never carried out" + (note if "accepted" in statuses else ""))


def malformed_command_survived(rec: Recording, th: Thresholds) -> CheckResult:
    """Snapshots keep coming until the end of the run, the last within
    ``cadence_tolerance`` periods of it. A message soon after the malformed commands proves
    nothing (it may have been in flight), so the run must go on long enough to tell."""
    name = "malformed_command_survived"
    sent = rec.malformed_at
    if sent is None:
        return CheckResult(name, "SKIP", "the run ended before the malformed command was sent")
    after = [m for m in rec.live() if m.at > sent and m.route.kind != "move_ack"]
    if not after:
        return CheckResult(
            name,
            "FAIL",
            "the bridge published nothing after a malformed command",
            "snapshots and agent states keep coming (skip what does not decode)",
            f"silence for {rec.duration_s - sent:.1f} s",
            rec.commands_topic,
        )
    left = rec.duration_s - sent
    streams: dict[str, list[Message]] = {}
    for m in rec.live(SNAPSHOT_KINDS):
        streams.setdefault(m.topic, []).append(m)
    timed = []  # (last snapshot, period, topic) of the streams the run is long enough for
    for topic, msgs in streams.items():
        gaps = [b.at - a.at for a, b in itertools.pairwise(msgs)]
        period = statistics.median(gaps) if gaps else 0.0
        if period > 0 and left >= (th.cadence_tolerance + 0.5) * period:
            timed.append((msgs[-1].at, period, topic))
    if not timed:
        return CheckResult(
            name,
            "SKIP",
            f"the run ended {left:.1f} s after the malformed command, too soon to tell a "
            "bridge that survived it from messages in flight: run longer (--duration)",
        )
    for last, period, _ in timed:
        if rec.duration_s - last <= th.cadence_tolerance * period:
            return CheckResult(
                name,
                "PASS",
                f"snapshots kept coming every {period:.1f} s until +{last:.1f} s, "
                f"{last - sent:.1f} s after the malformed command",
            )
    last, period, topic = max(timed)
    when = f"{last - sent:.1f} s after" if last > sent else f"{sent - last:.1f} s before"
    return CheckResult(
        name,
        "FAIL",
        f"snapshots stopped {when} the malformed command (at +{sent:.1f} s), "
        f"{rec.duration_s - last:.1f} s before the end of the run",
        f"one about every {period:.1f} s until the end (skip what does not decode)",
        f"the last at +{last:.1f} s, none until +{rec.duration_s:.1f} s",
        topic,
    )
