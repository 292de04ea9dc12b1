"""StoreHealth: one error line when writes start failing, at most one per period while
they fail, a recovery line, and the gauge callback on each change."""

from __future__ import annotations

import logging
import sqlite3

import pytest

from staffer.adapters.state_file import transaction
from staffer.adapters.store_health import StoreHealth


def test_one_error_line_then_rate_limited_then_recovery(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    gauge: list[bool] = []
    health = StoreHealth(gauge.append, period_s=60.0, clock=lambda: now[0])
    assert health.ok and health.reason() is None and gauge == [True]
    with caplog.at_level(logging.WARNING, logger="staffer.store"):
        for _ in range(100):
            health.failed(OSError("database or disk is full"))
        assert [r.levelname for r in caplog.records] == ["ERROR"]
        assert not health.ok and health.reason() and gauge == [True, False]
        now[0] = 61.0
        health.failed(OSError("still full"))
        assert "100 more failed" in caplog.records[-1].getMessage()
        health.succeeded()
        health.succeeded()
    assert health.ok and gauge == [True, False, True]
    assert [r.levelname for r in caplog.records] == ["ERROR", "ERROR", "WARNING"]
    assert "recovered" in caplog.records[-1].getMessage()


def test_a_failed_commit_leaves_no_open_transaction(tmp_path) -> None:
    """``transaction`` rolls back when COMMIT itself fails, so the next write can work
    (a deferred foreign-key violation fails at COMMIT, as a full disk does)."""
    conn = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    conn.executescript(
        "PRAGMA foreign_keys=ON; CREATE TABLE p (id INTEGER PRIMARY KEY);"
        "CREATE TABLE c (p INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED);"
    )
    with pytest.raises(sqlite3.Error), transaction(conn):
        conn.execute("INSERT INTO c VALUES (42)")
    assert not conn.in_transaction
    with transaction(conn):
        conn.execute("INSERT INTO p VALUES (1)")
    assert conn.execute("SELECT COUNT(*) FROM p").fetchone() == (1,)
