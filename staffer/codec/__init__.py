"""The wire codec: the only place that knows topic strings and JSON shapes (contract §2-§4).

``from staffer.codec import payloads`` for the decoders and encoders, `Topics` for
topic names, `format_ts`/`parse_ts` for RFC 3339.
"""

from __future__ import annotations

from staffer.codec import payloads
from staffer.codec.jsonio import PayloadError
from staffer.codec.timefmt import TimeFormatError, format_ts, parse_ts
from staffer.codec.topics import Route, TopicError, Topics

__all__ = [
    "PayloadError",
    "Route",
    "TimeFormatError",
    "TopicError",
    "Topics",
    "format_ts",
    "parse_ts",
    "payloads",
]
