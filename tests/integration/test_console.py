"""The supervisor console (contract §13) in a real headless Chromium, against a real
mosquitto with a WebSocket listener and the real daemon (in-process, wall clock, its HTTP
server serving the page). The page connects to the broker itself, as the username in its
URL, and every check reads what the page shows.

Approve mode (contract §9) runs the real daemon in ``mode = "approve"``; only what the
test wants shown in a state the daemon reaches only slowly (a stale queue next to fresh
ones, markup inside a payload) is published by the test itself, in the daemon's plan shape
(``test_console_shows_stale_queues_and_markup_as_text``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from staffer.codec.proposals import decision_reply_to_json
from staffer.core.proposals import ProposalBook, Selection
from staffer.core.types import AgentState, Move
from staffer.settings import ConsoleSettings, Settings
from tests.integration.browser import Page, WsBroker, chromium_page, console_only, screenshot
from tests.integration.harness import (
    Peer,
    agent,
    iso,
    make_settings,
    peer,
    queue_body,
    running_daemon,
)
from tests.ops.stack import shipped_mosquitto

pytestmark = pytest.mark.integration

ME = "alice"
REQUESTS, REPLIES = f"main/override/{ME}", f"main/override/{ME}/reply"


def daemon_settings(
    broker_url: str, ws_url: str, prefix: str, state: Path, **mqtt: Any
) -> Settings:
    settings = make_settings(broker_url, prefix, state, planner={"clock": "wall"}, mqtt=mqtt)
    return settings.model_copy(update={"console": ConsoleSettings(mqtt_ws_url=ws_url)})


async def open_console(page: Page, http_url: str, query: str = f"site=main&username={ME}") -> None:
    """Open the page as a wallboard would (site and user in the URL) and wait until live."""
    await page.page.goto(f"{http_url}/console?{query}")
    await page.page.wait_for_selector('#conn[data-state="live"]')


async def text(page: Page, selector: str) -> str:
    return (await page.page.inner_text(selector)).strip()


async def wait_text(page: Page, selector: str, expected: str) -> None:
    """Wait until the element exists and its text contains ``expected``."""
    await page.page.wait_for_function(
        "([sel, want]) => { const n = document.querySelector(sel);"
        " return n !== null && n.textContent.includes(want); }",
        arg=[selector, expected],
    )


async def reply_shown(page: Page, request: dict[str, Any], outcome: str) -> str:
    """The page's entry for ``request`` once it shows ``outcome``; its text."""
    item = f'#replies li[data-request-id="{request["id"]}"][data-outcome="{outcome}"]'
    await page.page.wait_for_selector(item)
    return await text(page, item)


def pct(x: float | None) -> str:
    return "—" if x is None else f"{round(x * 100)}%"


async def afternoon(p: Peer, phone: tuple[int, int] = (13, 3)) -> dict[str, Any]:
    """A busy afternoon on site main, then a replan: the daemon plans at once (wall clock).

    30 agents (phone 12, chat 8, email 10, each also skilled for one other queue) and an
    hour of site snapshots up to now: phone above its staffing, chat a little, email quiet.
    """
    skills = {"phone": ["phone", "chat"], "chat": ["chat", "phone"], "email": ["email", "phone"]}
    for queue, n in (("phone", 12), ("chat", 8), ("email", 10)):
        for i in range(n):
            state = agent("available" if i % 3 == 0 else "busy", queue, skills[queue])
            await p.publish(f"main/agents/{queue[0]}{i:02d}/state", state)
    now = time.time()
    for k in range(12):
        queues = {
            "phone": queue_body(*phone, answered=12, within=7),
            "chat": queue_body(10, 1, aht_s=480, answered=10, within=8),
            "email": queue_body(3, 0, aht_s=360, backlog=40, oldest_age_s=3000),
        }
        await p.publish("main/metrics", {"ts": iso(now - 300 * (11 - k)), "queues": queues})
    await p.publish("main/override/ops", {"id": f"go-{now}", "action": "replan"})
    # The replan's plan is the first one that has seen every agent (a wall-clock plan may
    # have gone out while the agents were still arriving).
    plans = await p.wait_for("main/plan", lambda pl: _staffed(pl) == 30)
    return plans[-1]


