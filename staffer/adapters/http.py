"""HTTP endpoint on ``[http] host:port``: ``/metrics``, ``/healthz``, ``/readyz``.

One aiohttp server inside the daemon's event loop. The server knows nothing about
MQTT or Prometheus: it is given a function producing the exposition text and a
readiness probe returning None when ready or a short reason when not.

* ``/metrics`` — Prometheus text format (0.0.4), rendered from the Metrics registry.
* ``/healthz`` — 200 ``ok`` while the process (and its event loop) is alive.
* ``/readyz``  — 200 ``ready`` only while connected to the broker with config loaded,
  else 503 with the reason as the body (e.g. ``not connected to the MQTT broker``).

``port = 0`` binds an ephemeral port; ``HttpServer.port`` is the bound one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiohttp import web

log = logging.getLogger("staffer.http")

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Exposition = Callable[[], bytes]
Readiness = Callable[[], "str | None"]


class HttpServer:
    """The daemon's HTTP endpoint; ``start()``/``stop()`` inside a running loop."""

    def __init__(
        self, host: str, port: int, *, exposition: Exposition, readiness: Readiness
    ) -> None:
        self._host = host
        self._port = port
        self._exposition = exposition
        self._readiness = readiness
        self._runner: web.AppRunner | None = None
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
        return app

    async def start(self) -> None:
        """Bind and serve; raises OSError when the port is taken."""
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port, reuse_address=True)
        await site.start()
        addresses = self._runner.addresses  # public: the bound (host, port, ...) per socket
        self._bound = int(addresses[0][1]) if addresses else self._port
        log.info("HTTP listening on %s", self.url)

    async def stop(self) -> None:
        """Stop serving (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await asyncio.wait_for(runner.cleanup(), 5.0)

    async def _metrics(self, _request: web.Request) -> web.Response:
        body = self._exposition()
        return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, _request: web.Request) -> web.Response:
        reason = self._readiness()
        if reason is None:
            return web.Response(text="ready\n")
        return web.Response(status=503, text=f"not ready: {reason}\n")
