"""HTTP endpoint on ``[http] host:port``: ``/metrics``, ``/healthz``, ``/readyz``, ``/status``,
``/console``.

One aiohttp server inside the daemon's event loop. The server knows nothing about
MQTT or Prometheus: it is given a function producing the exposition text and a
readiness probe returning None when ready or a short reason when not.

* ``/metrics`` — Prometheus text format (0.0.4), rendered from the Metrics registry.
* ``/healthz`` — 200 ``ok`` while the process (and its event loop) is alive.
* ``/readyz``  — 200 ``ready`` only while connected to the broker with config loaded,
  else 503 with the reason as the body (e.g. ``not connected to the MQTT broker``).
* ``/status``  — one JSON object for an operator (contract §16, built by ``staffer.status``):
  connection, and per site mode, last plan, data freshness, proposals, moves in flight.
* ``/console`` — the supervisor console (contract §13): a static page, its files below
  ``/console/`` (a fixed list, ``staffer.console.ASSETS``) and ``/console/config.json``
  (read-only start settings: default broker WebSocket URL, topic prefix, sites);
  ``/console/`` redirects (308) to ``/console``, keeping the query string. The page
  talks to the broker itself, so this server gains no write path and no authentication.
  Responses carry a strict Content-Security-Policy (scripts and styles from here only,
  WebSocket connections anywhere, no framing).

Every route is GET (and HEAD); anything else is 405.

``port = 0`` binds an ephemeral port; ``HttpServer.port`` is the bound one.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from staffer import console
from staffer.adapters.http_guard import (
    ACCEPT_BACKLOG,
    IDLE_TIMEOUT_S,
    CappedFactory,
    QuietServerLog,
    Rejected,
)

log = logging.getLogger("staffer.http")

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Exposition = Callable[[], bytes]
Readiness = Callable[[], "str | None"]
ConsoleConfig = Callable[[], Mapping[str, Any]]
Status = Callable[[], Mapping[str, Any]]

# The console page may connect to any broker URL its user types in (ws:/wss:), and to
# nothing else; MQTT.js runs its timers in a Worker built from a blob: URL.
CONSOLE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self' ws: wss:; worker-src blob:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class HttpServer:
    """The daemon's HTTP endpoint; ``start()``/``stop()`` inside a running loop."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        exposition: Exposition,
        readiness: Readiness,
        console_config: ConsoleConfig | None = None,
        status: Status | None = None,
        rejected: Rejected = lambda _reason: None,
    ) -> None:
        self._host = host
        self._port = port
        self._exposition = exposition
        self._readiness = readiness
        self._console_config = console_config  # None: no console routes
        self._status = status  # None: no /status
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._rejected = rejected
        self._bound: int | None = None

    @property
    def port(self) -> int:
        """The bound TCP port (after ``start()``)."""
        if self._bound is None:
            raise RuntimeError("HTTP server not started")
        return self._bound

    @property
    def url(self) -> str:
        host = self._host if ":" not in self._host else f"[{self._host}]"
        return f"http://{host}:{self.port}"

    def app(self) -> web.Application:
        """The aiohttp application (also handy for aiohttp's test client)."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        if self._status is not None:
            app.router.add_get("/status", self._status_json)
        if self._console_config is not None:
            self._add_console(app.router)
        return app

    def _add_console(self, router: web.UrlDispatcher) -> None:
        router.add_get("/console", _static(console.read(console.PAGE), "text/html; charset=utf-8"))
        router.add_get("/console/", _to_console)
        for name, ctype in console.ASSETS.items():
            router.add_get(f"/console/{name}", _static(console.read(name), ctype))
        router.add_get("/console/config.json", self._console_json)

    async def _console_json(self, _request: web.Request) -> web.Response:
        assert self._console_config is not None
        body = json.dumps(dict(self._console_config())).encode()
        return _console_response(body, "application/json; charset=utf-8")

    async def start(self) -> None:
        """Bind and serve; raises OSError when the port is taken."""
        self._runner = web.AppRunner(
            self.app(),
            access_log=None,
            handle_signals=False,
            keepalive_timeout=IDLE_TIMEOUT_S,  # also for a connection that never asks
            logger=QuietServerLog(self._rejected),
        )
        await self._runner.setup()
        assert self._runner.server is not None
        factory = CappedFactory(self._runner.server, self._rejected)
        self._listener = await asyncio.get_running_loop().create_server(
            factory, self._host, self._port, reuse_address=True, backlog=ACCEPT_BACKLOG
        )
        self._bound = int(self._listener.sockets[0].getsockname()[1])
        log.info("HTTP listening on %s", self.url)

    async def stop(self) -> None:
        """Stop serving (idempotent)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        runner, self._runner = self._runner, None
        if runner is not None:
            await asyncio.wait_for(runner.cleanup(), 5.0)

    async def _metrics(self, _request: web.Request) -> web.Response:
        body = self._exposition()
        return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})

    async def _status_json(self, _request: web.Request) -> web.Response:
        assert self._status is not None
        body = json.dumps(dict(self._status()), ensure_ascii=False, allow_nan=False)
        return web.Response(
            text=body + "\n",
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, _request: web.Request) -> web.Response:
        reason = self._readiness()
        if reason is None:
            return web.Response(text="ready\n")
        return web.Response(status=503, text=f"not ready: {reason}\n")


def _console_response(body: bytes, content_type: str) -> web.Response:
    return web.Response(body=body, headers={**CONSOLE_HEADERS, "Content-Type": content_type})


async def _to_console(request: web.Request) -> web.Response:
    """``/console/`` -> ``/console`` (308), relative so a path prefix of a proxy stays; the
    page's own relative links (``console/...``) only work from ``/console``."""
    query = f"?{request.query_string}" if request.query_string else ""
    headers = {**CONSOLE_HEADERS, "Location": f"../console{query}"}
    return web.Response(status=308, headers=headers)


def _static(body: bytes, content_type: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A handler serving one fixed file (read once, when the routes are built)."""

    async def handler(_request: web.Request) -> web.Response:
        return _console_response(body, content_type)

    return handler
