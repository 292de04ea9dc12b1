"""The one-line reason of each move: what the plan as a whole does to both queues.

Who may move is ``staffer.core.roster``; who does move, ``staffer.core.allocation``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Effect:
    """A queue's headline metric before and after the plan, for a move's reason."""

    queue: str
    label: str  # "SL" or "on-time"
    before: float
    after: float
    goal: float
    note: str = ""  # e.g. ", abandon 0.09 -> 0.04" or " (pin min 5)"


def _fmt(e: Effect, with_goal: bool) -> str:
    goal = f" (target {e.goal:.2f})" if with_goal else ""
    return f"{e.queue} {e.label} {e.before:.2f} -> {e.after:.2f}{goal}{e.note}"


def reason_text(to: Effect, src: Effect | None) -> str:
    """One line: 'phone SL 0.52 -> 0.81 (target 0.80); email on-time 1.00 -> 0.98'."""
    tail = "from unassigned" if src is None else _fmt(src, with_goal=False)
    return f"{_fmt(to, with_goal=True)}; {tail}"
