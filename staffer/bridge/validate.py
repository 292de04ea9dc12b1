"""What ``staffer.bridge`` checks before it publishes: the daemon's own codec, run first.

Every outbound payload is built here, encoded to bytes and decoded again with the decoder
the daemon uses for that topic. Anything the daemon would count as invalid raises
:class:`BridgePayloadError` with the daemon's reason code, before anything is sent. Two
checks the daemon makes outside the decoders are made here too: a ``ts`` too far ahead
of this host's clock (``future_ts``, contract §16) and a payload above the daemon's
default ``max_payload_bytes`` (``too_large``).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from staffer.codec import payloads
from staffer.codec.bridge_payloads import QUEUE_FIELDS, queue_body_json
from staffer.codec.timefmt import FUTURE_TS, format_ts, future_ts_detail
from staffer.codec.topics import TopicError, Topics
from staffer.core.types import QueueSnapshot
from staffer.settings import MqttSettings

Timestamp = float | datetime | None  # POSIX seconds, an aware datetime, or None for now
QueueBody = Mapping[str, Any] | QueueSnapshot


class BridgeError(RuntimeError):
    """Base class of the errors ``staffer.bridge`` raises."""


class BridgeConnectionError(BridgeError):
    """The broker could not be reached within ``connect_timeout_s``."""


class BridgePayloadError(BridgeError, ValueError):
    """A payload the daemon would reject; nothing was published.

    ``reason`` is the daemon's code (``missing_field:offered``, ``bad_ts``, ...), the same
    it would count in ``staffer_invalid_messages_total``.
    """

    def __init__(self, topic: str, reason: str, detail: str = "") -> None:
        super().__init__(f"not published to {topic}: {reason}" + (f" ({detail})" if detail else ""))
        self.topic = topic
        self.reason = reason
        self.detail = detail


class Validator:
    """Topics, timestamps and payloads for one site, checked as the daemon would."""

    def __init__(
        self, topics: Topics, site: str, max_clock_skew_s: float, max_payload_bytes: int
    ) -> None:
        self.topics = topics
        self.site = site
        self.max_skew_s = max_clock_skew_s
        self.max_bytes = max_payload_bytes

    def topic(self, build: Callable[..., str], *segments: str) -> str:
        """``build(site, *segments)``; a bad segment is ``bad_topic``."""
        try:
            return build(self.site, *segments)
        except TopicError as err:
            where = f"{self.topics.prefix}/{self.site}/..."
            raise BridgePayloadError(where, "bad_topic", str(err)) from None

    def ts(self, topic: str, ts: Timestamp, future_ok: bool = False) -> str:
        """RFC 3339 of ``ts`` (now when None); refuses naive, non-finite and future times."""
        posix = posix_time(ts)
        if not math.isfinite(posix):
            raise BridgePayloadError(topic, "bad_ts", f"not a finite, zoned time: {ts!r}")
        try:
            text = format_ts(posix)
        except ValueError as err:
            raise BridgePayloadError(topic, "bad_ts", str(err)) from None
        ahead = None if future_ok else future_ts_detail(posix, time.time(), self.max_skew_s)
        if ahead is not None:
            raise BridgePayloadError(topic, FUTURE_TS, ahead)
        return text

    def queue_bodies(self, topic: str, queues: object) -> dict[str, dict[str, Any]]:
        """A site snapshot's ``{queue: body}``; a non-mapping is ``bad_type:queues``."""
        if not isinstance(queues, Mapping):
            detail = f"a mapping of queue id to fields, not {type(queues).__name__}"
            raise BridgePayloadError(topic, "bad_type:queues", detail)
        for queue in queues:
            if not isinstance(queue, str):
                detail = f"a queue id is a str, not {type(queue).__name__}: {queue!r}"
                raise BridgePayloadError(topic, "bad_queue_id", detail)
        return {q: self.queue_body(topic, q, body) for q, body in queues.items()}

    def queue_body(self, topic: str, queue: str, body: QueueBody) -> dict[str, Any]:
        """One queue of a site snapshot; unknown field names are refused (typos)."""
        if isinstance(body, QueueSnapshot):
            return queue_body_json(body)
        if not isinstance(body, Mapping):
            detail = f"queue {queue!r}: a mapping of §3.1 fields or a QueueSnapshot, not "
            raise BridgePayloadError(topic, "bad_type:queue", detail + type(body).__name__)
        if not all(isinstance(k, str) for k in body):
            raise BridgePayloadError(topic, "bad_type:queue", f"queue {queue!r}: a non-str key")
        unknown = sorted(set(body) - QUEUE_FIELDS)
        if unknown:
            raise BridgePayloadError(topic, "unknown_field", f"queue {queue!r}: {unknown[0]!r}")
        return present(body)

    def encode(self, topic: str, obj: dict[str, Any]) -> bytes:
        """Compact JSON, as the daemon writes it; non-finite numbers and odd types refused."""
        try:
            data = payloads.dumps(obj)
        except ValueError as err:
            raise BridgePayloadError(topic, "not_finite", str(err)) from None
        except TypeError as err:
            raise BridgePayloadError(topic, "bad_type", str(err)) from None
        if len(data) > self.max_bytes:
            raise BridgePayloadError(topic, "too_large", f"{len(data)} > {self.max_bytes} bytes")
        return data

    @staticmethod
    def check(topic: str, decode: Callable[[bytes], object], data: bytes) -> None:
        """Decode with the daemon's decoder: what it rejects is never published."""
        try:
            decode(data)
        except payloads.PayloadError as err:
            raise BridgePayloadError(topic, err.reason, err.detail) from None


