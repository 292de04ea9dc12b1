"""The supervisor actions of contract §4, one validator each: raw fields -> a typed decision.

`ACTIONS` maps each action to its allowed fields and its validator. A validator reads
the request's raw fields (as decoded from JSON) and returns what the request means:

* `Hold` — a new override holding a typed payload (`Pin`, `GoalOverride`,
  `ModeOverride`, `AgentLock`, `Assignment`) and, for ``assign``, the move to command;
* `Remove` — end the active overrides that match (``unpin``, ``unlock_agent``,
  ``cancel``);
* `Replan` — plan at once.

or raises `Rejected` with the reply's error code. To add an action: a validator here
and its `ActionRule` in `ACTIONS`; a new kind of decision is handled in
``OverrideBook.handle``. Pure: no I/O, no clock.

Payloads are stored and published as their ``fields`` (`payload_fields`, e.g.
``{"queue": "phone", "min": 3}``) and read back with `payload_from_fields`, so the
wire format and the SQLite rows are the same as before the payloads were typed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields

from staffer.core.types import (
    AgentLock,
    AgentState,
    Assignment,
    GoalOverride,
    ModeOverride,
    Move,
    Override,
    OverridePayload,
    Pin,
)
from staffer.vocabulary import MODES, Mode, valid_segment

MAX_PIN = 100_000
MAX_TARGET_S = 1e7

Fields = Mapping[str, object]


class Rejected(Exception):
    """A request that cannot be applied; ``code`` is the reply's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Request:
    """What a validator may look at: the raw fields and the site's context."""

    fields: Fields
    supervisor: str
    reason: str
    known_queues: frozenset[str] | set[str]
    agents: Mapping[str, AgentState] | None  # the roster; None: agents are not checked


@dataclass(frozen=True, slots=True)
class Hold:
    """Create an override holding ``payload`` (and command ``move`` for an assign)."""

    payload: OverridePayload
    move: Move | None = None


@dataclass(frozen=True, slots=True)
class Remove:
    """End the active overrides ``matches`` selects; ``missing`` says why when none does."""

    matches: Callable[[Override], bool]
    missing: str


@dataclass(frozen=True, slots=True)
class Replan:
    """Plan the site at once."""


Decision = Hold | Remove | Replan


@dataclass(frozen=True, slots=True)
class ActionRule:
    allowed: frozenset[str]
    validate: Callable[[Request], Decision]


# -- field validators ------------------------------------------------------------------------


def _str_field(f: Fields, name: str) -> str:
    value = f.get(name)
    if value is None:
        raise Rejected("invalid", f"{name} is required")
    if not isinstance(value, str) or not 0 < len(value) <= 256:
        raise Rejected("invalid", f"{name} must be a non-empty string")
    return value


def _agent(f: Fields) -> str:
    """An agent id: one topic level (contract §2), or no bridge could ever report it."""
    agent = _str_field(f, "agent")
    if not valid_segment(agent):
        raise Rejected("invalid", "agent must be a topic level: no '/', '+', '#' or NUL")
    return agent


def _queue(r: Request) -> str:
    queue = _str_field(r.fields, "queue")
    if queue not in r.known_queues:
        raise Rejected("unknown_queue", f"unknown queue {queue[:64]!r}")
    return queue


def _bound(f: Fields, name: str) -> int | None:
    value = f.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PIN:
        raise Rejected("invalid", f"{name} must be an integer in [0, {MAX_PIN}]")
    return value


def _number(f: Fields, name: str, lo: float, hi: float, lo_open: bool = False) -> float | None:
    value = f.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Rejected("invalid", f"{name} must be a finite number")
    if value > hi or value < lo or (lo_open and value == lo):
        bracket = "(" if lo_open else "["
        raise Rejected("invalid", f"{name} must be in {bracket}{lo:g}, {hi:g}]")
    return float(value)


# -- one validator per action ----------------------------------------------------------------


def _pin(r: Request) -> Decision:
    lo, hi = _bound(r.fields, "min"), _bound(r.fields, "max")
    if lo is None and hi is None:
        raise Rejected("invalid", "pin needs min and/or max")
    if lo is not None and hi is not None and lo > hi:
        raise Rejected("invalid", f"min {lo} > max {hi}")
    return Hold(Pin(_queue(r), lo, hi))


def _target(r: Request) -> Decision:
    sl = _number(r.fields, "sl_target", 0.0, 1.0)
    ts = _number(r.fields, "target_s", 0.0, MAX_TARGET_S, lo_open=True)
    if sl is None and ts is None:
        raise Rejected("invalid", "target needs sl_target and/or target_s")
    return Hold(GoalOverride(_queue(r), sl, ts))


def _mode(r: Request) -> Decision:
    try:
        return Hold(ModeOverride(_known_mode(r.fields.get("mode"))))
    except ValueError:
        raise Rejected("invalid", f"mode must be one of {', '.join(MODES)}") from None


def _lock(r: Request) -> Decision:
    return Hold(AgentLock(_agent(r.fields)))


def _assign(r: Request) -> Decision:
    agent, queue = _agent(r.fields), _queue(r)
    after = r.fields.get("after_current_contact", True)
    if not isinstance(after, bool):
        raise Rejected("invalid", "after_current_contact must be true or false")
    current = _current_queue(r.agents, agent, queue)
    if current == queue:  # already there: lock only, no command
        return Hold(Assignment(agent, queue))
    why = f"assigned by {r.supervisor}" + (f": {r.reason}" if r.reason else "")
    return Hold(Assignment(agent, queue), Move(agent, current, queue, why, after))


