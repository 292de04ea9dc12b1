"""Pure rules of the MQTT adapter: where the broker is, how to back off, what to drop.

No MQTT library here, so each rule is tested with plain calls:

* `parse_url` — settings' `parse_broker_url` (``[mqtt] url`` -> `BrokerAddress`);
* `broker_credentials` — who logs in: ``[mqtt] username``/``password_file`` else the URL's;
* `backoff_delays` — exponential reconnect backoff with full jitter;
* `coalesce_latest` — the overload rule: a newer snapshot of a topic supersedes the
  queued older ones, arrival order kept.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from staffer.settings import BrokerAddress, MqttSettings, parse_broker_url

M = TypeVar("M")


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
