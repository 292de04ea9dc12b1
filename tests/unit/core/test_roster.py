"""The roster pass: counts, timelines, the agent-friendly rules (contract §11), supply."""

from __future__ import annotations

import math

import numpy as np
import pytest

from staffer.core.roster import (
    WRAP_UP_S,
    Roster,
    Rules,
    build_roster,
    site_close_s,
    typical_left,
)
from staffer.core.state import SiteState
from staffer.core.types import AgentState, Controls, InFlightMove

from .conftest import NOW

QUEUES = ("phone", "chat", "email")
RULES = Rules(
    NOW,
    horizon_s=1800.0,
    min_dwell_s=600.0,
    min_return_s=1800.0,
    min_remaining_s=900.0,
    switch_cost_s=60.0,
)
NO_CONTROLS = Controls()
RESIDUAL = {"phone": 240.0, "chat": 600.0, "email": 360.0}


def person(
    aid: str,
    queue: str | None,
    skills: tuple[str, ...] = QUEUES,
    status: str = "available",
    until: float | None = None,
    ts: float = NOW - 7200.0,
) -> AgentState:
    return AgentState(aid, ts, status, queue, frozenset(skills), until)  # type: ignore[arg-type]


def roster(
    *people: AgentState,
    flights: dict[str, InFlightMove] | None = None,
    controls: Controls = NO_CONTROLS,
    state: SiteState | None = None,
    edges: np.ndarray | None = None,
) -> Roster:
    st = state or SiteState("main")
    for a in people:
        st.apply_agent(a)
    return build_roster(QUEUES, st, controls, flights or {}, RULES, RESIDUAL, ("email",), edges)


def test_counts_and_who_is_staffed() -> None:
    r = roster(
        person("a", "phone", status="busy"),
        person("b", "phone"),
        person("c", "chat", status="wrap_up"),
        person("d", "email", status="break"),
        person("e", "email", status="offline"),
        person("f", "sales", ("sales", "phone")),  # a queue this site does not manage
        person("g", None, ("phone",)),  # staffed, no queue yet
    )
    assert r.assigned == {"phone": 2, "chat": 1, "email": 0}
    assert r.present == r.assigned and r.busy == {"phone": 1, "chat": 0, "email": 0}
    assert r.staffed == 5  # a, b, c, f, g
    assert ("sales", "phone") not in r.candidates  # not ours to move
    assert r.candidates[(None, "phone")] == [(0, "g")]
    assert r.events == {"phone": [], "chat": [], "email": []}


def test_an_agent_on_its_way_counts_at_its_target_from_its_switch_time() -> None:
    flights = {
        "a": InFlightMove("a", "phone", "c1", NOW - 30),
        "b": InFlightMove("b", "sales", "c2", NOW - 30),  # to a queue we do not manage
    }
    r = roster(person("a", "chat", status="busy"), person("b", "email"), flights=flights)
    assert r.assigned == {"phone": 1, "chat": 0, "email": 1}
    assert r.present == {"phone": 0, "chat": 1, "email": 1}  # still where it is for now
    assert r.events["chat"] == [(600.0, -1)]  # free of its chats in ~10 minutes
    assert r.events["phone"] == [(660.0, 1)]  # then a minute to switch
    assert r.events["email"] == [(0.0, -1)]  # available: leaves at once (for the foreign queue)
    assert r.movable == 0  # agents on their way are never moved again


@pytest.mark.parametrize(
    ("until", "movable", "event"),
    [
        (None, True, None),  # no announced end
        (NOW + 3600.0, True, None),  # leaves after the horizon
        (NOW + 1000.0, True, 1000.0),  # leaves within the horizon: capacity counted until then
        (NOW + 899.0, False, 899.0),  # less than min_remaining_s ahead: never moved
        (NOW + 10.0, False, 10.0),
    ],
)
def test_available_until(until: float | None, movable: bool, event: float | None) -> None:
    r = roster(person("a", "email", until=until))
    assert (r.movable == 1) is movable
    assert r.events["email"] == ([] if event is None else [(event, -1)])


