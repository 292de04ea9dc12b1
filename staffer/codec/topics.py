"""MQTT topic names of contract §2: builders, subscription filters and a parser.

This is the only module that knows topic layouts. Builders validate every
variable segment (non-empty, no ``/``, no wildcards, no NUL) so the daemon can
never publish to, or subscribe with, a topic it did not mean. ``parse`` maps an
inbound topic to a ``Route`` or returns None for anything that is not one of the
five inbound shapes (including our own outbound topics and malformed names).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from staffer.vocabulary import MessageKind, valid_segment

RouteKind = MessageKind  # a route is named after the kind of message it carries

MAX_TOPIC_BYTES = 65535  # MQTT limit on a topic name (UTF-8 bytes)


class TopicError(ValueError):
    """A topic segment or prefix is unusable (empty, wildcard, slash, too long)."""


@dataclass(frozen=True, slots=True)
class Route:
    """Where an inbound message belongs: its kind, site and the kind's id segment."""

    kind: RouteKind
    site: str
    queue: str | None = None
    agent: str | None = None
    supervisor: str | None = None


def response_topic_refusal(reply_topic: str, response_topic: str) -> str | None:
    """Why a request's MQTT v5 response topic is refused, or None when the daemon may
    reply there: only the requester's own reply topic or a topic below it (the daemon
    publishes with its own broker rights, so any other topic would let a supervisor write
    where the ACL forbids it: commands, plans, another supervisor's replies). A name that
    cannot be published to (a wildcard, NUL, empty level, over 65535 bytes) is refused too.
    """
    if len(response_topic.encode("utf-8", "surrogatepass")) > MAX_TOPIC_BYTES:
        return "response topic longer than 65535 bytes"
    if any(c in response_topic for c in "+#\x00") or not response_topic.isprintable():
        return "response topic has a wildcard or control character: not publishable"
    if response_topic != reply_topic and not response_topic.startswith(reply_topic + "/"):
        return f"response topic must be {reply_topic} or below it"
    below = response_topic[len(reply_topic) + 1 :]
    if response_topic != reply_topic and "" in below.split("/"):
        return "response topic has an empty level"
    return None


def _seg(segment: str, what: str) -> str:
    if not valid_segment(segment):
        raise TopicError(f"invalid {what} topic segment: {segment!r}")
    return segment


