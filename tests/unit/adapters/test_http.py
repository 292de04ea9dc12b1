"""The HTTP endpoint: /metrics, /healthz, /readyz over a real socket (ephemeral port)."""

from __future__ import annotations

import aiohttp
import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest

from staffer.adapters.http import METRICS_CONTENT_TYPE, HttpServer


async def _get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        return r.status, r.headers.get("Content-Type", ""), await r.text()


async def test_endpoints_on_ephemeral_port() -> None:
    registry = CollectorRegistry()
    Counter("demo_events", "Demo events.", registry=registry).inc(3)
    state = {"reason": "not connected to the MQTT broker"}
    server = HttpServer(
        "127.0.0.1",
        0,
        exposition=lambda: generate_latest(registry),
        readiness=lambda: state["reason"],
    )
    await server.start()
    try:
        assert server.port > 0
        status, ctype, body = await _get(f"{server.url}/metrics")
        assert status == 200
        assert ctype == METRICS_CONTENT_TYPE
        assert "demo_events_total 3.0" in body

        assert (await _get(f"{server.url}/healthz"))[0] == 200

        status, _, body = await _get(f"{server.url}/readyz")
        assert status == 503
        assert "not connected" in body

        state["reason"] = None  # type: ignore[assignment]
        status, _, body = await _get(f"{server.url}/readyz")
        assert (status, body.strip()) == (200, "ready")

        assert (await _get(f"{server.url}/nope"))[0] == 404
    finally:
        await server.stop()
        await server.stop()  # idempotent


async def test_port_not_available_before_start() -> None:
    server = HttpServer("127.0.0.1", 0, exposition=lambda: b"", readiness=lambda: None)
    with pytest.raises(RuntimeError):
        _ = server.port
