"""The supervisor console (contract §13) in a real headless Chromium, against a real
mosquitto with a WebSocket listener and the real daemon (in-process, its HTTP server
serving the page). The page connects to the broker itself, as the username in its URL.

The proposal test plays the daemon for ``proposals`` and for the approve reply, because
approve mode (contract §9) is not in the daemon yet; see its docstring.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from staffer.settings import ConsoleSettings
from tests.integration.browser import WALLBOARD, Page, WsBroker, chromium_page
from tests.integration.harness import (
    Peer,
    agent,
    iso,
    make_settings,
    peer,
    queue_body,
    running_daemon,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "img" / "console.png"
ME = "alice"


@contextlib.asynccontextmanager
async def console(
    tmp_path: Path, broker: WsBroker, prefix: str, *, daemon: bool = True
) -> AsyncIterator[tuple[Page, Peer]]:
    """The real daemon serving site ``main`` (auto mode, wall clock), a test peer
    subscribed to everything, and the console page open as ``alice``, connected."""
    settings = make_settings(broker.url, prefix, tmp_path, planner={"clock": "wall"})
    settings = settings.model_copy(update={"console": ConsoleSettings(mqtt_ws_url=broker.ws_url)})
    async with contextlib.AsyncExitStack() as stack:
        base = "http://127.0.0.1:1"  # unused without a daemon
        if daemon:
            d = await stack.enter_async_context(running_daemon(settings))
            base = d.http.url if d.http else base
        p = await stack.enter_async_context(peer(broker.host, broker.port, prefix))
        page = await stack.enter_async_context(chromium_page(tmp_path / "profile"))
        if daemon:
            await page.page.goto(f"{base}/console?site=main&username={ME}")
        yield page, p


async def open_live(page: Page, url: str) -> None:
    await page.page.goto(url)
    await page.page.wait_for_selector('#conn[data-state="live"]')


async def live(page: Page) -> None:
    await page.page.wait_for_selector('#conn[data-state="live"]')


async def text(page: Page, selector: str) -> str:
    return (await page.page.inner_text(selector)).strip()


async def wait_text(page: Page, selector: str, expected: str) -> None:
    """Wait until the element's text contains ``expected``."""
    await page.page.wait_for_function(
        "([sel, want]) => { const n = document.querySelector(sel);"
        " return n !== null && n.textContent.includes(want); }",
        arg=[selector, expected],
    )


def pct(x: float | None) -> str:
    return "—" if x is None else f"{round(x * 100)}%"


async def afternoon(p: Peer) -> dict[str, Any]:
    """A busy afternoon on site main, then a replan: the daemon plans at once (wall clock).

    30 agents (phone 12, chat 8, email 10, each also skilled for one other queue) and an
    hour of site snapshots up to now: phone above its staffing, chat a little, email quiet.
    """
    skills = {"phone": ["phone", "chat"], "chat": ["chat", "phone"], "email": ["email", "phone"]}
    for queue, n in (("phone", 12), ("chat", 8), ("email", 10)):
        for i in range(n):
            status = "available" if i % 3 == 0 else "busy"
            await p.publish(f"main/agents/{queue[0]}{i:02d}/state", agent(status, queue, skills[queue]))
    now = time.time()
    for k in range(12):
        await p.publish(
            "main/metrics",
            {
                "ts": iso(now - 300 * (11 - k)),
                "queues": {
                    "phone": queue_body(13, 3, answered=12, within=7),
                    "chat": queue_body(10, 1, aht_s=480, answered=10, within=8),
                    "email": queue_body(3, 0, aht_s=360, backlog=40, oldest_age_s=3000),
                },
            },
        )
    await p.publish("main/override/ops", {"id": "go", "action": "replan"})
    [plan] = await p.wait_for("main/plan")
    return plan


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


