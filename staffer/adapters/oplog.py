"""The log lines an operator follows (logger ``staffer.ops``), formatted in one place.

One INFO line per command sent, per accepted supervisor request, per move that timed out
or that the bridge rejected (WARNING), and a one-line health summary whenever it changes.
Each line is readable alone in the text format; in the JSON format (``--log-format json``)
it also carries ``event`` (``command``, ``override``, ``move_timeout``, ``move_rejected``,
``health``), ``site``, ``command_id`` where there is one, and for a command ``moves``
(a list of ``{agent, from, to, reason}``), so ``jq 'select(.event == "command")'`` works.

Text from the wire (agent ids, reasons, supervisors' fields) is clipped and its control
characters escaped: one line stays one line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from staffer.core.types import InFlightMove, Move

log = logging.getLogger("staffer.ops")

MAX_TEXT = 200  # characters of one wire-supplied value in a line
MAX_LISTED = 10  # stale queues named in the health line (then "+N more")


def clean(value: object, limit: int = MAX_TEXT) -> str:
    """``value`` as one printable line, at most ``limit`` characters (+ an ellipsis)."""
    text = str(value)
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[:limit] + "…"


def _move(m: Move) -> str:
    return (
        f"{clean(m.agent)} {clean(m.from_queue or '-')} -> {clean(m.to_queue)} ({clean(m.reason)})"
    )


def command(site: str, command_id: str, mode: str, decided_by: str, moves: Sequence[Move]) -> None:
    """A command was published (planner, ``assign``) or an approval's was queued to send."""
    log.info(
        "site %s: command %s (%s, by %s), %d move(s): %s",
        site,
        command_id,
        mode,
        clean(decided_by),
        len(moves),
        "; ".join(_move(m) for m in moves),
        extra={
            "site": site,
            "event": "command",
            "command_id": command_id,
            "moves": [
                {"agent": m.agent, "from": m.from_queue, "to": m.to_queue, "reason": m.reason}
                for m in moves
            ],
        },
    )


def override(
    site: str,
    supervisor: str,
    action: str,
    fields: Mapping[str, object],
    override_id: str | None,
    reason: str,
) -> None:
    """A supervisor's request was accepted (persisted and replied)."""
    detail = " ".join(f"{clean(k, 40)}={clean(v, 80)}" for k, v in sorted(fields.items()))
    log.info(
        "site %s: %s accepted from %s%s%s%s",
        site,
        clean(action, 40),
        clean(supervisor),
        f": {detail}" if detail else "",
        f" (override {override_id})" if override_id else "",
        f' reason "{clean(reason)}"' if reason else "",
        extra={"site": site, "event": "override", "supervisor": supervisor},
    )


def move_timeouts(site: str, moves: Iterable[InFlightMove], now: float) -> None:
    """Moves no agent state confirmed in time (``now``: the site's clock): the planner
    decides those agents afresh."""
    for m in moves:
        log.info(
            "site %s: move of %s to %s (command %s) timed out unconfirmed after %.0f s",
            site,
            clean(m.agent),
            clean(m.to_queue),
            m.command_id,
            now - m.issued_at,
            extra={"site": site, "event": "move_timeout", "command_id": m.command_id},
        )


def move_rejected(site: str, agent: str, to_queue: str, command_id: str, reason: str) -> None:
    log.warning(
        "site %s: the bridge rejected moving %s to %s (command %s): %s",
        site,
        clean(agent),
        clean(to_queue),
        clean(command_id),
        clean(reason) if reason else "no reason given",
        extra={"site": site, "event": "move_rejected", "command_id": command_id},
    )


@dataclass(frozen=True, slots=True)
class Health:
    """What the health line says; equal values mean nothing to log."""

    connected: bool
    sites: int
    modes: tuple[tuple[str, str], ...]  # (site, mode) of the sites not in auto mode
    stale: tuple[str, ...]  # "site/queue" of the stale queues
    in_flight: int
    proposals: int
    overrides: int

    def line(self) -> str:
        modes = ",".join(f"{s}:{m}" for s, m in self.modes) or "-"
        shown = self.stale[:MAX_LISTED]
        more = f",+{len(self.stale) - MAX_LISTED} more" if len(self.stale) > MAX_LISTED else ""
        stale = ",".join(shown) + more if shown else "-"
        return (
            f"health: mqtt={'up' if self.connected else 'down'} sites={self.sites} "
            f"not_auto={modes} stale={stale} in_flight={self.in_flight} "
            f"proposals={self.proposals} overrides={self.overrides}"
        )


class HealthLog:
    """Logs the health summary when it differs from the last one logged."""

    def __init__(self) -> None:
        self.last: Health | None = None

    def update(self, health: Health) -> bool:
        """Log ``health`` if it changed; True when a line was written."""
        if health == self.last:
            return False
        self.last = health
        level = logging.INFO if health.connected and not health.stale else logging.WARNING
        log.log(level, "%s", health.line(), extra={"event": "health"})
        return True
