"""Limits of the daemon's HTTP server (``adapters.http``), so that idle or hostile clients
cannot take ``/healthz`` or the broker connection down:

* `CappedFactory` — at most ``MAX_CONNECTIONS`` open connections: one more closes the
  oldest connection that is not handling a request (an idle one; so a flood of idle
  connections cannot lock ``/healthz`` out), or, when all are busy, is closed itself at
  once; either way counted ``too_many_connections``;
* ``ACCEPT_BACKLOG`` — the listen backlog, which is also how many connections asyncio
  accepts in one go (before the cap can close any): it bounds the descriptors a flood
  holds at once to about ``MAX_CONNECTIONS + 2 * ACCEPT_BACKLOG``;
* ``IDLE_TIMEOUT_S`` — aiohttp's keep-alive timeout, which also closes a connection
  that never sends a request;
* `QuietServerLog` — aiohttp's server logger for the request handlers: a malformed
  request (an HTTP parse error) is counted ``malformed`` and logged as one rate-limited
  line without a traceback; anything else goes to aiohttp's logger as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from staffer.adapters.log import RateLimitedLog

MAX_CONNECTIONS = 64
IDLE_TIMEOUT_S = 10.0
ACCEPT_BACKLOG = 16  # asyncio accepts up to this many at once, before any is closed

Rejected = Callable[[str], None]  # counts a refused connection or request by reason
_aiohttp = logging.getLogger("aiohttp.server")
_quiet = RateLimitedLog(logging.getLogger("staffer.http"), period_s=10.0)


class _Refuse(asyncio.Protocol):
    """Closes the connection as soon as it is made."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


def _busy(handler: Any) -> bool:
    return bool(getattr(handler, "_request_in_progress", False))


class CappedFactory:
    """The protocol factory of the listening socket: aiohttp's server below the cap."""

    def __init__(self, server: web.Server, rejected: Rejected, cap: int = MAX_CONNECTIONS):
        self._server, self._rejected, self._cap = server, rejected, cap

    def __call__(self) -> asyncio.BaseProtocol:
        conns = self._server.connections  # oldest first
        if len(conns) < self._cap:
            return self._server()
        self._rejected("too_many_connections")
        _quiet.warning("cap", f"HTTP: {self._cap} connections open; closing the oldest idle one")
        # not one closed already in this accept batch: it leaves ``connections`` only at its
        # ``connection_lost``, a loop iteration later, and picking it again would let the
        # batch grow past the cap (seen: EMFILE under load with 256 descriptors)
        idle = next((h for h in conns if h.transport is not None and not _busy(h)), None)
        if idle is None:
            return _Refuse()
        idle.force_close()
        return self._server()


class QuietServerLog:
    """Passed to aiohttp as the request handlers' ``logger`` (see the module docstring)."""

    def __init__(self, rejected: Rejected) -> None:
        self._rejected = rejected

    def exception(self, msg: str, *args: Any, exc_info: Any = None, **kw: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            self._malformed(exc_info)
        else:
            _aiohttp.exception(msg, *args, exc_info=exc_info, **kw)

    def debug(self, msg: str, *args: Any, exc_info: Any = None, **kw: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            self._malformed(exc_info)
        else:
            _aiohttp.debug(msg, *args, exc_info=exc_info, **kw)

    def _malformed(self, err: HttpProcessingError) -> None:
        self._rejected("malformed")
        why = str(err.message or type(err).__name__).splitlines()[0][:120]
        _quiet.warning("malformed", f"HTTP: malformed request refused ({why})")

    def __getattr__(self, name: str) -> Any:  # warning, info, error, ...: aiohttp's own
        return getattr(_aiohttp, name)
