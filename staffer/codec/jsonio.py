"""JSON in and out with the codec's guards: one loader, one dumper, one error type.

``load_json`` rejects, with a bounded reason code (`PayloadError.reason`): payloads over
``MAX_PAYLOAD_BYTES``, invalid UTF-8, ``NaN``/``Infinity`` literals and numbers that
overflow to infinity, lone surrogates (``"\\ud800"``) and nesting deeper than
``MAX_DEPTH`` — so every value that passes can be re-encoded (replies, the audit log).
``dumps`` writes compact UTF-8 JSON and never emits NaN or Infinity.

>>> load_json(b'{"a": [1, 2.5]}')
{'a': [1, 2.5]}
>>> load_json(b"NaN")
Traceback (most recent call last):
...
staffer.codec.jsonio.PayloadError: not_finite: non-finite number NaN
"""

from __future__ import annotations

import json
import math
from typing import Any

from staffer.core.types import RequestId

MAX_PAYLOAD_BYTES = 1 << 20  # hard guard; the MQTT adapter enforces the configured limit
MAX_DEPTH = 16


class PayloadError(ValueError):
    """An inbound payload is unusable. ``reason`` is a bounded code, ``detail`` free text.

    ``request_id`` is the best-effort ``id`` of a malformed override request, so
    the reply can still be correlated.
    """

    def __init__(self, reason: str, detail: str = "", request_id: RequestId = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.request_id = request_id


class _NonFinite(Exception):
    pass


def _reject_constant(name: str) -> float:
    raise _NonFinite(name)


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)  # = json.loads(..., parse_constant)


def _bad_text(text: str) -> bool:
    """True for strings that cannot be UTF-8 (lone surrogates from ``\\ud800`` escapes)."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_tree(obj: object, limit: int = MAX_DEPTH) -> str | None:
    """One iterative walk (no recursion): nesting depth, finite floats, encodable strings.

    Returns a reason code or None. ``json.loads`` turns ``1e400`` into ``inf`` and
    ``"\\ud800"`` into a lone surrogate; both would break re-encoding (replies,
    the audit log), so they are rejected here, once, cheaply.
    """
    stack: list[tuple[object, int]] = [(obj, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth >= limit:
                return "too_deep"
            for k, v in node.items():
                if _bad_text(k):
                    return "not_utf8"
                stack.append((v, depth + 1))
        elif isinstance(node, list):
            if depth >= limit:
                return "too_deep"
            stack.extend((v, depth + 1) for v in node)
        elif isinstance(node, float):
            if not math.isfinite(node):
                return "not_finite"
        elif isinstance(node, str) and _bad_text(node):
            return "not_utf8"
    return None


def _flat_and_plain(obj: dict[str, Any], text: str) -> bool:
    """True when ``_check_tree`` could only find a non-finite float: ASCII text without
    escapes (no lone surrogate is possible) and a dict of scalars (depth 0)."""
    if not text.isascii() or "\\" in text:
        return False
    for v in obj.values():
        t = type(v)
        if t is dict or t is list:
            return False
    return True


def _flat_problem(obj: dict[str, Any]) -> str | None:
    for v in obj.values():
        if type(v) is float and not math.isfinite(v):
            return "not_finite"
    return None


def load_json(data: bytes | bytearray | memoryview | str) -> Any:
    """Bytes -> JSON value with the codec's guards; raises PayloadError."""
    if isinstance(data, str):
        text = data
        if len(text) > MAX_PAYLOAD_BYTES:
            raise PayloadError("too_large", f"{len(text)} characters")
    elif isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if len(raw) > MAX_PAYLOAD_BYTES:
            raise PayloadError("too_large", f"{len(raw)} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise PayloadError("not_utf8", str(err)) from None
    else:
        raise PayloadError("bad_type", f"payload is {type(data).__name__}")
    try:
        if text.startswith("\ufeff"):  # what json.loads checks before decoding
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        value = _DECODER.decode(text)
    except _NonFinite as err:
        raise PayloadError("not_finite", f"non-finite number {err}") from None
    except RecursionError:
        raise PayloadError("too_deep", "nesting too deep") from None
    except ValueError as err:  # JSONDecodeError, oversized integers
        raise PayloadError("not_json", str(err)[:200]) from None
    if type(value) is dict and _flat_and_plain(value, text):
        problem = _flat_problem(value)
    else:
        problem = _check_tree(value)
    if problem is not None:
        raise PayloadError(problem, _TREE_DETAIL[problem])
    return value


_TREE_DETAIL = {
    "too_deep": f"nesting deeper than {MAX_DEPTH}",
    "not_finite": "a number overflows to infinity",
    "not_utf8": "a string escape encodes a lone surrogate",
}


def load_object(data: bytes | bytearray | memoryview | str) -> dict[str, Any]:
    """``load_json`` for payloads that must be a JSON object (``not_object`` otherwise)."""
    value = load_json(data)
    if not isinstance(value, dict):
        raise PayloadError("not_object", f"top level is {type(value).__name__}")
    return value


def dumps(obj: object) -> bytes:
    """Compact UTF-8 JSON; raises ValueError rather than emit NaN/Infinity.

    Text that UTF-8 cannot carry (lone surrogates) falls back to ASCII escapes, so
    an encoder never fails on a string that slipped past the decoders.
    """
    try:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
            "utf-8"
        )
    except UnicodeEncodeError:
        return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode("ascii")
