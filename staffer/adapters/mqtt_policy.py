"""Pure rules of the MQTT adapter: where the broker is, how to back off, what to drop.

No MQTT library here, so each rule is tested with plain calls:

* `parse_url` — settings' `parse_broker_url` (``[mqtt] url`` -> `BrokerAddress`);
* `broker_credentials` — who logs in: ``[mqtt] username``/``password_file`` else the URL's;
* `backoff_delays` — exponential reconnect backoff with full jitter;
* `coalesce_latest` — the overload rule: a newer snapshot of a topic supersedes the
  queued older ones, arrival order kept;
* `is_session_takeover`, `TakeoverWatch` — a session taken over, and a loop of them.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from staffer.settings import BrokerAddress, MqttSettings, parse_broker_url

M = TypeVar("M")
_log = logging.getLogger("staffer.mqtt")


# The broker URL has one parser, in settings (it validates ``[mqtt] url`` at load, so
# ``check-config`` and ``run`` cannot disagree); tools that take a URL on their command
# line use the same one under this name.
parse_url = parse_broker_url


def read_password(path: Path | None) -> str | None:
    """The password in ``[mqtt] password_file`` (trailing newline dropped), read at each
    connect so a rotated password needs no restart."""
    if path is None:
        return None
    return path.read_text(encoding="utf-8").rstrip("\r\n")


def broker_credentials(
    settings: MqttSettings, address: BrokerAddress
) -> tuple[str | None, str | None]:
    """(username, password) to log in with: ``[mqtt] username`` else the URL's, and the
    password from ``password_file`` (read at each call, so a rotated file applies at the
    next connect) else the URL's; no password without a username. OSError when the file
    cannot be read. Shared by the daemon's port and the tools' client (``mqtt_client``)."""
    username = settings.username or address.username
    password = read_password(settings.password_file) or address.password
    return username, password if username else None


def backoff_delays(min_s: float, max_s: float, rng: random.Random | None = None) -> Iterator[float]:
    """Endless exponential backoff with full jitter: uniform(min, min(max, min*2**n))."""
    r = rng or random.Random()
    ceiling = min_s
    while True:
        yield r.uniform(min_s, max(min_s, ceiling))
        ceiling = min(max_s, ceiling * 2)


def coalesce_latest(
    messages: Sequence[M], topics: Sequence[str], coalescible: Callable[[str], bool]
) -> tuple[list[M], int]:
    """Keep arrival order, but only the last message of each coalescible topic.

    Returns the kept messages and how many were dropped.

    >>> coalesce_latest("abc", ["q/metrics", "a/state", "q/metrics"], lambda t: "metrics" in t)
    (['b', 'c'], 1)
    """
    last: dict[str, int] = {}
    for i, topic in enumerate(topics):
        if coalescible(topic):
            last[topic] = i
    kept = [m for i, (m, t) in enumerate(zip(messages, topics, strict=True)) if last.get(t, i) == i]
    return kept, len(messages) - len(kept)


SESSION_TAKEN_OVER = 0x8E  # MQTT 5 DISCONNECT reason: another client connected with our id


def is_session_takeover(*errors: BaseException | None) -> bool:
    """Whether any of ``errors`` (or an exception it was raised from) carries the MQTT 5
    reason 0x8E "session taken over" (aiomqtt: an ``MqttCodeError`` whose ``rc`` is a
    paho ``ReasonCode`` or an int)."""
    for err in errors:
        seen = 0
        while err is not None and seen < 8:
            rc = getattr(err, "rc", None)
            if getattr(rc, "value", rc) == SESSION_TAKEN_OVER:
                return True
            err, seen = err.__cause__ or err.__context__, seen + 1
    return False


class TakeoverWatch:
    """Repeated session takeovers in a short window: a loop (two clients with one client
    id, each knocking the other off). ``record(now)`` notes one takeover and returns True
    once per loop, when the ``count``-th lands within ``window_s``; the loop ends after
    ``window_s`` without one."""

    def __init__(self, count: int = 3, window_s: float = 60.0, short_s: float = 30.0) -> None:
        self.count, self.window_s, self.short_s = count, window_s, short_s
        self._times: list[float] = []
        self.looping = False
        self._suspect = False  # a short session was lost: a takeover if back at once
        self._up_at = -math.inf  # when the current session began

    def lost(self, established: bool, now: float) -> None:
        """A session ended without a reason (``established`` False: a connect failed)."""
        self._suspect = established and now - self._up_at < self.short_s

    def failed(self) -> None:
        """A connect attempt failed: the broker was gone, not taken over."""
        self._suspect = False

    def connected(self, now: float) -> bool:
        """Connected again: True when the previous session was short (under ``short_s``),
        ended without a reason, and this is the first attempt since. mosquitto 2.0 closes
        a taken-over session without a reason code; a broker restart after a long session
        looks the same once, a loop of two clients with one id is a run of these."""
        suspect, self._suspect, self._up_at = self._suspect, False, now
        return suspect

    def record(self, now: float) -> bool:
        if self._times and now - self._times[-1] > self.window_s:
            self.looping = False
        self._times = [t for t in self._times if now - t <= self.window_s] + [now]
        if self.looping or len(self._times) < self.count:
            return False
        self.looping = True
        return True

    def taken_over(self, now: float, broker: str, client_id: str) -> None:
        """Log one takeover: a warning for an isolated one, one error line when a loop
        starts, nothing for the rest of the loop (the counter goes on)."""
        if self.record(now):
            _log.error(
                "session takeover loop: another client keeps connecting to %s with this "
                "daemon's client id %r (a second daemon with the same [mqtt] client_id, or "
                "someone with its credentials); reconnecting with backoff, further takeovers "
                "are only counted (staffer_mqtt_session_takeovers_total). Reserve the id on "
                "the broker: docs/deploy.md",
                broker,
                client_id,
            )
        elif not self.looping:
            _log.warning(
                "session on %s taken over by another client with client id %r", broker, client_id
            )
