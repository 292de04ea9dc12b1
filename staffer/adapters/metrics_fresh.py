"""Freshness gauges (contract §16), on the daemon's registry (``staffer.adapters.metrics``).

* ``staffer_queue_data_age_seconds{site,queue}`` (contract): seconds from the queue's
  latest snapshot to the site's clock at scrape time; absent while the queue never reported.
* ``staffer_queue_stale{site,queue}`` (additive): 1 while the queue is stale (older than
  ``[planner] stale_after_s``, or no data at all), else 0; present for every served queue,
  so an alert sees a queue that never reported.

``set_or_remove`` is how a prediction of a stale queue disappears: the labelled series is
removed (absent in Prometheus), never set to a placeholder value.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

from staffer.core.freshness import Freshness


def set_or_remove(gauge: Gauge, labels: tuple[str, ...], value: float | None) -> None:
    """Set the labelled series, or remove it when ``value`` is None."""
    if value is None:
        gauge.remove(*labels)
    else:
        gauge.labels(*labels).set(value)


class FreshnessGauges:
    """The two freshness gauges; ``observe`` them per site at scrape time."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.data_age = Gauge(
            "staffer_queue_data_age_seconds",
            "Seconds since the queue's latest snapshot, on the site's clock.",
            ["site", "queue"],
            registry=registry,
        )
        self.stale = Gauge(
            "staffer_queue_stale",
            "1 while the queue's data is stale (older than stale_after_s, or none), else 0.",
            ["site", "queue"],
            registry=registry,
        )

    def observe(self, site: str, fresh: Freshness) -> None:
        for queue, age in fresh.age_s.items():
            set_or_remove(self.data_age, (site, queue), age)
            self.stale.labels(site, queue).set(1 if fresh.is_stale(queue) else 0)
