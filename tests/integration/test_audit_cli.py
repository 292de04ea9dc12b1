"""`staffer audit` against the state file of a real daemon, while it runs and after, in all
three formats; and reading while the store commits audit rows as fast as it can."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
import threading
from pathlib import Path

from staffer.adapters.store import StateStore
from staffer.core.types import AuditRecord
from tests.conftest import Broker
from tests.integration.cli_runner import staffer
from tests.integration.harness import make_settings, peer, running_daemon, staff_surge_site


async def test_audit_of_a_running_daemon_in_three_formats(
    mosquitto: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = make_settings(mosquitto.url, topic_prefix, tmp_path)
    state = str(settings.state.path)
    conn = ("--url", mosquitto.url, "--topic-prefix", topic_prefix, "--as", "alice")

    async def audit(*argv: str) -> str:
        done = await staffer("audit", "--state", state, *argv, cwd=tmp_path)
        assert done.rc == 0 and done.err == "", done
        return done.out

    async with running_daemon(settings), peer(mosquitto.host, mosquitto.port, topic_prefix) as p:
        await staff_surge_site(p)
        for argv in (
            ("pin", "phone", "--min", "6", "--ttl", "15m", "--reason", "mail-out"),
            ("pin", "fax", "--max", "1"),
            ("assign", "e02", "phone", "--reason", "VIP caller"),
        ):
            await staffer("ctl", *argv, *conn, cwd=tmp_path)
        running = json.loads(await audit("--format", "json"))  # the daemon is still up
    assert [(e["supervisor"], e["action"], e["outcome"]) for e in running["entries"]] == [
        ("alice", "pin", "accepted"),
        ("alice", "pin", "rejected (unknown_queue)"),
        ("alice", "assign", "accepted"),
        ("alice", "move", "assigned"),  # the commanded move itself (contract §16)
    ]
    pin = running["entries"][0]
    assert pin["data"]["fields"] == {"queue": "phone", "min": 6} and pin["data"]["ttl_s"] == 900
    assert "reason mail-out" in pin["details"] and "until " in pin["details"]

    after = json.loads(await audit("--format", "json"))
    assert after["entries"] == running["entries"]
    rows = list(csv.reader(io.StringIO(await audit("--format", "csv", "--supervisor", "alice"))))
    assert [r[3:5] for r in rows[1:]] == [
        ["pin", "accepted"],
        ["pin", "rejected (unknown_queue)"],
        ["assign", "accepted"],
        ["move", "assigned"],
    ]
    table = (await audit("--site", "main")).splitlines()
    assert table[0].split() == ["time", "site", "supervisor", "action", "outcome", "details"]
    assert table[3].split()[2:5] == ["alice", "assign", "accepted"]
    assert "agent=e02" in table[3] and "queue=phone" in table[3] and "VIP caller" in table[3]
    assert "e02 email -> phone: assigned by alice: VIP caller (command main-" in table[4]
    assert (await audit("--site", "elsewhere")).splitlines()[-1] == "(no entries)"


async def test_reading_while_the_store_writes(tmp_path: Path) -> None:
    """Readers never block the writer, never fail, and see a growing log."""
    path = tmp_path / "state.db"
    store = StateStore.open(path)
    stop = threading.Event()
    written: list[int] = []
    errors: list[BaseException] = []

    def writer() -> None:
        n = 0
        try:
            while not stop.is_set():
                n += 1
                store.append_audit_sync(
                    [AuditRecord(1_800_000_000.0 + n, "main", "override", "w", {"n": n})]
                )
                written.append(n)
        except BaseException as err:  # surfaced below
            errors.append(err)

    thread = threading.Thread(target=writer)
    thread.start()
    batches: list[list[int]] = []
    try:
        while len(written) < 20:
            await asyncio.sleep(0.05)
        for _ in range(5):
            reads = await asyncio.gather(
                *(
                    staffer("audit", "--state", str(path), "--format", "json", cwd=tmp_path)
                    for _ in range(2)
                )
            )
            counts = []
            for done in reads:
                assert done.rc == 0, done
                body = json.loads(done.out)
                ns = [e["data"]["n"] for e in body["entries"]]
                assert ns == list(range(1, len(ns) + 1))  # every committed row, in order
                counts.append(body["count"])
            batches.append(counts)
    finally:
        stop.set()
        thread.join(30)
        store.close()
    assert not errors, errors
    # a read that starts after another finished sees at least as much; the writer went on
    for earlier, later in itertools.pairwise(batches):
        assert min(later) >= max(earlier)
    assert min(batches[0]) >= 20 and len(written) >= max(batches[-1])