class Topics:
    """Topic builders and parser for one prefix (``[mqtt] topic_prefix``).

    The prefix may have several levels (``acme/staffer``); each level must be a
    valid segment.
    """

    def __init__(self, prefix: str = "staffer") -> None:
        if not isinstance(prefix, str) or not prefix:
            raise TopicError("topic prefix must be a non-empty string")
        parts = prefix.split("/")
        for part in parts:
            _seg(part, "prefix")
        self.prefix = prefix
        self._prefix_parts = tuple(parts)
        self._n = len(parts)

    def _t(self, *segments: str) -> str:
        topic = "/".join((self.prefix, *segments))
        if len(topic.encode("utf-8")) > MAX_TOPIC_BYTES:
            raise TopicError("topic longer than the MQTT limit")
        return topic

    # -- inbound ----------------------------------------------------------------
    def queue_metrics(self, site: str, queue: str) -> str:
        """``{p}/{site}/queues/{queue}/metrics`` — one queue's snapshot (in)."""
        return self._t(_seg(site, "site"), "queues", _seg(queue, "queue"), "metrics")

    def site_metrics(self, site: str) -> str:
        """``{p}/{site}/metrics`` — all queues of a site in one snapshot (in)."""
        return self._t(_seg(site, "site"), "metrics")

    def agent_state(self, site: str, agent: str) -> str:
        """``{p}/{site}/agents/{agent}/state`` — one agent's state (in)."""
        return self._t(_seg(site, "site"), "agents", _seg(agent, "agent"), "state")

    def move_ack(self, site: str, agent: str) -> str:
        """``{p}/{site}/agents/{agent}/move`` — a bridge's ack of a move (in, §10)."""
        return self._t(_seg(site, "site"), "agents", _seg(agent, "agent"), "move")

    def override(self, site: str, supervisor: str) -> str:
        """``{p}/{site}/override/{supervisor}`` — a supervisor's request (in)."""
        return self._t(_seg(site, "site"), "override", _seg(supervisor, "supervisor"))

    # -- outbound ---------------------------------------------------------------
    def override_reply(self, site: str, supervisor: str) -> str:
        """``{p}/{site}/override/{supervisor}/reply`` — the reply to a request (out)."""
        return self.override(site, supervisor) + "/reply"

    def overrides(self, site: str) -> str:
        """``{p}/{site}/overrides`` — retained list of active overrides (out)."""
        return self._t(_seg(site, "site"), "overrides")

    def commands(self, site: str) -> str:
        """``{p}/{site}/commands`` — a batch of moves (out)."""
        return self._t(_seg(site, "site"), "commands")

    def plan(self, site: str) -> str:
        """``{p}/{site}/plan`` — retained current plan (out)."""
        return self._t(_seg(site, "site"), "plan")

    def proposals(self, site: str) -> str:
        """``{p}/{site}/proposals`` — retained open proposals of approve mode (out, §9)."""
        return self._t(_seg(site, "site"), "proposals")

    def status(self) -> str:
        """``{p}/status`` — retained online/offline status and last will (out)."""
        return self._t("status")

    # -- subscriptions ----------------------------------------------------------
    def site_subscriptions(self, site: str) -> list[str]:
        """The five inbound filters for one site."""
        s = _seg(site, "site")
        return [
            self._t(s, "queues", "+", "metrics"),
            self._t(s, "metrics"),
            self._t(s, "agents", "+", "state"),
            self._t(s, "override", "+"),
            self._t(s, "agents", "+", "move"),
        ]

    def subscriptions(self, site_ids: Iterable[str] | None = None) -> list[str]:
        """Inbound filters for the given sites (5 per site, deduplicated, in order).

        ``None`` returns the wildcard form (``wildcard_subscriptions``), which a
        replica with many sites should prefer; it must then drop routes for sites
        it does not own (``parse`` + ownership check).
        """
        if site_ids is None:
            return self.wildcard_subscriptions()
        out: list[str] = []
        seen: set[str] = set()
        for site in site_ids:
            if site in seen:
                continue
            seen.add(site)
            out.extend(self.site_subscriptions(site))
        return out

    def wildcard_subscriptions(self) -> list[str]:
        """Five filters covering every site (``{p}/+/...``)."""
        return [
            self._t("+", "queues", "+", "metrics"),
            self._t("+", "metrics"),
            self._t("+", "agents", "+", "state"),
            self._t("+", "override", "+"),
            self._t("+", "agents", "+", "move"),
        ]

    # -- parsing ----------------------------------------------------------------
    def parse(self, topic: str) -> Route | None:
        """Route an inbound topic name, or None when it is not one of ours.

        Rejects wildcards, empty or oversized segments, other prefixes and every
        outbound topic (``.../reply``, ``.../plan`` ...).
        """
        if not isinstance(topic, str) or len(topic) > MAX_TOPIC_BYTES:
            return None
        parts = topic.split("/")
        n = self._n
        if tuple(parts[:n]) != self._prefix_parts:
            return None
        rest = parts[n:]
        if not rest or not all(valid_segment(p) for p in rest):
            return None
        site = rest[0]
        if len(rest) == 2 and rest[1] == "metrics":
            return Route("site_metrics", site)
        if len(rest) == 3 and rest[1] == "override":
            return Route("override", site, supervisor=rest[2])
        if len(rest) == 4 and rest[3] == "metrics" and rest[1] == "queues":
            return Route("queue_metrics", site, queue=rest[2])
        if len(rest) == 4 and rest[3] == "state" and rest[1] == "agents":
            return Route("agent_state", site, agent=rest[2])
        if len(rest) == 4 and rest[3] == "move" and rest[1] == "agents":
            return Route("move_ack", site, agent=rest[2])
        return None
