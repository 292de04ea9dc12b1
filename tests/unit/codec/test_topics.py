"""Topic builders, subscription filters and the inbound parser (contract §2)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from staffer.codec.topics import Route, TopicError, Topics

T = Topics("staffer")


def test_builders_match_contract() -> None:
    assert T.queue_metrics("main", "phone") == "staffer/main/queues/phone/metrics"
    assert T.site_metrics("main") == "staffer/main/metrics"
    assert T.agent_state("main", "a17") == "staffer/main/agents/a17/state"
    assert T.override("main", "alice") == "staffer/main/override/alice"
    assert T.override_reply("main", "alice") == "staffer/main/override/alice/reply"
    assert T.overrides("main") == "staffer/main/overrides"
    assert T.commands("main") == "staffer/main/commands"
    assert T.plan("main") == "staffer/main/plan"
    assert T.status() == "staffer/status"


def test_custom_multi_level_prefix() -> None:
    t = Topics("acme/staffer")
    assert t.plan("s1") == "acme/staffer/s1/plan"
    assert t.parse("acme/staffer/s1/metrics") == Route("site_metrics", "s1")
    assert t.parse("staffer/s1/metrics") is None


@pytest.mark.parametrize("prefix", ["", "a//b", "+", "st#", "/staffer", "staffer/"])
def test_bad_prefix(prefix: str) -> None:
    with pytest.raises(TopicError):
        Topics(prefix)


@pytest.mark.parametrize("seg", ["", "a/b", "+", "#", "a+", "x\x00", "s" * 300])
def test_builders_reject_bad_segments(seg: str) -> None:
    with pytest.raises(TopicError):
        T.queue_metrics("main", seg)
    with pytest.raises(TopicError):
        T.agent_state(seg, "a1")
    with pytest.raises(TopicError):
        T.override("main", seg)


@pytest.mark.parametrize(
    ("topic", "route"),
    [
        ("staffer/main/queues/phone/metrics", Route("queue_metrics", "main", queue="phone")),
        ("staffer/main/metrics", Route("site_metrics", "main")),
        ("staffer/main/agents/a17/state", Route("agent_state", "main", agent="a17")),
        ("staffer/main/override/alice", Route("override", "main", supervisor="alice")),
        ("staffer/sité/agents/ägent/state", Route("agent_state", "sité", agent="ägent")),
    ],
)
def test_parse_inbound(topic: str, route: Route) -> None:
    assert T.parse(topic) == route


@pytest.mark.parametrize(
    "topic",
    [
        "staffer/main/override/alice/reply",
        "staffer/main/overrides",
        "staffer/main/commands",
        "staffer/main/plan",
        "staffer/status",
        "staffer",
        "staffer/",
        "other/main/metrics",
        "staffer//metrics",
        "staffer/main/queues//metrics",
        "staffer/+/metrics",
        "staffer/main/agents/#/state",
        "staffer/main/queues/phone/metrics/extra",
        "staffer/main/agents/a1/status",
        "staffer/main/queue/phone/metrics",
        "/staffer/main/metrics",
        "",
    ],
)
def test_parse_rejects(topic: str) -> None:
    assert T.parse(topic) is None


def test_parse_roundtrips_builders() -> None:
    assert T.parse(T.queue_metrics("s", "q")) == Route("queue_metrics", "s", queue="q")
    assert T.parse(T.agent_state("s", "a")) == Route("agent_state", "s", agent="a")
    assert T.parse(T.override("s", "v")) == Route("override", "s", supervisor="v")
    assert T.parse(T.move_ack("s", "a")) == Route("move_ack", "s", agent="a")
    assert T.move_ack("s", "a") == "staffer/s/agents/a/move"


def test_subscriptions_per_site_and_wildcard() -> None:
    subs = T.subscriptions(["s1", "s2", "s1"])
    assert subs == [
        "staffer/s1/queues/+/metrics",
        "staffer/s1/metrics",
        "staffer/s1/agents/+/state",
        "staffer/s1/override/+",
        "staffer/s1/agents/+/move",
        "staffer/s2/queues/+/metrics",
        "staffer/s2/metrics",
        "staffer/s2/agents/+/state",
        "staffer/s2/override/+",
        "staffer/s2/agents/+/move",
    ]
    assert (
        T.subscriptions(None)
        == T.wildcard_subscriptions()
        == [
            "staffer/+/queues/+/metrics",
            "staffer/+/metrics",
            "staffer/+/agents/+/state",
            "staffer/+/override/+",
            "staffer/+/agents/+/move",
        ]
    )
    with pytest.raises(TopicError):
        T.subscriptions(["ok", "bad/site"])


def test_large_site_list() -> None:
    sites = [f"site{i:05d}" for i in range(5000)]
    assert len(T.subscriptions(sites)) == 25000


_seg = st.text(
    st.characters(blacklist_characters="/+#\x00", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=20,
)


@given(_seg, _seg)
def test_builder_parse_property(site: str, ident: str) -> None:
    assert T.parse(T.queue_metrics(site, ident)) == Route("queue_metrics", site, queue=ident)
    assert T.parse(T.override(site, ident)) == Route("override", site, supervisor=ident)
    assert T.parse(T.override_reply(site, ident)) is None


@given(st.text(max_size=60))
def test_parse_total(topic: str) -> None:
    route = T.parse(topic)
    assert route is None or isinstance(route, Route)