def skill_list(topic: str, skills: object) -> list[str]:
    """``skills`` sorted; anything but an iterable of str is ``bad_type:skills``."""
    if isinstance(skills, str) or not isinstance(skills, Iterable):
        detail = f"a list of queue ids, not {type(skills).__name__}"
        raise BridgePayloadError(topic, "bad_type:skills", detail)
    out = list(skills)
    odd = next((s for s in out if not isinstance(s, str)), None)
    if odd is not None:
        raise BridgePayloadError(topic, "bad_type:skills", f"a queue id is a str, not {odd!r}")
    return sorted(out)


_CREDENTIALS = re.compile(r"(://[^/@:]*:)[^/@]*@")


def settings_error(err: ValidationError) -> str:
    """One line for a bad ``Bridge(...)`` argument: its name, why, and the value given
    (a password in a URL masked)."""
    first = err.errors()[0]
    name = ".".join(str(p) for p in first["loc"]) or "argument"
    why = first["msg"].removeprefix("Value error, ")
    value = first.get("input")
    shown = _CREDENTIALS.sub(r"\1***@", value) if isinstance(value, str) else value
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{name}: {why} (got {shown!r}){more}"


def unreadable_file(settings: MqttSettings) -> str | None:
    """Why a password or TLS file given cannot be read (None when all can): retrying
    would not help, so ``Bridge`` says so at once."""
    files = {"password_file": settings.password_file}
    if settings.broker.tls:
        files |= {k: getattr(settings, k) for k in ("ca_file", "cert_file", "key_file")}
    for name, path in files.items():
        if path is None:
            continue
        try:
            with open(path, "rb"):
                pass
        except OSError as err:
            return f"cannot read {name} {path}: {err.strerror or err}"
    return None


def posix_time(ts: Timestamp) -> float:
    """POSIX seconds of ``ts``; NaN for a naive datetime or a non-number (then refused)."""
    if ts is None:
        return time.time()
    if isinstance(ts, datetime):
        return ts.timestamp() if ts.tzinfo is not None else math.nan
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        return math.nan
    return float(ts)


def present(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields that are set (optional §3.1 fields are left out, not sent as null)."""
    return {k: v for k, v in fields.items() if v is not None}
