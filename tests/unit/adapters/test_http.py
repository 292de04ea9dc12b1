"""The HTTP endpoint: /metrics, /healthz, /readyz over a real socket (ephemeral port)."""

from __future__ import annotations

import json

import aiohttp
import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest

from staffer import console
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


async def _fetch(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as s, s.request(method, url) as r:
        return r.status, dict(r.headers), await r.read()


async def test_console_is_static_read_only_and_locked_down() -> None:
    config = {"mqtt_ws_url": "ws://broker:8080", "topic_prefix": "acme", "sites": ["main"]}
    server = HttpServer(
        "127.0.0.1",
        0,
        exposition=lambda: b"",
        readiness=lambda: None,
        console_config=lambda: config,
    )
    await server.start()
    try:
        status, headers, body = await _fetch(f"{server.url}/console")
        assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
        assert body == console.read(console.PAGE)
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "connect-src 'self' ws: wss:" in csp and "unsafe" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        for name, ctype in console.ASSETS.items():
            status, headers, body = await _fetch(f"{server.url}/console/{name}")
            assert (status, headers["Content-Type"]) == (200, ctype), name
            assert body == console.read(name) and body
        status, headers, body = await _fetch(f"{server.url}/console/config.json")
        assert status == 200 and headers["Content-Type"].startswith("application/json")
        assert json.loads(body) == config
        for path in (
            "/console/index.html",
            "/console/../pyproject.toml",
            "/console/vendor/VENDOR.md",
            "/console/vendor/update-mqttjs.sh",
        ):
            assert (await _fetch(f"{server.url}{path}"))[0] == 404, path
        for method in ("POST", "PUT", "DELETE"):  # no write path
            assert (await _fetch(f"{server.url}/console", method))[0] == 405
            assert (await _fetch(f"{server.url}/console/config.json", method))[0] == 405
    finally:
        await server.stop()


async def test_console_with_a_trailing_slash_redirects_to_the_page() -> None:
    """``/console/`` (a typed URL, a bookmark) is a 308 to ``/console``, query kept, with
    the console's headers; followed, it is the page."""
    server = HttpServer(
        "127.0.0.1", 0, exposition=lambda: b"", readiness=lambda: None, console_config=dict
    )
    await server.start()
    try:
        async with aiohttp.ClientSession() as s:
            url = f"{server.url}/console/?site=main&username=alice"
            async with s.get(url, allow_redirects=False) as r:
                assert r.status == 308
                assert r.headers["Location"] == "../console?site=main&username=alice"
                assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
            async with s.get(url) as r:
                assert (r.status, str(r.url)) == (
                    200,
                    f"{server.url}/console?site=main&username=alice",
                )
                assert await r.read() == console.read(console.PAGE)
            for method in ("POST", "PUT"):
                async with s.request(method, f"{server.url}/console/", allow_redirects=False) as r:
                    assert r.status == 405
    finally:
        await server.stop()


async def test_no_console_routes_without_a_console_config() -> None:
    server = HttpServer("127.0.0.1", 0, exposition=lambda: b"", readiness=lambda: None)
    await server.start()
    try:
        assert (await _fetch(f"{server.url}/console"))[0] == 404
    finally:
        await server.stop()
