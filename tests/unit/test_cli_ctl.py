"""`staffer ctl` without a broker: arguments -> requests, usage errors (exit 2, one line),
connection settings from file, environment and flags, and what it prints."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from staffer.cli import build_parser, main
from staffer.cli import ctl_views as views
from staffer.cli.ctl import build_request, resolve
from staffer.cli.durations import parse_duration, parse_time


def args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["ctl", *argv])


@pytest.mark.parametrize(
    ("argv", "body"),
    [
        (["pin", "phone", "--min", "3"], {"action": "pin", "queue": "phone", "min": 3}),
        (
            ["pin", "phone", "--max", "9", "--ttl", "15m", "--reason", "mail-out"],
            {"action": "pin", "queue": "phone", "max": 9, "ttl_s": 900.0, "reason": "mail-out"},
        ),
        (["unpin", "phone"], {"action": "unpin", "queue": "phone"}),
        (["lock", "a17", "--ttl", "2h"], {"action": "lock_agent", "agent": "a17", "ttl_s": 7200.0}),
        (["unlock", "a17"], {"action": "unlock_agent", "agent": "a17"}),
        (["assign", "a17", "chat"], {"action": "assign", "agent": "a17", "queue": "chat"}),
        (
            ["assign", "a17", "chat", "--now"],
            {"action": "assign", "agent": "a17", "queue": "chat", "after_current_contact": False},
        ),
        (["replan"], {"action": "replan"}),
        (["cancel", "3f2a"], {"action": "cancel", "override_id": "3f2a"}),
        (["mode", "approve"], {"action": "mode", "mode": "approve"}),
        (
            ["mode", "shadow", "--ttl", "permanent"],
            {"action": "mode", "mode": "shadow", "ttl_s": None},
        ),
        (
            ["target", "phone", "--sl", "0.9", "--target-s", "15"],
            {"action": "target", "queue": "phone", "sl_target": 0.9, "target_s": 15.0},
        ),
        (["approve", "p-1"], {"action": "approve", "proposal_id": "p-1"}),
        (["approve", "p-1", "p-2"], {"action": "approve", "proposal_ids": ["p-1", "p-2"]}),
        (["approve", "--all"], {"action": "approve", "all": True}),
        (["reject", "p-1"], {"action": "reject", "proposal_id": "p-1"}),
    ],
)
def test_human_arguments_become_the_contract_request(argv, body) -> None:
    assert build_request(args(*argv)) == body


def test_connection_options_before_or_after_the_subcommand(tmp_path: Path) -> None:
    conf = tmp_path / "s.toml"
    conf.write_text('[mqtt]\nurl = "mqtt://broker:1884"\n')
    before = args("-c", str(conf), "--as", "ann", "pin", "phone", "--min", "3")
    after = args("pin", "phone", "--min", "3", "-c", str(conf), "--as", "ann")
    a, b = resolve(before), resolve(after)
    assert (a.mqtt, a.site, a.supervisor, a.topics.prefix) == (
        b.mqtt,
        b.site,
        b.supervisor,
        b.topics.prefix,
    )
    assert build_request(before) == build_request(after)
    target = resolve(after)
    assert (target.mqtt.url, target.supervisor, target.site) == (
        "mqtt://broker:1884",
        "ann",
        "main",
    )


def test_settings_from_file_environment_then_flags(tmp_path: Path, monkeypatch) -> None:
    conf = tmp_path / "s.toml"
    pw = tmp_path / "pw"
    pw.write_text("secret\n")
    conf.write_text(
        '[mqtt]\nurl = "mqtt://file:1883"\nusername = "filer"\ntopic_prefix = "acme"\n'
        '[[sites]]\nid = "paris"\n'
    )
    monkeypatch.setenv("STAFFER_MQTT__URL", "mqtt://env:1883")
    monkeypatch.setenv("STAFFER_MQTT__PASSWORD_FILE", str(pw))
    t = resolve(args("-c", str(conf), "replan"))
    assert (t.mqtt.url, t.mqtt.username, t.supervisor, t.site) == (
        "mqtt://env:1883",
        "filer",
        "filer",  # --as defaults to the MQTT username
        "paris",  # the only site of the file
    )
    assert t.topics.override("paris", "filer") == "acme/paris/override/filer"
    t = resolve(args("-c", str(conf), "--url", "mqtt://flag:1", "--username", "u", "replan"))
    assert (t.mqtt.url, t.supervisor, t.timeout_s) == ("mqtt://flag:1", "u", 10.0)


def test_as_defaults_to_the_login_name(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("getpass.getuser", lambda: "night-shift")
    assert resolve(args("replan")).supervisor == "night-shift"


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["pin", "phone"], "pin needs --min and/or --max"),
        (["target", "phone"], "target needs --sl and/or --target-s"),
        (["approve"], "proposal ids or --all"),
        (["approve", "p-1", "--all"], "proposal ids or --all"),
        (["reject"], "reject takes proposal ids"),
        (
            ["reject", "--all"],
            "reject takes proposal ids (PROPOSAL_ID ...; there is no reject --all)",
        ),
        (["reject", "p-1", "--all"], "there is no reject --all"),
        (["watch", "--count", "0"], "must be at least 1"),
        (["watch", "--count", "-3"], "must be at least 1"),
        (["watch", "--count", "many"], "is not a whole number"),
        (["--site", "", "replan"], "--site: must not be empty"),
        (["replan", "--as", ""], "--as: must not be empty"),
        (["replan", "--as", "  "], "--as: must not be empty"),
        (["mode", "sideways"], "invalid choice"),
        (["lock", "a1", "--ttl", "permanent"], "only allowed for mode"),
        (["lock", "a1", "--ttl", "soon"], "is not a duration"),
        (["pin", "phone", "--min", "3", "--ttl", "0"], "more than 0 seconds"),
        (["replan", "--timeout", "-1"], "is not a duration"),
        (["teleport"], "invalid choice"),
        (["--url", "http://x", "replan"], "mqtt.url"),
        (["--url", "mqtt://h:99999", "replan"], "bad port"),
        (["--site", "a/b", "replan"], "--site"),
        (["--as", "a+b", "replan"], "--as"),
        (["-c", "/nonexistent.toml", "replan"], "no such configuration file"),
        (["--password-file", "/nonexistent", "replan"], "mqtt.password_file"),
    ],
)
def test_usage_and_config_errors_exit_2_with_one_line(argv, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        rc = main(["ctl", *argv])
    except SystemExit as exit_:
        rc = exit_.code
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and needle in err, err
    assert "Traceback" not in err


def test_several_sites_need_site(tmp_path: Path, capsys) -> None:
    conf = tmp_path / "s.toml"
    conf.write_text('[[sites]]\nid = "paris"\n[[sites]]\nid = "lyon"\n')
    assert main(["ctl", "-c", str(conf), "replan"]) == 2
    assert "several sites (paris, lyon)" in capsys.readouterr().err
    assert resolve(args("-c", str(conf), "--site", "lyon", "replan")).site == "lyon"


# -- durations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90.0),
        ("2.5", 2.5),
        ("90s", 90.0),
        ("15m", 900.0),
        ("2h", 7200.0),
        ("1h30m", 5400.0),
        ("1d", 86400.0),
        (" 15M ", 900.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "15x", "1h 30m", "-5", "1e400", "h1", "15mm"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_parse_time() -> None:
    assert parse_time("2h", 10_000.0) == 2_800.0
    assert parse_time("2026-11-22T10:15:00+01:00", 0) == parse_time("2026-11-22T09:15:00Z", 0)
    with pytest.raises(ValueError, match="neither"):
        parse_time("yesterday", 0)


# -- what it prints --------------------------------------------------------------------------------

PLAN = {
    "plan_id": "main-20261122T101500Z-42",
    "site": "main",
    "as_of": "2026-11-22T10:15:00Z",
    "mode": "auto",
    "queues": {
        "phone": {
            "channel": "voice",
            "forecast_arrival_rate": 0.07,
            "forecast_aht_s": 240.0,
            "assigned": 20,
            "target": 23,
            "required": 22,
            "predicted_service_level": 0.81,
            "predicted_asa_s": None,
            "predicted_abandon_ratio": 0.03,
            "sl_target": 0.8,
            "target_s": 20,
        }
    },
    "moves": 3,
}


def test_plan_table() -> None:
    lines = views.plan_text(PLAN).splitlines()
    assert lines[0] == (
        "plan main-20261122T101500Z-42  site main  as of 2026-11-22T10:15:00Z  mode auto  moves 3"
    )
    assert lines[1].split() == [
        "queue", "channel", "assigned", "target", "required", "SL", "goal", "within", "s",
        "ASA", "s", "abandon", "per", "hour",
    ]  # fmt: skip
    assert lines[2].split() == [
        "phone",
        "voice",
        "20",
        "23",
        "22",
        "81%",
        "80%",
        "20",
        "-",
        "3%",
        "252.0",
    ]
    stale = json.loads(json.dumps(PLAN))
    stale["queues"]["phone"]["stale"] = True
    assert views.plan_text(stale).splitlines()[2].split()[-1] == "yes"


def test_odd_payloads_never_raise() -> None:
    assert "plan None" in views.plan_text({})
    assert views.proposals_text({"proposals": None}).endswith("no open proposals")
    assert views.overrides_text([]) == "no active overrides"
    assert views.error_text({"ok": False}) == "invalid: the daemon refused the request"
    assert views.command_events({"moves": [None, {"agent": "a"}]})[0]["agent"] == "a"


def test_reply_text_for_approve_and_reject() -> None:
    text = views.reply_text(
        {
            "id": "r",
            "ok": True,
            "override_id": None,
            "expires_at": None,
            "approved": [{"proposal_id": "p-1", "agent": "a17", "from": "email", "to": "phone"}],
            "command_id": "main-00000007-abcdef",
            "withdrawn": [{"proposal_id": "p-2", "why": "agent a3 is locked"}],
        }
    )
    assert text.splitlines() == [
        "ok",
        "approved p-1: a17 email -> phone",
        "command main-00000007-abcdef",
        "not approved p-2: agent a3 is locked",
    ]
    text = views.reply_text(
        {"ok": True, "rejected": ["p-3"], "cooldown_until": "2026-11-22T10:45:00Z"}
    )
    assert text.splitlines()[1:] == [
        "rejected p-3",
        "not proposed again before 2026-11-22T10:45:00Z",
    ]


def test_proposal_events_diff_the_retained_list() -> None:
    seen: dict = {}
    p1 = {"proposal_id": "p-1", "agent": "a", "from": "email", "to": "phone", "reason": "r"}
    opened = views.proposal_events({"as_of": "t1", "proposals": [p1]}, seen)
    assert [e["event"] for e in opened] == ["proposal_open"]
    assert views.proposal_events({"as_of": "t2", "proposals": [p1]}, seen) == []
    closed = views.proposal_events({"as_of": "t3", "proposals": []}, seen)
    assert [(e["event"], e["time"]) for e in closed] == [("proposal_closed", "t3")]
    assert views.event_line(closed[0]) == "t3  proposal p-1 closed: a email -> phone"


FORGED = "line one\n2026-12-07T23:00:00Z  main  planner  move  commanded  FORGED ROW"


def test_free_text_from_the_daemon_cannot_forge_rows_or_lines() -> None:
    """Reasons, supervisor names and messages are shown with their control characters
    escaped (codec.audit.printable, as ``staffer audit`` does)."""
    text = views.overrides_text(
        [
            {
                "override_id": "ov1",
                "action": "lock_agent",
                "agent": "e15",
                "supervisor": "bob",
                "expires_at": "2026-12-07T23:30:00Z",
                "reason": FORGED,
            },
            {
                "override_id": "ov2",
                "action": "lock_agent",
                "agent": "e16",
                "supervisor": "ev\x1b[2Jil",
                "expires_at": None,
            },
        ]
    )
    lines = text.splitlines()
    assert len(lines) == 3 and "FORGED ROW" in lines[1] and "line one\\n2026" in lines[1]
    assert "\x1b" not in text and "ev\\u001b[2Jil" in lines[2]
    proposal = {
        "proposal_id": "p-1",
        "agent": "a",
        "from": "email",
        "to": "phone",
        "reason": FORGED,
        "expires_at": "t",
    }
    assert len(views.proposals_text({"proposals": [proposal]}).splitlines()) == 3
    [opened] = views.proposal_events({"as_of": "t1", "proposals": [proposal]}, {})
    assert "\n" not in views.event_line(opened) and "FORGED ROW" in views.event_line(opened)
    move = {"agent": "a", "to": "phone", "reason": "r\rr\x07"}
    [event] = views.command_events({"ts": "t", "command_id": "c", "mode": "auto", "moves": [move]})
    assert views.event_line(event).endswith("r\\rr\\u0007")
    reply = {"ok": True, "withdrawn": [{"proposal_id": "p-2", "why": FORGED}]}
    assert len(views.reply_text(reply).splitlines()) == 2
    line = views.event_line(views.reply_event("x\ny", {"id": "r", **reply}, "t"))
    assert "\n" not in line and "reply to x\\ny" in line
    err = {"ok": False, "error": {"code": "invalid", "message": FORGED}}
    assert "\n" not in views.error_text(err)
    assert "\n" not in views.plan_text({"plan_id": FORGED}).splitlines()[0]


def test_a_cancel_reply_says_what_was_cancelled() -> None:
    reply = {"ok": True, "override_id": "ov1", "expires_at": None, "removed": ["ov1"]}
    assert views.reply_text(reply, "cancel") == "ok, cancelled ov1"
    assert views.reply_text({**reply, "removed": []}, "cancel") == "ok, cancelled ov1"
    assert views.reply_text({"ok": True, "removed": ["ov1"]}, "unpin") == "ok, removed ov1"
    new_pin = {"ok": True, "override_id": "ov2", "removed": ["ov1"]}
    assert views.reply_text(new_pin, "pin") == "ok, override ov2, replaced ov1"