def _current_queue(agents: Mapping[str, AgentState] | None, agent: str, queue: str) -> str | None:
    if agents is None:
        return None
    state = agents.get(agent)
    if state is None:
        raise Rejected("unknown_agent", f"unknown agent {agent[:64]!r}")
    if queue not in state.skills:
        raise Rejected("no_skill", f"agent {agent[:64]!r} is not skilled for {queue!r}")
    return state.queue


def _removal(slot: tuple[str, str]) -> Remove:
    return Remove(
        lambda o: slot_of(o.payload) == slot,
        f"nothing to remove: no active {slot[0]} on {slot[1][:64]!r}",
    )


def _unpin(r: Request) -> Decision:
    return _removal(("pin", _queue(r)))


def _unlock(r: Request) -> Decision:
    return _removal(("lock", _agent(r.fields)))


def _cancel(r: Request) -> Decision:
    oid = _str_field(r.fields, "override_id")
    return Remove(lambda o: o.override_id == oid, f"no active override {oid[:64]!r} on this site")


def _replan(_r: Request) -> Decision:
    return Replan()


ACTIONS: dict[str, ActionRule] = {
    "pin": ActionRule(frozenset({"queue", "min", "max"}), _pin),
    "unpin": ActionRule(frozenset({"queue"}), _unpin),
    "mode": ActionRule(frozenset({"mode"}), _mode),
    "target": ActionRule(frozenset({"queue", "sl_target", "target_s"}), _target),
    "lock_agent": ActionRule(frozenset({"agent"}), _lock),
    "unlock_agent": ActionRule(frozenset({"agent"}), _unlock),
    "assign": ActionRule(frozenset({"agent", "queue", "after_current_contact"}), _assign),
    "replan": ActionRule(frozenset(), _replan),
    "cancel": ActionRule(frozenset({"override_id"}), _cancel),
}


def decide(action: str, r: Request) -> Decision:
    """Validate one request's fields; raises `Rejected` (reply code and message)."""
    rule = ACTIONS.get(action)
    if rule is None:
        raise Rejected("unknown_action", f"unknown action {action[:64]!r}")
    extra = sorted(set(r.fields) - rule.allowed)
    if extra:
        raise Rejected("invalid", f"unknown field {extra[0][:64]!r} for {action}")
    return rule.validate(r)


# -- slots, and the payloads' stored form ------------------------------------------------------


def slot_of(payload: OverridePayload) -> tuple[str, str]:
    """What an override occupies; a newer override in the same slot replaces the older."""
    match payload:
        case Pin(queue=q):
            return ("pin", q)
        case GoalOverride(queue=q):
            return ("target", q)
        case ModeOverride():
            return ("mode", "")
        case AgentLock(agent=a) | Assignment(agent=a):
            return ("lock", a)


PAYLOADS: dict[str, type[OverridePayload]] = {
    "pin": Pin,
    "target": GoalOverride,
    "mode": ModeOverride,
    "lock_agent": AgentLock,
    "assign": Assignment,
}
"""The action of each payload type (an override's ``action`` on the wire and on disk)."""


def action_of(payload: OverridePayload) -> str:
    """``pin``, ``target``, ``mode``, ``lock_agent`` or ``assign``."""
    return next(a for a, t in PAYLOADS.items() if type(payload) is t)


def payload_fields(payload: OverridePayload) -> dict[str, object]:
    """The payload as the request's fields, absent bounds left out.

    >>> payload_fields(Pin("phone", min=3))
    {'queue': 'phone', 'min': 3}
    """
    values = ((f.name, getattr(payload, f.name)) for f in fields(payload))
    return {k: v for k, v in values if v is not None}


def payload_from_fields(action: str, stored: Fields) -> OverridePayload:
    """Inverse of `payload_fields` for a stored override; ValueError when unusable.

    >>> payload_from_fields("target", {"queue": "chat", "target_s": 30})
    GoalOverride(queue='chat', sl_target=None, target_s=30.0)
    """
    kind = PAYLOADS.get(action)
    if kind is None:
        raise ValueError(f"unknown action {action!r}")
    extra = sorted(set(stored) - {f.name for f in fields(kind)})
    if extra:
        raise ValueError(f"unexpected field {extra[0]!r} for {action}")
    match action:
        case "pin":
            return Pin(_text(stored, "queue"), _count(stored, "min"), _count(stored, "max"))
        case "target":
            sl, ts = _real(stored, "sl_target"), _real(stored, "target_s")
            return GoalOverride(_text(stored, "queue"), sl, ts)
        case "mode":
            return ModeOverride(_known_mode(stored.get("mode")))
        case "lock_agent":
            return AgentLock(_text(stored, "agent"))
        case _:
            return Assignment(_text(stored, "agent"), _text(stored, "queue"))


def _text(f: Fields, name: str) -> str:
    value = f.get(name)
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected a string, got {value!r}")
    return value


def _count(f: Fields, name: str) -> int | None:
    value = f.get(name)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise ValueError(f"{name}: expected an integer, got {value!r}")


def _real(f: Fields, name: str) -> float | None:
    value = f.get(name)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ValueError(f"{name}: expected a number, got {value!r}")


def _known_mode(value: object) -> Mode:
    for mode in MODES:
        if value == mode:
            return mode
    raise ValueError(f"mode: unknown mode {value!r}")
