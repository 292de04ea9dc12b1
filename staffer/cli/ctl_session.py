"""The broker side of ``staffer ctl``: one session per invocation (request, show or watch).

Separate from ``staffer.cli.ctl`` (arguments) so that ``--help`` and usage errors never
import the MQTT library.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from staffer.adapters.mqtt_client import BrokerClient, BrokerError, NoReply
from staffer.cli import ctl_views as views
from staffer.cli.ctl import NO_REPLY, OK, REFUSED, Target, emit, fail, new_request_id
from staffer.codec.timefmt import format_ts


async def session(args: argparse.Namespace, target: Target, body: dict[str, Any] | None) -> int:
    """Connect, do the subcommand's work, disconnect; the exit code."""
    client_id = f"staffer-ctl-{target.supervisor}-{new_request_id()[4:]}"
    try:
        async with BrokerClient(target.mqtt, client_id=client_id, timeout_s=target.timeout_s) as c:
            if body is not None:
                return await ask(c, target, body)
            if args.ctl_command == "watch":
                return await watch(c, target, args.count)
            return await show(c, target, args.ctl_command)
    except BrokerError as err:
        return fail(NO_REPLY, str(err))


async def ask(client: BrokerClient, target: Target, body: dict[str, Any]) -> int:
    """Send one request and print the daemon's reply."""
    rid = new_request_id()
    t, site, who = target.topics, target.site, target.supervisor
    payload = json.dumps({"id": rid, **body}, ensure_ascii=False).encode()
    try:
        raw = await client.request(
            t.override(site, who),
            payload,
            reply_topic=t.override_reply(site, who),
            matches=lambda data: _reply_id(data) == rid,
            timeout_s=target.timeout_s,
        )
    except NoReply:
        return fail(
            NO_REPLY,
            f"no reply from the daemon within {target.timeout_s:g} s "
            f"(request {rid}; is it running and serving site {site}?)",
        )
    reply = _object(raw)
    if reply is None:
        return fail(REFUSED, "the daemon's reply is not a JSON object")
    if reply.get("ok") is True:
        emit(target, reply, views.reply_text(reply, body.get("action")))
        return OK
    if target.json:
        emit(target, reply, "")
    return fail(REFUSED, views.error_text(reply))


async def show(client: BrokerClient, target: Target, what: str) -> int:
    """Print a retained topic as a table (``--json``: the payload)."""
    t, site = target.topics, target.site
    topic = {
        "plan": t.plan(site),
        "overrides": t.overrides(site),
        "proposals": t.proposals(site),
        "status": t.status(),
    }[what]
    msg = await client.retained(topic, min(target.timeout_s, 2.0))
    if msg is None:
        return fail(
            NO_REPLY,
            f"nothing retained on {topic}: the daemon has not published it "
            f"(is it running and serving site {site}?)",
        )
    try:
        value = json.loads(msg.payload)
    except ValueError:
        return fail(REFUSED, f"{topic} does not hold JSON")
    if what == "overrides":
        value = {"site": site, "overrides": value if isinstance(value, list) else []}
    if not isinstance(value, dict):
        return fail(REFUSED, f"{topic} does not hold a JSON object")
    text = {
        "plan": views.plan_text,
        "overrides": lambda v: views.overrides_text(v["overrides"]),
        "proposals": views.proposals_text,
        "status": views.status_text,
    }[what](value)
    emit(target, value, text)
    return OK


async def watch(client: BrokerClient, target: Target, count: int | None) -> int:
    """Print one line per move, proposal change and reply until Ctrl-C or ``count``."""
    t, site = target.topics, target.site
    commands, proposals = t.commands(site), t.proposals(site)
    await client.subscribe(commands, proposals)
    mine = t.override_reply(site, target.supervisor)
    everyone = mine.replace(f"/{target.supervisor}/reply", "/+/reply")
    granted = await client.subscribe_first_granted((everyone,), (mine,))
    whose = "every supervisor's" if granted == (everyone,) else "your"
    print(
        f"watching site {site} on {client.address.display}: commands, proposals and "
        f"{whose} replies (Ctrl-C to stop)",
        file=sys.stderr,
        flush=True,
    )
    seen: dict[str, Any] = {}
    printed = 0
    while count is None or printed < count:
        msg = await client.next()
        if msg is None:
            continue
        for event in _events(msg.topic, msg.payload, commands, proposals, seen):
            emit(target, event, views.event_line(event))
            sys.stdout.flush()
            printed += 1
            if count is not None and printed >= count:
                break
    return OK


def _events(
    topic: str, payload: bytes, commands: str, proposals: str, seen: dict[str, Any]
) -> list[views.Event]:
    body = _object(payload)
    if body is None:
        return []
    if topic == commands:
        return views.command_events(body)
    if topic == proposals:
        return views.proposal_events(body, seen)
    if topic.endswith("/reply"):
        supervisor = topic.rsplit("/", 2)[-2]
        return [views.reply_event(supervisor, body, format_ts(round(time.time())))]
    return []


def _object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _reply_id(raw: bytes) -> object:
    body = _object(raw)
    return None if body is None else body.get("id")