def _staffed(plan: dict[str, Any]) -> int:
    return sum(q["assigned"] for q in plan["queues"].values())


async def test_console_shows_the_plan_and_a_pin_round_trips(tmp_path: Path, topic_prefix: str):
    """Queues with the daemon's numbers and colours, moves with reasons, a pin through the
    form acknowledged, the override listed and cancelled, an error reply in words; then
    the wallboard screenshot (docs/img/console.png)."""
    broker = WsBroker(tmp_path / "broker")
    settings = daemon_settings(broker.url, broker.ws_url, topic_prefix, tmp_path)
    with broker.running():
        async with (
            running_daemon(settings) as daemon,
            peer(broker.host, broker.port, topic_prefix) as p,
            chromium_page(tmp_path / "profile") as page,
        ):
            assert daemon.http is not None
            await open_console(page, daemon.http.url)
            pg = page.page
            assert await pg.input_value("#login-form [name=ws]") == broker.ws_url  # config.json
            plan = await afternoon(p)
            await wait_text(page, "#plan-asof", plan["plan_id"])  # the page shows that plan

            for qid, q in plan["queues"].items():
                row = f'tr[data-queue="{qid}"]'
                await wait_text(page, f'{row} td[data-field="assigned"]', str(q["assigned"]))
                assert await text(page, f'{row} [data-field="target"] .big') == str(q["target"])
                assert await text(page, f'{row} [data-field="required"]') == str(q["required"])
                assert await text(page, f'{row} [data-field="waiting"]') == str(q["waiting"])
                predicted = pct(q["predicted_service_level"])
                assert await text(page, f'{row} [data-field="predicted"]') == predicted
                observed = pct(q["observed_service_level"])
                assert await text(page, f'{row} [data-field="observed"]') == observed
            assert plan["queues"]["phone"]["observed_service_level"] == 7 / 12
            phone_observed = 'tr[data-queue="phone"] [data-field="observed"] .sl'
            assert await pg.get_attribute(phone_observed, "data-level") == "bad"  # 58% < 75%
            assert await text(page, "#mode") == "MODE AUTO"
            [command] = await p.wait_for("main/commands")  # agents move to phone and chat
            await wait_text(page, "#moves", command["moves"][0]["reason"])

            # pin through the form: the request goes out under alice's name, the reply shows
            await pg.select_option("#f-pin [name=queue]", "phone")
            await pg.fill("#f-pin [name=min]", "6")
            await pg.fill("#reason", "marketing mail-out")
            await pg.click('#f-pin button[data-action="pin"]')
            [request] = await p.wait_for(REQUESTS, lambda r: r["action"] == "pin")
            assert request["queue"] == "phone" and request["min"] == 6 and "max" not in request
            assert request["reason"] == "marketing mail-out"
            [reply] = await p.wait_for(REPLIES, lambda r: r["id"] == request["id"])
            assert reply["ok"] is True
            shown = await reply_shown(page, request, "ok")
            assert "pin phone ≥ 6" in shown and reply["override_id"][:8] in shown

            # the override is listed (retained overrides topic) and Cancel removes it
            item = f'#overrides li[data-override-id="{reply["override_id"]}"]'
            await wait_text(page, item, "pin phone ≥ 6")
            assert "by alice" in await text(page, item)
            await pg.click(f'{item} button[data-action="cancel"]')
            await pg.wait_for_selector(item, state="detached")
            [cancel] = await p.wait_for(REQUESTS, lambda r: r["action"] == "cancel")
            assert cancel["override_id"] == reply["override_id"]
            await reply_shown(page, cancel, "ok")

            # an error reply is shown with its code in words
            await pg.fill("#f-agent [name=agent]", "ghost")
            await pg.select_option("#f-agent [name=queue]", "phone")
            await pg.click('#f-agent button[data-action="assign"]')
            [bad] = await p.wait_for(REQUESTS, lambda r: r["action"] == "assign")
            shown = await reply_shown(page, bad, "error")
            assert "unknown_agent: the daemon has never seen that agent" in shown

            await an_afternoon_on_the_wallboard(page)
            assert page.errors == []  # no script error, no CSP violation