async def test_console_shows_the_plan_and_a_pin_round_trips(tmp_path: Path, topic_prefix: str):
    """Queues with the daemon's numbers, a pin through the form acknowledged on the page,
    the override listed and cancelled, an error reply in words; then the screenshot."""
    broker = WsBroker(tmp_path / "broker")
    with broker.running():
        async with console(tmp_path, broker, topic_prefix) as (page, p):
            pg = page.page
            await live(page)
            assert await pg.input_value("#login-form [name=ws]") == broker.ws_url  # config.json
            plan = await afternoon(p)

            for qid, q in plan["queues"].items():
                row = f'tr[data-queue="{qid}"]'
                await wait_text(page, f'{row} td[data-field="assigned"]', str(q["assigned"]))
                assert await text(page, f'{row} td[data-field="target"] .big') == str(q["target"])
                assert await text(page, f'{row} td[data-field="required"]') == str(q["required"])
                assert await text(page, f'{row} td[data-field="waiting"]') == str(q["waiting"])
                predicted = pct(q["predicted_service_level"])
                assert await text(page, f'{row} td[data-field="predicted"]') == predicted
                observed = pct(q["observed_service_level"])
                assert await text(page, f'{row} td[data-field="observed"]') == observed
            assert plan["queues"]["phone"]["observed_service_level"] == 7 / 12
            assert await pg.get_attribute('tr[data-queue="phone"] [data-field="observed"] .sl', "data-level") == "bad"
            assert await text(page, "#mode") == "MODE AUTO"
            [command] = await p.wait_for("main/commands")  # agents move to phone and chat
            await wait_text(page, "#moves", command["moves"][0]["reason"])

            # pin through the form: the request goes out under alice's name, the reply shows
            await pg.select_option("#f-pin [name=queue]", "phone")
            await pg.fill("#f-pin [name=min]", "6")
            await pg.fill("#reason", "marketing mail-out")
            await pg.click('#f-pin button[data-action="pin"]')
            [request] = await p.wait_for(f"main/override/{ME}", lambda r: r["action"] == "pin")
            assert request["queue"] == "phone" and request["min"] == 6 and "max" not in request
            [reply] = await p.wait_for(f"main/override/{ME}/reply", lambda r: r["id"] == request["id"])
            assert reply["ok"] is True
            done = f'#replies li[data-request-id="{request["id"]}"]'
            await pg.wait_for_selector(f'{done}[data-outcome="ok"]')
            assert "pin phone ≥ 6" in await text(page, done)
            assert reply["override_id"][:8] in await text(page, done)

            # the override is listed (retained overrides topic) and Cancel removes it
            item = f'#overrides li[data-override-id="{reply["override_id"]}"]'
            await wait_text(page, item, "pin phone ≥ 6")
            assert "by alice" in await text(page, item)
            await pg.click(f'{item} button[data-action="cancel"]')
            await pg.wait_for_selector(item, state="detached")
            [cancel] = await p.wait_for(f"main/override/{ME}", lambda r: r["action"] == "cancel")
            assert cancel["override_id"] == reply["override_id"]
            await pg.wait_for_selector(f'#replies li[data-request-id="{cancel["id"]}"][data-outcome="ok"]')

            # an error reply is shown with its code in words
            await pg.fill("#f-agent [name=agent]", "ghost")
            await pg.select_option("#f-agent [name=queue]", "phone")
            await pg.click('#f-agent button[data-action="assign"]')
            [bad] = await p.wait_for(f"main/override/{ME}", lambda r: r["action"] == "assign")
            failed = f'#replies li[data-request-id="{bad["id"]}"][data-outcome="error"]'
            await pg.wait_for_selector(failed)
            assert "unknown_agent: the daemon has never seen that agent" in await text(page, failed)

            await wallboard_screenshot(page, p)
            assert page.errors == []


async def wallboard_screenshot(page: Page, p: Peer) -> None:
    """A supervisor's afternoon: a pin and a lock active, then docs/img/console.png."""
    pg = page.page
    await pg.select_option("#f-pin [name=queue]", "email")
    await pg.fill("#f-pin [name=min]", "3")
    await pg.fill("#f-pin [name=max]", "")
    await pg.fill("#reason", "backlog promised by 17:00")
    await pg.click('#f-pin button[data-action="pin"]')
    await pg.fill("#f-agent [name=agent]", "c02")
    await pg.fill("#reason", "coaching session")
    await pg.click('#f-agent button[data-action="lock_agent"]')
    await pg.wait_for_function("() => document.querySelectorAll('#overrides li').length === 2")
    await pg.fill("#reason", "")
    await pg.click('#f-mode button[data-action="replan"]')
    await pg.wait_for_function(
        "() => !document.querySelector('#replies li[data-outcome=pending]')"
    )
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    await pg.screenshot(path=str(SCREENSHOT))
    assert png_size(SCREENSHOT) == (WALLBOARD["width"], WALLBOARD["height"])
