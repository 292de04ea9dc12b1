"""Logging: JSON lines with context fields, and the once-per-reason rate limiter."""

from __future__ import annotations

import io
import json
import logging

from staffer.adapters.log import RateLimitedLog, setup_logging


def test_json_lines_carry_context_fields() -> None:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        _check_formats()
    finally:
        for h in list(root.handlers):
            if h not in handlers:
                root.removeHandler(h)
        root.setLevel(level)


def _check_formats() -> None:
    out = io.StringIO()
    setup_logging("INFO", "json", stream=out)
    logging.getLogger("staffer.test").info(
        "plan %s", "published", extra={"site": "main", "queue": "phone"}
    )
    record = json.loads(out.getvalue().splitlines()[-1])
    assert record["msg"] == "plan published"
    assert (record["site"], record["queue"], record["level"]) == ("main", "phone", "info")
    assert record["ts"].endswith("Z")
    setup_logging("INFO", "text", stream=out)
    logging.getLogger("staffer.test").warning("hello", extra={"site": "main"})
    assert out.getvalue().splitlines()[-1].endswith("WARNING staffer.test: hello site=main")


def test_rate_limited_once_per_reason_per_period(caplog: object) -> None:
    now = [0.0]
    limiter = RateLimitedLog(
        logging.getLogger("staffer.test.rl"), period_s=60, max_reasons=2, clock=lambda: now[0]
    )
    assert limiter.warning("not_json", "bad")
    assert not limiter.warning("not_json", "bad")  # same reason within the period
    assert limiter.warning("bad_ts", "bad")  # another reason logs at once
    now[0] = 61.0
    assert limiter.warning("not_json", "bad")  # the period passed
    assert limiter.warning("third", "bad")  # over max_reasons: pooled
    assert not limiter.warning("fourth", "bad")  # ...and rate-limited together