async def an_afternoon_on_the_wallboard(page: Page) -> None:
    """Two overrides a supervisor would have, a replan, then docs/img/console.png."""
    pg = page.page
    await pg.select_option("#f-pin [name=queue]", "email")
    await pg.fill("#f-pin [name=min]", "3")
    await pg.fill("#reason", "backlog promised by 17:00")
    await pg.click('#f-pin button[data-action="pin"]')
    await pg.fill("#f-agent [name=agent]", "c02")
    await pg.fill("#reason", "coaching session")
    await pg.click('#f-agent button[data-action="lock_agent"]')
    await pg.wait_for_function("() => document.querySelectorAll('#overrides li').length === 2")
    await pg.fill("#reason", "")
    await pg.click('#f-mode button[data-action="replan"]')
    await pg.wait_for_function("() => !document.querySelector('#replies [data-outcome=pending]')")
    await screenshot(page, "console.png")


async def test_console_survives_a_broker_restart(tmp_path: Path, topic_prefix: str):
    """The broker goes away: the page says so and freezes its colours; the broker comes
    back on the same ports: the page reconnects by itself, says so, and is live again
    (fresh plans arrive, requests get their replies)."""
    broker = WsBroker(tmp_path / "broker")
    settings = daemon_settings(broker.url, broker.ws_url, topic_prefix, tmp_path)
    with contextlib.ExitStack() as up:
        up.enter_context(broker.running())
        async with (
            running_daemon(settings) as daemon,
            chromium_page(tmp_path / "profile") as page,
        ):
            assert daemon.http is not None
            pg = page.page
            async with peer(broker.host, broker.port, topic_prefix) as p:
                plan = await afternoon(p)
                await open_console(page, daemon.http.url)
                await wait_text(page, "#plan-asof", plan["plan_id"])

            up.close()  # the broker stops
            await pg.wait_for_selector('#conn[data-state="reconnecting"]')
            await wait_text(page, "#notice", "Lost the connection to the broker")
            assert await pg.get_attribute("body", "data-conn") == "reconnecting"
            assert await text(page, 'tr[data-queue="phone"] [data-field="assigned"]') != ""

            up.enter_context(broker.running())  # ...and comes back where it was
            await pg.wait_for_selector('#conn[data-state="live"]')
            await wait_text(page, "#notice", "Reconnected to the broker after")
            async with peer(broker.host, broker.port, topic_prefix) as p:
                await p.wait_for("status", lambda s: s["status"] == "online", timeout=30)
                await p.publish("main/override/ops", {"id": "again", "action": "replan"})
                [fresh] = await p.wait_for("main/plan", lambda x: x["plan_id"] != plan["plan_id"])
                await wait_text(page, "#plan-asof", fresh["plan_id"])
                await pg.click('#f-mode button[data-action="replan"]')
                [request] = await p.wait_for(REQUESTS, lambda r: r["action"] == "replan")
                await reply_shown(page, request, "ok")
            assert page.errors == []


