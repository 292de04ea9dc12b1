"""tests/conftest.free_port: distinct ports outside the kernel's ephemeral range."""

from __future__ import annotations

import socket

from tests import conftest


def test_ports_are_distinct_bindable_and_below_the_ephemeral_range() -> None:
    ports = [conftest.free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)
    if conftest._EPHEMERAL_LOW > 11_000:
        assert all(10_000 <= p < conftest._EPHEMERAL_LOW for p in ports)
    for p in ports[:5]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", p))


def test_a_taken_port_is_not_handed_out(monkeypatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        busy = taken.getsockname()[1]
        real = conftest._port_rng.randrange
        calls: list[int] = []

        def pick(lo: int, hi: int) -> int:  # the taken port twice, then anything
            calls.append(lo)
            return busy if len(calls) <= 2 else real(lo, hi)

        monkeypatch.setattr(conftest._port_rng, "randrange", pick)
        monkeypatch.setattr(conftest, "_EPHEMERAL_LOW", 65_535)
        assert conftest.free_port() != busy
        assert len(calls) >= 3
