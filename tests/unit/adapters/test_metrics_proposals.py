"""Approve-mode metrics (contract §9): per-site series from the start, counts per outcome."""

from __future__ import annotations

from staffer.adapters.metrics import Metrics
from staffer.core.proposals import ProposalBook, Selection, tally
from staffer.core.types import Move


def _text(m: Metrics) -> str:
    return m.exposition().decode()


def test_series_start_at_zero_for_every_configured_site() -> None:
    text = _text(Metrics("t", {"main": ["phone"]}))
    assert 'staffer_proposals_open{site="main"} 0.0' in text
    for outcome in ("approved", "rejected", "expired", "withdrawn"):
        assert f'staffer_proposals_total{{outcome="{outcome}",site="main"}} 0.0' in text


def test_counts_from_a_tally_and_unknown_sites_ignored() -> None:
    m = Metrics("t", {"main": ["phone", "email"]})
    book = ProposalBook("main", ttl_s=600, cooldown_s=0)
    book.update("plan", [Move("a1", "email", "phone", "r"), Move("a2", "email", "phone", "r")], 0.0)
    closed = list(
        book.reject(Selection((book.open()[0].proposal_id,)), "bob", 1.0, mode="approve").closed
    )
    closed += book.expire(600.0).closed
    m.count_proposals("main", tally(closed))
    m.set_proposals_open("main", len(book))
    m.count_proposals("elsewhere", {"approved": 5})
    m.set_proposals_open("elsewhere", 3)
    text = _text(m)
    assert 'staffer_proposals_total{outcome="rejected",site="main"} 1.0' in text
    assert 'staffer_proposals_total{outcome="expired",site="main"} 1.0' in text
    assert 'staffer_proposals_total{outcome="approved",site="main"} 0.0' in text
    assert 'staffer_proposals_open{site="main"} 0.0' in text
    assert "elsewhere" not in text


def test_a_daemon_without_a_site_list_gets_the_series_when_it_sets_the_mode() -> None:
    m = Metrics("t")  # as staffer.app builds it
    assert "staffer_proposals_open{" not in _text(m)
    m.set_mode("main", "auto")
    text = _text(m)
    assert 'staffer_proposals_open{site="main"} 0.0' in text
    assert 'staffer_proposals_total{outcome="expired",site="main"} 0.0' in text
