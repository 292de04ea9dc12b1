"""`TextExposition` writes exactly the bytes of ``prometheus_client.generate_latest``."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, Summary
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest

from staffer.adapters.metrics import Metrics
from staffer.adapters.metrics_text import TextExposition
from staffer.core.freshness import Freshness

ODD = 's"1\\x\nü'  # a label value that needs every escape, and UTF-8


def _daemon_metrics(created: bool = False) -> Metrics:
    """Every family the daemon has, with series in each (odd labels, NaN, inf, -0.0)."""
    sites = {"s001": ["phone", "chat"], ODD: ["email", ODD]}
    m = Metrics("0.1.0+odd\\", sites, created_series=created)
    for site, queues in sites.items():
        m.set_mode(site, "shadow")
        m.set_in_flight(site, 2)
        m.set_overrides_active(site, 1)
        m.set_proposals_open(site, 0)
        m.moves_timed_out(site, 1)
        m.move_ack(site, "done")
        m.override_request(site, "accepted")
        m.plan_duration.labels(site).observe(0.004)
        m.plan_duration.labels(site).observe(99.0)
        m.last_input.labels(site).set_to_current_time()
        ages: dict[str, float | None] = {queues[0]: 3.5, queues[1]: None}
        m.observe_freshness(site, Freshness(age_s=ages, stale=frozenset(queues[1:])))
        for q in queues:
            m.queue_agents.labels(site, q, "target").set(12)
            m.predicted_asa.labels(site, q).set(math.inf)
            m.predicted_sl.labels(site, q).set(math.nan)
            m.predicted_abandon.labels(site, q).set(-0.0)
            m.forecast_rate.labels(site, q).set(1e-300)
            m.waiting.labels(site, q).set(1234567.0)
            m.observed_sl.labels(site, q).set(0.1 + 0.2)
            m.moves.labels(site, q, "other").inc(3)
    m.message("queue_metrics", True)
    m.message("bogus", False, "not_json")
    m.http_refused.labels("malformed").inc()
    m.reconnected()
    m.set_connected(True)
    return m


@pytest.mark.parametrize("created", [False, True])
def test_the_daemon_registry_renders_byte_for_byte(created: bool) -> None:
    m = _daemon_metrics(created)
    try:
        text = TextExposition(m.registry)
        assert text.render() == generate_latest(m.registry)
        m.predicted_sl.remove("s001", "phone")  # a series gone, another changed
        m.waiting.labels("s001", "chat").set(-math.inf)
        m.plan_duration.labels("s001").observe(0.5)
        assert text.render() == generate_latest(m.registry)  # the cached labels too
        assert m.exposition() == generate_latest(m.registry)
        assert b"NaN" in m.exposition() and b"+Inf" in m.exposition()
    finally:
        Metrics("0.1.0")  # back to the default: no *_created series


def test_other_collectors_and_unlabelled_families_render_byte_for_byte() -> None:
    r = CollectorRegistry()
    Gauge("g_plain", "plain\\help\nline", registry=r).set(2.5)
    Counter("c_plain", "counter", registry=r).inc()
    Histogram("h_plain", "hist", registry=r, buckets=(-1.0, 0.0, 1.0)).observe(0.5)
    Histogram("h_lab", "hist", ["x"], registry=r).labels("a").observe(3)
    Summary("s_lab", "summary", ["x"], registry=r).labels(ODD).observe(1)
    Info("i", "info", registry=r).info({"k": ODD})
    Gauge("g_empty", "no series yet", ["a", "b"], registry=r)

    class Custom:
        def collect(self) -> list[GaugeMetricFamily]:
            return [GaugeMetricFamily("custom", "from a collector", value=7)]

    r.register(Custom())
    assert TextExposition(r).render() == generate_latest(r)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(max_size=6),
            st.text(max_size=6),
            st.one_of(st.floats(), st.integers(-(10**18), 10**18).map(float)),
        ),
        max_size=20,
    )
)
def test_random_label_values_and_floats_render_byte_for_byte(
    rows: list[tuple[str, str, float]],
) -> None:
    r = CollectorRegistry()
    g = Gauge("g", "random", ["b", "a"], registry=r)  # label order: sorted on output
    h = Histogram("h", "random", ["a"], registry=r)
    text = TextExposition(r)
    for a, b, v in rows:
        g.labels(b, a).set(v)
        if math.isfinite(v):
            h.labels(a).observe(v)
        assert text.render() == generate_latest(r)