async def test_console_approves_and_rejects_the_daemons_proposals(
    tmp_path: Path, topic_prefix: str
):
    """The real daemon in ``[planner] mode = "approve"``: its proposals (retained
    ``proposals``, contract §9) show with Approve and Reject; Approve commands the move,
    as the supervisor typed into the page; a proposal that no longer applies is refused
    in words; Reject closes one. Then docs/img/console-approve.png."""
    broker = WsBroker(tmp_path / "broker")
    settings = daemon_settings(broker.url, broker.ws_url, topic_prefix, tmp_path)
    planner = settings.planner.model_copy(update={"mode": "approve"})
    settings = settings.model_copy(update={"planner": planner})
    with broker.running():
        async with (
            running_daemon(settings) as daemon,
            peer(broker.host, broker.port, topic_prefix) as p,
            chromium_page(tmp_path / "profile") as page,
        ):
            assert daemon.http is not None
            pg = page.page
            await open_console(page, daemon.http.url)
            plan = await afternoon(p, phone=(20, 8))  # short enough for several proposals
            [listing] = await p.wait_for(
                "main/proposals", lambda b: b["as_of"] == plan["as_of"] and len(b["proposals"]) >= 3
            )
            p1, p2, p3, *_ = listing["proposals"]
            first = f'[data-proposal-id="{p1["proposal_id"]}"]'
            await wait_text(page, first, f"{p1['agent']} {p1['from']} → {p1['to']}")
            assert p1["reason"] in await text(page, first)
            assert await text(page, "#mode") == "MODE APPROVE"
            assert p.on("main/commands") == []  # nothing moves until someone approves

            await pg.click(f'{first} button[data-action="approve"]')
            [request] = await p.wait_for(REQUESTS, lambda r: r["action"] == "approve")
            assert request == {
                "id": request["id"],
                "action": "approve",
                "proposal_id": p1["proposal_id"],
            }
            [command] = await p.wait_for("main/commands")  # the daemon's, after the click
            [move] = command["moves"]
            assert (move["proposal_id"], move["approved_by"]) == (p1["proposal_id"], ME)
            assert (move["agent"], command["mode"]) == (p1["agent"], "approve")
            move_text = f"{p1['agent']} {p1['from']} → {p1['to']}"
            shown = await reply_shown(page, request, "ok")  # what was commanded, as ctl says
            assert f"approve {move_text}" in shown
            assert f"✓ done · approved {move_text} · command {command['command_id']}" in shown
            await pg.wait_for_selector(first, state="detached")
            await wait_text(page, "#moves", f"approved by {ME}")

            # another supervisor locks the second one's agent: approving it is refused
            lock = {"id": "lock-1", "action": "lock_agent", "agent": p2["agent"]}
            await p.publish("main/override/ops", lock)
            await p.wait_for("main/override/ops/reply", lambda r: r["id"] == "lock-1")
            second = f'[data-proposal-id="{p2["proposal_id"]}"]'
            await pg.click(f'{second} button[data-action="approve"]')
            [stale] = await p.wait_for(
                REQUESTS, lambda r: r.get("proposal_id") == p2["proposal_id"]
            )
            shown = await reply_shown(page, stale, "error")
            assert "stale_proposal: the agent has moved, was locked or went off" in shown
            await pg.wait_for_selector(second, state="detached")  # closed by the daemon

            third = f'[data-proposal-id="{p3["proposal_id"]}"]'
            await pg.click(f'{third} button[data-action="reject"]')
            [reject] = await p.wait_for(REQUESTS, lambda r: r["action"] == "reject")
            assert reject["proposal_id"] == p3["proposal_id"]
            [said] = await p.wait_for(REPLIES, lambda r: r["id"] == reject["id"])
            until = await pg.evaluate("(ts) => Render.clock(ts)", said["cooldown_until"])
            shown = await reply_shown(page, reject, "ok")
            p3_move = f"{p3['agent']} {p3['from']} → {p3['to']}"
            assert f"rejected {p3_move} · not proposed again before {until}" in shown
            await pg.wait_for_selector(third, state="detached")
            await p.settle()
            assert len(p.on("main/commands")) == 1
            await screenshot(page, "console-approve.png")
            assert page.errors == []


