"""Prometheus metrics of contract §8 (names, types and labels exactly), plus a few extras.

For the on-call alerts (issue 15): ``staffer_site_last_plan_timestamp_seconds{site}``
(wall-clock time of the site's last plan) and ``staffer_move_timeouts_total{site}``
(commanded moves never confirmed within ``move_timeout_s``). Freshness (contract §16):
``staffer.adapters.metrics_fresh``; a stale queue has no prediction series.

``Metrics`` owns its own ``CollectorRegistry`` (no global state, so tests and
several daemons in one process do not collide). Label values stay bounded:
sites and queues come from configuration (when ``sites`` is given, anything
else is ignored), agent ids never become labels, message kinds and invalid
reasons are clamped to known sets.

Extras (additive): ``staffer_invalid_messages_total{kind,reason}``,
``staffer_mqtt_reconnects_total``, ``staffer_mqtt_session_takeovers_total``,
``staffer_http_rejected_total{reason}``,
``staffer_commands_total{site}``,
``staffer_override_requests_total{site,outcome}``, ``staffer_moves_in_flight{site}``,
``staffer_queue_sl_target{site,queue}`` and ``staffer_queue_target_seconds{site,queue}``
(the effective goal of the last plan, overrides included) and
``staffer_site_last_input_timestamp_seconds{site}`` (wall-clock time of the last valid
snapshot; the deploy/ alert rules use these). Approve mode (contract §9):
``staffer_proposals_total{site,outcome}`` and ``staffer_proposals_open{site}``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

from prometheus_client import (
    CollectorRegistry,
    disable_created_metrics,
    enable_created_metrics,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from staffer.adapters.metric_families import MetricFamilies
from staffer.adapters.metrics_fresh import set_or_remove
from staffer.adapters.metrics_text import TextExposition
from staffer.core.freshness import Freshness
from staffer.core.proposals import OUTCOMES as PROPOSAL_OUTCOMES
from staffer.core.proposals import Closing
from staffer.core.types import Move, Plan, QueueSnapshot
from staffer.vocabulary import ACK_STATUSES, MESSAGE_KINDS, MODES

MAX_REASONS = 64
OTHER = "other"
UNKNOWN_KIND = "unknown"  # a message on a topic that is none of ours (reason ``bad_topic``)
NONE_QUEUE = "none"
CONTENT_TYPE = CONTENT_TYPE_LATEST
_REASON_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}(:[a-z0-9_]{1,32})?$")  # not_utf8 has a digit


class Metrics(MetricFamilies):
    """All daemon metrics; ``exposition()`` renders the Prometheus text format."""

    def __init__(
        self,
        version: str,
        sites: Mapping[str, Iterable[str]] | None = None,
        *,
        created_series: bool = False,
    ) -> None:
        """``sites`` maps each configured site to its queue ids; when given, observations
        for other sites/queues are dropped and per-site series start at zero.

        ``created_series`` toggles prometheus_client's ``*_created`` samples; it is a
        process-wide switch in the library, off by default to halve counter series.
        """
        (enable_created_metrics if created_series else disable_created_metrics)()
        super().__init__(CollectorRegistry(auto_describe=True))
        self._text = TextExposition(self.registry)  # generate_latest's bytes, ~8x faster
        self._last_snapshot: dict[tuple[str, str], QueueSnapshot] = {}  # last one observed

        self.build_info.info({"version": version})
        self.mqtt_connected.set(0)
        self._sites: dict[str, frozenset[str]] | None = None
        self._reasons: set[str] = set()
        self._proposal_sites: set[str] = set()
        if sites is not None:
            self._sites = {s: frozenset(qs) for s, qs in sites.items()}
            for site in self._sites:
                self.overrides_active.labels(site).set(0)
                self.commands.labels(site)
                for status in ACK_STATUSES:
                    self.move_acks.labels(site, status)
                self.plan_duration.labels(site)
                self._proposal_series(site)
        for kind in sorted(MESSAGE_KINDS):
            for outcome in ("ok", "invalid"):
                self.messages.labels(kind, outcome)

    # -- label guards -----------------------------------------------------------------------
    def _site_ok(self, site: str) -> bool:
        return self._sites is None or site in self._sites

    def _queue_ok(self, site: str, queue: str) -> bool:
        return self._sites is None or queue in self._sites.get(site, ())

    def _reason(self, reason: str | None) -> str:
        if not reason or not _REASON_RE.match(reason):
            return OTHER
        if reason not in self._reasons:
            if len(self._reasons) >= MAX_REASONS:
                return OTHER
            self._reasons.add(reason)
        return reason

    # -- helpers used by the daemon -----------------------------------------------------------
    def observe_plan(self, plan: Plan, duration_s: float) -> None:
        """Per-queue staffing, forecasts and predictions of a plan; the mode; the duration.

        Moves are not counted here: they count when published (``count_moves``),
        since shadow/manual plans publish none.
        """
        site = plan.site
        if not self._site_ok(site):
            return
        for qid, q in plan.queues.items():
            if not self._queue_ok(site, qid):
                continue
            self.queue_agents.labels(site, qid, "assigned").set(q.assigned)
            self.queue_agents.labels(site, qid, "target").set(q.target)
            self.queue_agents.labels(site, qid, "required").set(q.required)
            set_or_remove(self.predicted_sl, (site, qid), q.predicted_service_level)
            set_or_remove(self.predicted_asa, (site, qid), q.predicted_asa_s)
            set_or_remove(self.predicted_abandon, (site, qid), q.predicted_abandon_ratio)
            self.forecast_rate.labels(site, qid).set(q.forecast_arrival_rate)
            self.sl_target.labels(site, qid).set(q.sl_target)
            self.target_s.labels(site, qid).set(q.target_s)
        self.set_mode(site, plan.mode)
        self.last_plan.labels(site).set_to_current_time()
        if math.isfinite(duration_s) and duration_s >= 0:
            self.plan_duration.labels(site).observe(duration_s)

    def observe_snapshot(self, site: str, queue: str, snap: QueueSnapshot) -> None:
        """Observed waiting contacts and service level of a queue's latest interval.

        Observed SL = answered_within_target / offered, or / answered when the
        snapshot has ``answered`` (abandoned contacts then do not count against
        it); left unchanged when there is no denominator or no
        ``answered_within_target``.

        The daemon calls this at every scrape with each queue's latest snapshot; only a
        snapshot not seen before is new input and moves the site's last-input time.
        """
        if not self._queue_ok(site, queue):
            return
        if self._last_snapshot.get((site, queue)) is not snap:
            self._last_snapshot[site, queue] = snap
            self.last_input.labels(site).set_to_current_time()
        self.waiting.labels(site, queue).set(snap.waiting)
        sl = snap.observed_service_level
        if sl is not None:
            self.observed_sl.labels(site, queue).set(sl)

    def observe_freshness(self, site: str, fresh: Freshness) -> None:
        """Each queue's data age and stale flag (at scrape time, on the site's clock)."""
        if self._site_ok(site):
            self.freshness.observe(site, fresh)

    def message(self, kind: str, ok: bool, reason: str | None = None) -> None:
        """Count one inbound message; ``reason`` (a PayloadError code) when invalid."""
        kind = kind if kind in MESSAGE_KINDS or kind == UNKNOWN_KIND else OTHER
        self.messages.labels(kind, "ok" if ok else "invalid").inc()
        if not ok:
            self.invalid.labels(kind, self._reason(reason)).inc()

    def _proposal_series(self, site: str) -> None:
        """Approve-mode series of a site exist (at 0) from the moment the site is served,
        so dashboards and alerts see "nothing open, nothing decided", not "no data"."""
        if site not in self._proposal_sites:
            self._proposal_sites.add(site)
            self.proposals_open.labels(site).set(0)
            for outcome in PROPOSAL_OUTCOMES:
                self.proposals.labels(site, outcome)

    def set_mode(self, site: str, mode: str) -> None:
        """1 for ``mode``, 0 for the other modes of the site."""
        if not self._site_ok(site):
            return
        self._proposal_series(site)  # the daemon sets every served site's mode at start
        if mode not in MODES:
            return
        for m in MODES:
            self.mode.labels(site, m).set(1 if m == mode else 0)

    def set_overrides_active(self, site: str, n: int) -> None:
        if self._site_ok(site):
            self.overrides_active.labels(site).set(n)

    def set_in_flight(self, site: str, n: int) -> None:
        """The site's moves in flight (its timeout counter starts at 0 with it, so that
        ``increase()`` counts the first timeout too)."""
        if self._site_ok(site):
            self.in_flight.labels(site).set(n)
            self.move_timeouts.labels(site)

    def moves_timed_out(self, site: str, n: int) -> None:
        if self._site_ok(site):
            self.move_timeouts.labels(site).inc(n)

    def set_connected(self, connected: bool) -> None:
        self.mqtt_connected.set(1 if connected else 0)

    def set_storage_ok(self, ok: bool) -> None:
        self.storage_ok.set(1 if ok else 0)

    def reconnected(self) -> None:
        self.reconnects.inc()

    def count_moves(self, site: str, moves: Iterable[Move]) -> None:
        """Count one published command's moves (and the command itself)."""
        if not self._site_ok(site):
            return
        self.commands.labels(site).inc()
        known = None if self._sites is None else self._sites.get(site, frozenset())
        for m in moves:
            src = m.from_queue or NONE_QUEUE
            if known is not None and src != NONE_QUEUE and src not in known:
                src = OTHER
            dst = m.to_queue if known is None or m.to_queue in known else OTHER
            self.moves.labels(site, src, dst).inc()

    def move_ack(self, site: str, status: str) -> None:
        """Count one valid move ack (unknown ones are invalid ``move_ack`` messages)."""
        if self._site_ok(site) and status in ACK_STATUSES:
            self.move_acks.labels(site, status).inc()

    def override_request(self, site: str, outcome: str) -> None:
        """Count a supervisor request; ``outcome`` is ``accepted``/``duplicate``/an error code."""
        if self._site_ok(site):
            self.override_requests.labels(site, self._reason(outcome)).inc()

    def count_proposals(self, site: str, counts: Mapping[Closing, int]) -> None:
        """Add closed proposals per outcome (``core.proposals.tally``)."""
        if self._site_ok(site):
            for outcome, n in counts.items():
                if outcome in PROPOSAL_OUTCOMES and n > 0:
                    self.proposals.labels(site, outcome).inc(n)

    def set_proposals_open(self, site: str, n: int) -> None:
        if self._site_ok(site):
            self.proposals_open.labels(site).set(n)

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format (``CONTENT_TYPE``), byte for byte
        what ``prometheus_client.generate_latest`` writes (``adapters.metrics_text``)."""
        return self._text.render()
