"""What ``staffer ctl`` prints: the daemon's replies, the retained topics as tables, and
the one-line events of ``watch``. Pure functions of the decoded JSON (never raise on an
odd payload: a missing field shows as ``-``). Text from the daemon (reasons, supervisor
names, messages) is printed through ``codec.audit.printable``, as ``staffer audit`` does:
control characters escaped, so one value cannot forge a row or a line."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from staffer.codec.audit import printable

Json = Mapping[str, Any]
DASH = "-"


def _s(value: object) -> str:
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) >= 1000 or value == int(value) else f"{value:.3g}"
    return printable(str(value))


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Left-aligned text columns separated by two spaces; the last column is never padded."""
    cells = [list(header), *([_s(c) for c in r] for r in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells
    )


# -- replies -------------------------------------------------------------------------------------


def _move(m: Json) -> str:
    return f"{m.get('agent')} {m.get('from') or '(none)'} -> {m.get('to')}"


def reply_text(reply: Json, action: str | None = None) -> str:
    """A successful reply (to ``action``, when known) as one or more lines for a person."""
    parts = ["ok"]
    if action == "cancel":
        gone = reply.get("removed") or [reply.get("override_id")]
        parts.append(f"cancelled {' '.join(map(_s, gone))}")
    elif reply.get("override_id"):
        parts.append(f"override {reply['override_id']}")
    if reply.get("expires_at"):
        parts.append(f"until {reply['expires_at']}")
    if reply.get("removed") and action != "cancel":  # unpin/unlock remove; a new one replaces
        verb = "replaced" if reply.get("override_id") else "removed"
        parts.append(f"{verb} {' '.join(map(str, reply['removed']))}")
    lines = [", ".join(parts)]
    for a in reply.get("approved") or ():
        lines.append(f"approved {a.get('proposal_id')}: {_move(a)}")
    if reply.get("command_id"):
        lines.append(f"command {reply['command_id']}")
    for w in reply.get("withdrawn") or ():
        lines.append(f"not approved {w.get('proposal_id')}: {w.get('why')}")
    for r in reply.get("rejected") or ():
        lines.append(f"rejected {r}")
    if reply.get("cooldown_until"):
        lines.append(f"not proposed again before {reply['cooldown_until']}")
    return "\n".join(printable(line) for line in lines)


def error_text(reply: Json) -> str:
    """``code: message`` of an ``ok: false`` reply."""
    err = reply.get("error")
    if not isinstance(err, Mapping):
        return "invalid: the daemon refused the request"
    message = err.get("message") or ""
    return printable(f"{err.get('code') or 'invalid'}: {message}".rstrip(": "))


# -- retained topics -----------------------------------------------------------------------------


def plan_text(plan: Json) -> str:
    head = (
        f"plan {plan.get('plan_id')}  site {plan.get('site')}  as of {plan.get('as_of')}  "
        f"mode {plan.get('mode')}  moves {plan.get('moves')}"
    )
    queues = plan.get("queues")
    queues = queues if isinstance(queues, Mapping) else {}
    staleness = any("stale" in q for q in queues.values())  # contract §16 fields, when sent
    rows = []
    for qid, q in queues.items():
        rate = q.get("forecast_arrival_rate")
        row = [
            qid,
            q.get("channel"),
            q.get("assigned"),
            q.get("target"),
            q.get("required"),
            _pct(q.get("predicted_service_level")),
            _pct(q.get("sl_target")),
            q.get("target_s"),
            _round(q.get("predicted_asa_s")),
            _pct(q.get("predicted_abandon_ratio")),
            _round(rate * 3600 if isinstance(rate, int | float) else None),
        ]
        rows.append([*row, q.get("stale")] if staleness else row)
    header = ["queue", "channel", "assigned", "target", "required", "SL", "goal", "within s"]
    header += ["ASA s", "abandon", "per hour", *(["stale"] if staleness else [])]
    return printable(head) + "\n" + table(header, rows)


def _pct(x: object) -> str:
    return f"{x * 100:.0f}%" if isinstance(x, int | float) and not isinstance(x, bool) else DASH


def _round(x: object) -> str:
    return f"{x:.1f}" if isinstance(x, int | float) and not isinstance(x, bool) else DASH


_OVERRIDE_KEYS = {"override_id", "site", "supervisor", "action", "created_at", "expires_at"}


def overrides_text(overrides: Sequence[Json]) -> str:
    if not overrides:
        return "no active overrides"
    rows = []
    for o in overrides:
        what = " ".join(
            f"{k}={_s(v)}" for k, v in o.items() if k not in _OVERRIDE_KEYS and k != "reason"
        )
        rows.append(
            [
                o.get("override_id"),
                o.get("action"),
                what,
                o.get("supervisor"),
                o.get("expires_at") or "permanent",
                o.get("reason") or "",
            ]
        )
    return table(["override", "action", "on", "by", "until", "reason"], rows)


def proposals_text(body: Json) -> str:
    proposals = body.get("proposals") or []
    head = printable(f"site {body.get('site')}  as of {body.get('as_of')}")
    if not proposals:
        return head + "\nno open proposals"
    rows = [
        [p.get("proposal_id"), _move(p), p.get("expires_at"), p.get("reason")] for p in proposals
    ]
    return head + "\n" + table(["proposal", "move", "expires", "reason"], rows)


def status_text(status: Json) -> str:
    rows = [[k, ", ".join(map(str, v)) if isinstance(v, list) else v] for k, v in status.items()]
    return table(["key", "value"], rows)


# -- watch ---------------------------------------------------------------------------------------

Event = dict[str, Any]


def command_events(command: Json) -> list[Event]:
    """One event per move of a command, each with the move's reason."""
    base = {"time": command.get("ts"), "command_id": command.get("command_id")}
    base["mode"] = command.get("mode")
    return [
        {"event": "move", **base, **{k: m.get(k) for k in ("agent", "from", "to", "reason")}}
        | ({"proposal_id": m["proposal_id"]} if m.get("proposal_id") else {})
        for m in command.get("moves") or ()
        if isinstance(m, Mapping)
    ]


def proposal_events(body: Json, seen: dict[str, Json]) -> list[Event]:
    """Proposals that opened or closed since the last payload (``seen`` is updated)."""
    now = {p.get("proposal_id"): p for p in body.get("proposals") or () if isinstance(p, Mapping)}
    when = body.get("as_of")
    events: list[Event] = [
        {"event": "proposal_open", "time": when, **dict(p)}
        for pid, p in now.items()
        if pid not in seen
    ]
    for pid, p in seen.items():
        if pid not in now:
            events.append({"event": "proposal_closed", "time": when, **dict(p)})
    seen.clear()
    seen.update({str(k): v for k, v in now.items()})
    return events


def reply_event(supervisor: str, reply: Json, when: str) -> Event:
    return {"event": "reply", "time": when, "supervisor": supervisor, **dict(reply)}


def _line_move(e: Event) -> str:
    extra = f" (proposal {e['proposal_id']})" if e.get("proposal_id") else ""
    return f"move {e.get('command_id')} [{e.get('mode')}] {_move(e)}: {e.get('reason')}{extra}"


def _line_proposal(e: Event) -> str:
    if e["event"] == "proposal_open":
        return (
            f"proposal {e.get('proposal_id')} open: {_move(e)}: {e.get('reason')} "
            f"(expires {e.get('expires_at')})"
        )
    return f"proposal {e.get('proposal_id')} closed: {_move(e)}"


def _line_reply(e: Event) -> str:
    body = reply_text(e).replace("\n", "; ") if e.get("ok") else f"error {error_text(e)}"
    return f"reply to {e.get('supervisor')} ({e.get('id')}): {body}"


_LINES: dict[str, Callable[[Event], str]] = {
    "move": _line_move,
    "proposal_open": _line_proposal,
    "proposal_closed": _line_proposal,
    "reply": _line_reply,
}


def _second(when: object) -> str:
    """RFC 3339 to the second for the eye (``--json`` keeps the fraction)."""
    text = str(when) if when else DASH
    return re.sub(r"\.\d+(?=Z$)", "", text)


def event_line(e: Event) -> str:
    """One ``watch`` line: time, then what happened."""
    return printable(f"{_second(e.get('time'))}  {_LINES[e['event']](e)}")