def stale_email_plan(now: float) -> dict[str, Any]:
    """A §3.4 plan with the §16 freshness fields (not yet published by the planner)."""

    def queue(channel: str, assigned: int, target: int, sl: float, waiting: int) -> dict:
        return {
            "data_age_s": 12.0,
            "stale": False,
            "channel": channel,
            "forecast_arrival_rate": 0.043,
            "forecast_aht_s": 240.0,
            "assigned": assigned,
            "target": target,
            "required": target,
            "predicted_service_level": sl,
            "predicted_asa_s": 14.0,
            "predicted_abandon_ratio": 0.02,
            "sl_target": 0.8,
            "target_s": 20.0,
            "observed_service_level": sl - 0.1,
            "waiting": waiting,
        }

    return {
        "plan_id": f"main-{int(now)}-1",
        "site": "main",
        "as_of": iso(now),
        "mode": "approve",
        "queues": {
            "phone": queue("voice", 12, 14, 0.83, 4),
            "chat": queue("chat", 9, 8, 0.9, 0),
            "email": {  # its bridge went quiet: no predictions, never shown as good service
                **queue("email", 6, 6, 0.0, 0),
                "predicted_service_level": None,
                "predicted_asa_s": None,
                "predicted_abandon_ratio": None,
                "observed_service_level": 0.95,
                "data_age_s": 900.0,
                "stale": True,
            },
        },
        "moves": 1,
    }


@contextlib.asynccontextmanager
async def published_console(
    broker: WsBroker, settings: Settings, prefix: str, tmp_path: Path, plan: Any, listing: Any
) -> AsyncIterator[tuple[Any, Page]]:
    """The console (no daemon) on a running broker, opened after ``plan`` and the proposals
    ``listing`` were published retained for site main: the test answers for the daemon."""
    with broker.running():
        async with (
            console_only(settings) as http_url,
            peer(broker.host, broker.port, prefix) as p,
            chromium_page(tmp_path / "profile") as page,
        ):
            await p.publish("main/plan", plan, retain=True)
            await p.publish("main/proposals", listing, retain=True)
            await open_console(page, http_url)
            yield p, page


async def test_console_shows_stale_queues_and_markup_as_text(tmp_path: Path, topic_prefix: str):
    """What the real daemon does not publish (yet, or ever): the §16 freshness fields, and
    markup inside a payload. The test publishes them; the page shows a stale queue as
    stale, markup as text, and keeps a proposal's button disabled while its request is
    unanswered."""
    broker = WsBroker(tmp_path / "broker")
    settings = daemon_settings(broker.url, broker.ws_url, topic_prefix, tmp_path)
    now = time.time()
    markup = "<img src=x onerror=alert(1)>"
    listing = {
        "site": "main",
        "as_of": iso(now),
        "proposals": [
            {
                "proposal_id": "p-0001",
                "plan_id": f"main-{int(now)}-1",
                "agent": "e04",
                "from": "email",
                "to": "phone",
                "reason": markup,
                "created_at": iso(now),
                "expires_at": iso(now + 600),
            }
        ],
    }
    plan = stale_email_plan(now)
    async with published_console(broker, settings, topic_prefix, tmp_path, plan, listing) as (
        p,
        page,
    ):
        pg = page.page
        first = '[data-proposal-id="p-0001"]'
        await wait_text(page, first, "e04 email → phone")
        assert markup in await text(page, first)
        assert await pg.query_selector("#proposals img") is None  # text, never markup
        assert await text(page, 'tr[data-queue="phone"] [data-field="data"]') == "12 s"
        stale = 'tr[data-queue="email"]'
        assert await text(page, f'{stale} [data-field="data"]') == "stale · 15 min"
        assert await text(page, f'{stale} [data-field="predicted"]') == "—"
        for field in ("predicted", "observed"):  # 95% observed, but old: no green
            level = await pg.get_attribute(f'{stale} [data-field="{field}"] .sl', "data-level")
            assert level == "none"
        await pg.click(f'{first} button[data-action="approve"]')
        await p.wait_for(REQUESTS, lambda r: r["action"] == "approve")
        assert await pg.is_disabled(f'{first} button[data-action="approve"]')  # unanswered
        assert page.errors == []


