"""Logging: text or JSON lines, with site/queue context, and a rate-limited reporter.

Context fields travel through ``extra``::

    log.info("plan published", extra={"site": "main", "queue": "phone"})

Secrets are never passed to the logger (the MQTT adapter logs the broker URL
without credentials and never the password).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

CONTEXT_FIELDS: tuple[str, ...] = (
    "site",
    "queue",
    "agent",
    "supervisor",
    "topic",
    "reason",
    "event",  # the operator's lines (``staffer.adapters.oplog``)
    "command_id",
)
JSON_ONLY_FIELDS: tuple[str, ...] = ("moves",)  # structured; the text line says it in words


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, context fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in CONTEXT_FIELDS + JSON_ONLY_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``2026-11-22T10:15:00.123Z INFO staffer.app: msg site=main queue=phone``."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        line = (
            f"{ts.replace('+00:00', 'Z')} {record.levelname} {record.name}: {record.getMessage()}"
        )
        ctx = [
            f"{k}={getattr(record, k)}"
            for k in CONTEXT_FIELDS
            if getattr(record, k, None) is not None
        ]
        if ctx:
            line += " " + " ".join(ctx)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


HANDLER_NAME = "staffer"  # marks our handler, so setup_logging can replace it


def setup_logging(level: str = "INFO", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Configure the root logger once (idempotent: replaces our previous handler)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if h.get_name() == HANDLER_NAME:
            root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.set_name(HANDLER_NAME)
    root.addHandler(handler)
    root.setLevel(level)
    # libraries are chatty at DEBUG; keep them at WARNING unless we debug ourselves
    for name in ("apscheduler", "aiohttp.access", "mqtt"):
        logging.getLogger(name).setLevel(logging.WARNING if level != "DEBUG" else logging.DEBUG)


class RateLimitedLog:
    """Log each reason the first time, then at most once per ``period_s`` with a count.

    Invalid inbound messages are counted in metrics; this keeps the log readable
    under a flood of bad input (bounded: at most one line per reason per period, and
    at most ``max_reasons`` distinct reasons are tracked).
    """

    def __init__(
        self,
        logger: logging.Logger,
        period_s: float = 60.0,
        max_reasons: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self._period = period_s
        self._max = max_reasons
        self._clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, reason: str, msg: str, **context: Any) -> bool:
        """Maybe log ``msg`` for ``reason``; True when a line was written."""
        now = self._clock()
        last = self._last.get(reason)
        if last is not None and now - last < self._period:
            self._suppressed[reason] = self._suppressed.get(reason, 0) + 1
            return False
        if last is None and len(self._last) >= self._max:
            reason = "(other reasons)"
            if reason in self._last and now - self._last[reason] < self._period:
                self._suppressed[reason] = self._suppressed.get(reason, 0) + 1
                return False
        skipped = self._suppressed.pop(reason, 0)
        self._last[reason] = now
        suffix = f" ({skipped} similar suppressed)" if skipped else ""
        self._log.warning("%s%s", msg, suffix, extra={"reason": reason, **context})
        return True
