"""``staffer bridge-check`` tested both ways on a real mosquitto: it passes the project's own
bridge (the simulated site, built on ``staffer.bridge``) and fails deliberately broken
ones, each on the check that names its flaw. The checker runs as the real CLI process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

import pytest

from staffer.bridge import Bridge
from staffer.sim.bridge import SimBridge
from staffer.sim.engine import Engine
from staffer.sim.scenario import load_scenario
from tests.conftest import Broker, free_port
from tests.integration.toy_bridges import Flaws, toy_bridge

pytestmark = pytest.mark.integration
CHECKS = [
    "snapshots_decode",
    "snapshot_cadence",
    "agent_states_decode",
    "move_acknowledged",
    "move_carried_out",
    "unskilled_move_refused",
    "malformed_command_survived",
]
FAST = ["--duration", "4", "--ack-timeout", "1.5"]


async def bridge_check(url: str, prefix: str, *extra: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "staffer", "bridge-check", "--url", url, "--site", "main",
        "--prefix", prefix, *FAST, *extra,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return int(proc.returncode or 0), out.decode(), err.decode()


def statuses(stdout: str) -> dict[str, str]:
    """check name -> PASS/FAIL/SKIP from the text output."""
    out = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("PASS", "FAIL", "SKIP"):
            out[parts[1]] = parts[0]
    return out


@contextlib.asynccontextmanager
async def running(coro: Coroutine[Any, Any, Any]) -> AsyncIterator[asyncio.Task[Any]]:
    task = asyncio.create_task(coro)
    await asyncio.sleep(0.5)  # publishing before the checker subscribes
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def _project_bridge(broker: Broker, prefix: str) -> None:
    sc = load_scenario("short")
    async with Bridge(broker.url, "main", prefix=prefix) as b:
        await SimBridge(Engine(sc, seed=3), b).run_realtime(speed=600)


async def test_the_project_bridge_passes_every_check(mosquitto: Broker, topic_prefix: str) -> None:
    async with running(_project_bridge(mosquitto, topic_prefix)) as sim:
        code, out, err = await bridge_check(mosquitto.url, topic_prefix)
        assert not sim.done(), "the simulated bridge survived the malformed command"
    assert code == 0, out + err
    assert statuses(out) == dict.fromkeys(CHECKS, "PASS")
    assert out.strip().endswith("result: all checks passed")
    assert "commanded skilled move" in err and "moved " in err  # progress, and the restore


async def test_the_example_bridge_passes_every_check(mosquitto: Broker, topic_prefix: str) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "acd_bridge.py"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(example), "--url", mosquitto.url, "--prefix", topic_prefix,
        "--period", "0.25",
    )  # fmt: skip
    try:
        await asyncio.sleep(1.0)
        code, out, err = await bridge_check(mosquitto.url, topic_prefix)
        assert proc.returncode is None, "the example bridge survived the malformed command"
    finally:
        proc.terminate()
        await proc.wait()
    assert code == 0, out + err
    assert statuses(out) == dict.fromkeys(CHECKS, "PASS")


@pytest.mark.parametrize(
    ("flaws", "failing"),
    [
        (Flaws(no_acks=True), {"move_acknowledged"}),
        (Flaws(never_switches=True), {"move_carried_out"}),
        (Flaws(obeys_unskilled=True), {"unskilled_move_refused"}),
        (Flaws(dies_on_malformed=True), {"malformed_command_survived", "snapshot_cadence"}),
        (
            Flaws(wrong_payloads=True),
            {"snapshots_decode", "snapshot_cadence", "agent_states_decode", "move_acknowledged"},
        ),
    ],
    ids=["no-acks", "never-switches", "obeys-unskilled", "dies-on-malformed", "wrong-payloads"],
)
async def test_a_broken_bridge_fails_on_its_flaw(
    mosquitto: Broker, topic_prefix: str, flaws: Flaws, failing: set[str]
) -> None:
    async with running(toy_bridge(mosquitto.host, mosquitto.port, topic_prefix, flaws)):
        code, out, err = await bridge_check(mosquitto.url, topic_prefix)
    got = statuses(out)
    assert set(got) == set(CHECKS), out + err
    assert {k for k, v in got.items() if v == "FAIL"} == failing, out
    assert code == 1
    assert "expected:" in out and "got:" in out and f"result: {len(failing)} of 7" in out


async def test_a_slow_bridge_that_dies_on_malformed_fails(
    mosquitto: Broker, topic_prefix: str
) -> None:
    """It keeps publishing while it handles the commands before the malformed one (1 s each,
    like an ACD API call), then dies: what it sent meanwhile is no proof of survival."""
    flaws = Flaws(dies_on_malformed=True, command_delay_s=1.0)
    async with running(toy_bridge(mosquitto.host, mosquitto.port, topic_prefix, flaws)):
        code, out, err = await bridge_check(mosquitto.url, topic_prefix, "--duration", "8")
    [line] = [x for x in out.splitlines() if "malformed_command_survived" in x]
    assert line.startswith("FAIL") and "s after the malformed command" in line, out + err
    assert statuses(out)["snapshot_cadence"] == "FAIL" and code == 1


async def test_the_failure_says_what_was_expected_and_where(
    mosquitto: Broker, topic_prefix: str
) -> None:
    async with running(toy_bridge(mosquitto.host, mosquitto.port, topic_prefix, Flaws(True))):
        code, out, _ = await bridge_check(mosquitto.url, topic_prefix, "--json")
    report = json.loads(out)
    assert code == report["exit_code"] == 1 and report["ok"] is False
    [ack] = [c for c in report["checks"] if c["name"] == "move_acknowledged"]
    assert ack["status"] == "FAIL" and ack["got"] == "nothing"
    assert ack["topic"] == f"{topic_prefix}/main/agents/a1/move"
    assert '"status": "accepted" | "rejected"' in ack["expected"]
    wrong = await _wrong_payload_report(mosquitto, topic_prefix + "w")
    assert wrong["got"].startswith("bad_type:offered")
    assert wrong["topic"] == f"{topic_prefix}w/main/metrics"


async def _wrong_payload_report(broker: Broker, prefix: str) -> dict[str, str]:
    async with running(toy_bridge(broker.host, broker.port, prefix, Flaws(wrong_payloads=True))):
        _, out, _ = await bridge_check(broker.url, prefix, "--json")
    return next(c for c in json.loads(out)["checks"] if c["name"] == "snapshots_decode")


async def test_no_traffic_exits_3(mosquitto: Broker, topic_prefix: str) -> None:
    code, out, _ = await bridge_check(mosquitto.url, topic_prefix, "--duration", "1")
    assert code == 3 and "no bridge traffic at all" in out


async def test_unreachable_broker_exits_3_with_the_reason() -> None:
    """At the first refused attempt, with why (not after a 10 s wait, reason unsaid)."""
    code, out, _ = await bridge_check(f"mqtt://127.0.0.1:{free_port()}", "x", "--json")
    summary = json.loads(out)["summary"]
    assert code == 3 and "cannot reach the broker" in summary
    assert "Connection refused" in summary


async def test_unreachable_broker_is_reported_once_in_plain_text() -> None:
    """The result line says why; the port's own warning does not repeat it on stderr."""
    code, out, err = await bridge_check(f"mqtt://127.0.0.1:{free_port()}", "x")
    assert code == 3 and "cannot reach the broker" in out and "Connection refused" in out
    assert "Connection refused" not in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--duration", "0"], "--duration"),
        (["--url", "http://h"], "--url"),
        (["--agent", "a/b"], "--agent"),
        (["--prefix", "a/#"], "--prefix: expected one or more topic levels"),
        (["--prefix", ""], "(got '')"),
        (["--prefix", "a//b"], "--prefix"),
        (["--duration", "inf"], "--duration: must be a number of seconds > 0"),
        (["--duration", "nan"], "--duration"),
        (["--ack-timeout", "inf"], "--ack-timeout"),
        (["--password-file", "/nonexist"], "--password-file: cannot read /nonexist"),
        (["--ca-file", "/nonexist"], "--ca-file: cannot read /nonexist"),
        (["--ca-file", __file__], "--ca-file: needs an mqtts:// --url (got mqtt://)"),
    ],
)
async def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    code, out, err = await bridge_check("mqtt://127.0.0.1:1", "p", *args)
    assert code == 2 and message in err and "Traceback" not in err
    assert err.count("\n") == 1 and out == ""