def decision_replies(now: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """The daemon's replies (the real reply codec) to an ``approve all`` that commands
    p-0001 and p-0003 and skips p-0002 (its agent is no longer reported), and to
    rejecting p-0003 (in a second book: the page's request comes first there)."""

    def book() -> ProposalBook:
        b = ProposalBook("main", ttl_s=600, cooldown_s=1800, id_factory=iter(PIDS).__next__)
        b.update("plan", [Move(a, "email", "phone", "why") for a in ("e04", "e05", "e06")], now)
        return b

    roster = {
        a: AgentState(a, now, "busy", "email", frozenset({"email", "phone"}))
        for a in ("e04", "e06")
    }
    approved = book().approve(Selection(all=True), ME, now, mode="approve", agents=roster)
    rejected = book().reject(Selection(("p-0003",)), ME, now, mode="approve", reason=None)
    assert approved.ok and rejected.ok
    return (
        decision_reply_to_json("?", approved, "main-00000007-abcdef"),
        decision_reply_to_json("?", rejected),
    )


PIDS = ("p-0001", "p-0002", "p-0003")


async def test_console_proposals_in_shadow_mode_and_what_the_replies_say(
    tmp_path: Path, topic_prefix: str
):
    """In shadow mode the proposals are shown read-only (buttons disabled, a note why); in
    approve mode they can be acted on, and each reply says what happened: what was approved
    and commanded, what was not approved and why, a rejection's cool-down (contract §9
    reply fields, built by the daemon's reply codec; the test answers for the daemon)."""
    broker = WsBroker(tmp_path / "broker")
    settings = daemon_settings(broker.url, broker.ws_url, topic_prefix, tmp_path)
    now = time.time()
    listing = {
        "site": "main",
        "as_of": iso(now),
        "proposals": [
            {
                "proposal_id": pid,
                "plan_id": "x",
                "agent": agent_id,
                "from": "email",
                "to": "phone",
                "reason": "phone surge",
                "created_at": iso(now),
                "expires_at": iso(now + 600),
            }
            for pid, agent_id in zip(PIDS, ("e04", "e05", "e06"), strict=True)
        ],
    }
    approve_all, reject_one = decision_replies(now)
    plan = {**stale_email_plan(now), "mode": "shadow"}
    async with published_console(broker, settings, topic_prefix, tmp_path, plan, listing) as (
        p,
        page,
    ):
        pg = page.page
        first = '[data-proposal-id="p-0001"]'
        await wait_text(page, first, "e04 email → phone")
        for action in ("approve", "reject"):
            button = f'{first} button[data-action="{action}"]'
            assert await pg.is_disabled(button)
            assert "read-only" in (await pg.get_attribute(button, "title") or "")
        assert await pg.is_disabled("#approve-all")
        await wait_text(page, "#proposals-read-only", "Shadow mode: proposals are read-only")
        assert await pg.is_visible("#proposals-read-only")

        await p.publish("main/plan", {**plan, "mode": "approve"}, retain=True)
        await pg.wait_for_selector(f'{first} button[data-action="approve"]:not([disabled])')
        assert await pg.is_hidden("#proposals-read-only")
        assert await pg.get_attribute(f'{first} button[data-action="approve"]', "title") is None

        await pg.click('[data-proposal-id="p-0003"] button[data-action="reject"]')
        [request] = await p.wait_for(REQUESTS, lambda r: r["action"] == "reject")
        await p.publish(REPLIES, {**reject_one, "id": request["id"]})
        until = await pg.evaluate("(ts) => Render.clock(ts)", reject_one["cooldown_until"])
        shown = await reply_shown(page, request, "ok")
        assert f"✓ done · rejected e06 email → phone · not proposed again before {until}" in shown

        await pg.click("#approve-all")
        [request] = await p.wait_for(REQUESTS, lambda r: r.get("all") is True)
        await p.publish(REPLIES, {**approve_all, "id": request["id"]})
        shown = await reply_shown(page, request, "ok")
        assert (
            "✓ done · approved e04 email → phone, e06 email → phone · command "
            "main-00000007-abcdef · not approved e05 email → phone: "
        ) in shown
        assert approve_all["withdrawn"][0]["why"] in shown

        assert page.errors == []


async def test_console_asks_for_a_password_when_the_broker_wants_one(tmp_path: Path):
    """The shipped mosquitto.conf and ACL (deploy/mosquitto): the page first tries the
    username alone, is refused, asks for the password, then works as that supervisor."""
    with shipped_mosquitto(tmp_path / "broker") as b:
        ws_url = f"ws://127.0.0.1:{b.ws_port}"
        settings = daemon_settings(
            b.url,
            ws_url,
            "staffer",  # the prefix the shipped ACL is written for
            tmp_path,
            username="staffer",
            password_file=str(b.secrets / "staffer.password"),
        )
        async with (
            running_daemon(settings) as daemon,
            chromium_page(tmp_path / "profile") as page,
        ):
            assert daemon.http is not None
            pg = page.page
            await pg.goto(f"{daemon.http.url}/console?site=main&username={ME}")
            await pg.wait_for_selector("#login:not([hidden])")
            await wait_text(page, "#login-msg", f"The broker wants a password for {ME}")
            await pg.fill("#login-form [name=password]", b.passwords[ME])
            await pg.click("#login-form button")
            await pg.wait_for_selector('#conn[data-state="live"]')
            assert await pg.is_hidden("#login")

            await pg.click('#f-mode button[data-action="replan"]')  # plan readable over WS
            await pg.wait_for_selector('tr[data-queue="phone"]')
            await pg.select_option("#f-pin [name=queue]", "chat")
            await pg.fill("#f-pin [name=max]", "4")
            await pg.click('#f-pin button[data-action="pin"]')
            await pg.wait_for_selector('#replies li[data-outcome="ok"] >> text=pin chat ≤ 4')
            await wait_text(page, "#overrides", "pin chat ≤ 4")  # overrides readable too
            assert page.errors == [], page.errors


async def test_console_stops_reconnecting_when_another_connection_takes_its_session(
    tmp_path: Path,
):
    """The shipped broker gives one connection per user (use_username_as_clientid): a tool
    or a second tab of the same supervisor keeps knocking this page off. The page notices
    the loop of short sessions, stops reconnecting and says why (issue 14, item 8)."""
    from tests.ops.mqtt_client import Client

    with shipped_mosquitto(tmp_path / "broker") as b:
        ws_url = f"ws://127.0.0.1:{b.ws_port}"
        settings = daemon_settings(
            b.url,
            ws_url,
            "staffer",
            tmp_path,
            username="staffer",
            password_file=str(b.secrets / "staffer.password"),
        )
        async with (
            running_daemon(settings) as daemon,
            chromium_page(tmp_path / "profile") as page,
        ):
            assert daemon.http is not None
            pg = page.page
            await pg.goto(f"{daemon.http.url}/console?site=main&username={ME}")
            await pg.wait_for_selector("#login:not([hidden])")
            await pg.fill("#login-form [name=password]", b.passwords[ME])
            await pg.click("#login-form button")
            await pg.wait_for_selector('#conn[data-state="live"]')
            other = Client(b.port, ME, b.passwords[ME], client_id="other")  # reconnects
            try:
                await pg.wait_for_selector('#conn[data-state="refused"]', timeout=60000)
                await wait_text(
                    page, "#notice", f"Another console tab or tool is connected as {ME}"
                )
                await wait_text(page, "#notice", "Not reconnecting")
            finally:
                other.close()
            assert page.errors == [], page.errors