def test_min_return_keeps_agents_from_going_back() -> None:
    st = SiteState("main")
    st.apply_agent(person("a", "email", ts=NOW - 3000))
    st.apply_agent(person("a", "phone", ts=NOW - 900))  # left email 15 minutes ago
    st.apply_agent(person("b", "email", ts=NOW - 5000))
    st.apply_agent(person("b", "phone", ts=NOW - 2000))  # left email 33 minutes ago
    r = roster(state=st)
    assert (0, "a") in r.candidates[("phone", "chat")]  # onwards is fine
    assert (0, "a") not in r.candidates.get(("phone", "email"), [])  # back is not (yet)
    assert (0, "b") in r.candidates[("phone", "email")]


def test_dwell_and_locks() -> None:
    st = SiteState("main")
    st.apply_agent(person("a", "email", ts=NOW - 3000))
    st.apply_agent(person("a", "phone", ts=NOW - 300))  # arrived 5 minutes ago
    r = roster(person("b", "phone"), state=st, controls=Controls(locked_agents=frozenset({"b"})))
    assert r.movable == 0 and r.assigned["phone"] == 2


def test_movers_tallies_and_typical_time_left() -> None:
    r = roster(
        person("a", "chat"),
        person("b", "chat", status="busy"),
        person("c", "chat", status="wrap_up"),
    )
    assert typical_left(r.movers_out["chat"], 1) == 0.0  # the available one goes first
    assert typical_left(r.movers_out["chat"], 2) == pytest.approx(WRAP_UP_S / 2)
    assert typical_left(r.movers_out["chat"], 3) == pytest.approx((WRAP_UP_S + 600.0) / 3)
    assert typical_left(r.movers_in["phone"], 9) == pytest.approx((WRAP_UP_S + 600.0) / 3)
    assert typical_left([0.0] * 6, 3) == 0.0


def test_look_ahead_supply_counts_the_part_of_a_step_worked() -> None:
    edges = np.array([0.0, 1800.0, 3600.0, 7200.0])
    r = roster(
        person("a", "email", until=NOW + 2700.0),  # leaves half-way through step 2
        person("b", "phone", ("phone",), until=None),
        person("c", "chat"),
        edges=edges,
    )
    assert r.supply["email"].tolist() == [2.0, 1.5, 1.0]  # a and c can do email
    assert r.others["email"].tolist() == [1.0, 1.0, 1.0]
    assert math.isinf(r.close["email"])  # c never announced an end
    alone = roster(person("a", "email", until=NOW + 2700.0), edges=edges)
    assert alone.close["email"] == 2700.0


def test_site_close_is_when_the_last_staffed_agent_leaves() -> None:
    st = SiteState("main")
    assert site_close_s(st, NOW) == math.inf  # nobody staffed
    for a in (
        person("a", "phone", until=NOW + 600.0),
        person("b", "chat", status="busy", until=NOW + 1500.0),
        person("c", "email", status="break"),  # away: not counted, announces nothing
        person("d", "email", status="offline"),
    ):
        st.apply_agent(a)
    assert site_close_s(st, NOW) == 1500.0
    st.apply_agent(person("e", "email", until=None, ts=NOW - 60.0))  # no end announced
    assert site_close_s(st, NOW) == math.inf


@pytest.mark.parametrize("until", [NOW - 60.0, NOW])
def test_an_agent_past_its_available_until_is_neither_capacity_nor_load(until: float) -> None:
    # e.g. finishing a last call after the shift's end: that call is its own, not work the
    # queue's other agents must take on, and it serves nobody else
    flights = {"c": InFlightMove("c", "chat", "c1", NOW - 30)}
    r = roster(
        person("a", "phone", status="busy", until=until),
        person("b", "phone", status="busy", until=NOW + 3600.0),
        person("c", "email", until=until),  # on its way to chat, but gone
        flights=flights,
        edges=r_edges(),
    )
    assert r.assigned == {"phone": 1, "chat": 0, "email": 0}
    assert r.present == {"phone": 1, "chat": 0, "email": 0}
    assert r.busy == {"phone": 1, "chat": 0, "email": 0}
    assert r.events == {"phone": [], "chat": [], "email": []}
    alone = roster(person("b", "phone", status="busy", until=NOW + 3600.0), edges=r_edges())
    assert (r.staffed, r.movable, r.candidates) == (alone.staffed, alone.movable, alone.candidates)
    assert r.supply["email"].tolist() == alone.supply["email"].tolist() == [1.0, 1.0]


def r_edges() -> np.ndarray:
    return np.array([0.0, 1800.0, 3600.0])
