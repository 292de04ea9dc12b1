"""Reading an ACD export, a roster and a forecast (contract §15): formats, time zones,
interval lengths, and a precise message for every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from staffer.settings import ConfigError
from staffer.sim.csvinput import InputError
from staffer.sim.from_history import HistoryInputs, load_day
from tests.unit.sim.history_files import CONFIG, INTERVALS, ROSTER, day_files, write

H = "interval_start,queue,offered,aht_s\n"
T0 = "2026-03-02T08:00:00Z"


def load(tmp: Path, intervals: str | bytes = INTERVALS, roster: str = ROSTER, **kw):
    i, r, c = day_files(tmp, "x", roster, CONFIG)
    write(tmp, "intervals.csv", intervals)
    return load_day(HistoryInputs(i, r, c, **kw))


def error(tmp: Path, intervals: str | bytes = INTERVALS, roster: str = ROSTER, **kw) -> str:
    with pytest.raises(ConfigError) as err:
        load(tmp, intervals, roster, **kw)
    return str(err.value)


def test_good_day_becomes_rates_per_interval(tmp_path: Path) -> None:
    sc, notes = load(tmp_path)
    assert [q.id for q in sc.site.queues] == ["phone", "chat"]  # email: not in the export
    assert sc.profile_interval_s == sc.report_interval_s == 1800
    assert sc.demand["phone"].rates_per_hour == [80.0, 120.0]
    # patience and targets from the config, not the export
    assert sc.site.queue("phone").patience_s == 120  # type: ignore[union-attr]
    # weighted by answered: (240*38 + 260*52) / 90
    assert sc.demand["phone"].aht_s == pytest.approx((240 * 38 + 260 * 52) / 90, abs=1e-3)
    assert sc.demand["phone"].aht_per_interval_s == [240.0, 260.0]
    # default forecast: the day's mean, flat
    assert sc.demand["phone"].forecast_per_hour == [100.0, 100.0]
    assert sc.actuals["phone"].abandoned == [2, 8]
    ids = {a: g for g in sc.agents for a in g.agent_ids()}
    assert set(ids) == {"ann", "bob", "cat", "dan", "eve"}
    assert ids["dan"].queue == "chat" and ids["dan"].shift_end_s == 3600
    assert ids["cat"].skills == ["phone", "chat"]
    assert notes == []


@pytest.mark.parametrize("minutes", [15, 30, 60])
def test_interval_lengths_and_missing_queue_intervals(tmp_path: Path, minutes: int) -> None:
    length = minutes * 60
    rows = [
        f"2026-03-02T08:00:00Z,phone,10,200,{length}",
        f"2026-03-02T08:00:00Z,chat,4,300,{length}",
    ]
    # phone has no row in the second interval (nobody called); chat has one
    t1 = f"2026-03-02T{8 + minutes // 60:02d}:{minutes % 60:02d}:00Z"
    rows.append(f"{t1},chat,6,300,{length}")
    sc, _ = load(
        tmp_path, "interval_start,queue,offered,aht_s,interval_s\n" + "\n".join(rows) + "\n"
    )
    assert sc.profile_interval_s == length
    per_hour = 3600 / length
    assert sc.demand["phone"].rates_per_hour == [10 * per_hour, 0.0]
    assert sc.demand["chat"].rates_per_hour == [4 * per_hour, 6 * per_hour]
    assert sc.demand["phone"].aht_per_interval_s == [200.0, 200.0]  # no contacts: the mean


def test_rows_per_queue_then_time_are_fine(tmp_path: Path) -> None:
    by_queue = H + "\n".join(
        [
            f"{T0},phone,1,200",
            "2026-03-02T08:30:00Z,phone,2,200",
            f"{T0},chat,3,300",
            "2026-03-02T08:30:00Z,chat,4,300",
        ]
    )
    sc, _ = load(tmp_path, by_queue + "\n")
    assert sc.demand["chat"].rates_per_hour == [6.0, 8.0]


def test_local_times_with_tz_and_offsets(tmp_path: Path) -> None:
    local = H + "2026-03-02 09:00,phone,1,200\n2026-03-02 09:00,chat,1,300\n"
    late = ROSTER.replace("08:00,09:00", "09:15,10:00")  # dan, local time
    sc, _ = load(tmp_path, local, late, tz="Europe/Amsterdam")
    utc = H + f"{T0},phone,1,200\n{T0},chat,1,300\n"
    assert sc.start_ts == load(tmp_path, utc, late.replace("09:15,10:00", ","))[0].start_ts
    assert sc.time_zone == "Europe/Amsterdam"
    dan = next(g for g in sc.agents if "dan" in g.agent_ids())
    assert (dan.shift_start_s, dan.shift_end_s) == (900, 3600)
    # RFC 3339 with an offset: reports show that offset
    offset = H + "2026-03-02T09:00:00+01:00,phone,1,200\n2026-03-02T09:00+01:00,chat,1,300\n"
    sc2, _ = load(tmp_path, offset, late)
    assert sc2.start_ts == sc.start_ts and sc2.time_zone is None
    assert sc2.start.utcoffset().total_seconds() == 3600  # type: ignore[union-attr]
    # HH:MM shift times are in that zone: dan's 08:00-09:00 is 07:00-08:00 UTC, before the day
    assert "shift_end: expected a time after the export's first interval" in error(tmp_path, offset)


def test_shift_formats(tmp_path: Path) -> None:
    roster = ROSTER + (
        "fay,phone,phone,08:30,00:30\n"  # a night shift: ends after midnight
        "gus,phone,phone,2026-03-02T08:15:00Z,2026-03-02T08:45:00Z\n"
        "hal,phone,phone,06:00,24:00\n"
    )
    sc, _ = load(tmp_path, roster=roster)
    g = {a: grp for grp in sc.agents for a in grp.agent_ids()}
    assert (g["fay"].shift_start_s, g["fay"].shift_end_s) == (1800, 16.5 * 3600)
    assert (g["gus"].shift_start_s, g["gus"].shift_end_s) == (900, 2700)
    assert (g["hal"].shift_start_s, g["hal"].shift_end_s) == (0, 16 * 3600)


def test_notes_for_what_is_not_used(tmp_path: Path) -> None:
    text = INTERVALS.replace("answered_within_target", "answered_within_target,sl_pct")
    text = "\n".join(line + ",0.8" if i else line for i, line in enumerate(text.splitlines()))
    text = text.replace(
        "2026-03-02T08:30:00Z,chat,14,420,13,1,11", "2026-03-02T08:30:00Z,chat,14,420,13,1,"
    )
    roster = ROSTER.replace("ann,phone,phone", "ann,phone;email,phone")
    config = CONFIG.replace("patience_s = 120\n", "")
    i, r, c = day_files(tmp_path, text + "\n", roster, config)
    sc, notes = load_day(HistoryInputs(i, r, c))
    text = "\n".join(notes)
    assert "ignored column(s) sl_pct" in text
    assert "chat: answered_within_target is blank on 1 row(s) (first line 5)" in text
    assert sc.actuals["chat"].answered_within_target is None
    assert "skill 'email' dropped from 1 agent(s)" in text
    assert "phone: the export has 10 abandons but patience_s is unset" in text


def test_semicolons_and_excel_bom(tmp_path: Path) -> None:
    text = "\ufeff" + INTERVALS.replace(",", ";")
    sc, _ = load(tmp_path, text.encode("utf-8"))
    assert sc.demand["chat"].rates_per_hour == [20.0, 28.0]


BAD_INTERVALS = [
    (b"", "intervals.csv: empty file (expected a header interval_start,queue,offered,aht_s"),
    (H, "intervals.csv: no data rows after the header"),
    (
        "interval_start,queue,offered\n2026-03-02T08:00:00Z,phone,4\n",
        "intervals.csv:1: missing column(s) aht_s (expected a header",
    ),
    (
        H + f"{T0},phone,-3,240\n",
        "intervals.csv:2: column offered: expected a whole number >= 0, got '-3'",
    ),
    (H + f"{T0},phone,2.5,240\n", "column offered: expected a whole number >= 0, got '2.5'"),
    (H + f"{T0},phone,3,-1\n", "intervals.csv:2: column aht_s: expected a number >= 0, got '-1'"),
    (
        H + f"{T0},sales,3,240\n",
        "intervals.csv:2: column queue: expected a queue of site main (phone, chat, email), "
        "got 'sales'",
    ),
    (
        H + "2026-03-02 08:00,phone,3,240\n",
        "intervals.csv:2: column interval_start: expected a time with a zone (local times need "
        "--tz ZONE), got '2026-03-02 08:00'",
    ),
    (
        H + "02/03/2026 08:00,phone,3,240\n",
        "column interval_start: expected RFC 3339 with a zone (2026-03-02T08:00:00+01:00) or "
        "YYYY-MM-DD HH:MM, got '02/03/2026 08:00'",
    ),
    (
        H + f"2026-03-02T08:30:00Z,phone,3,240\n{T0},phone,3,240\n",
        "intervals.csv:3: interval_start '2026-03-02T08:00:00Z' of queue phone is before line 2's "
        "'2026-03-02T08:30:00Z' (expected each queue's rows in time order)",
    ),
    (
        H + f"{T0},phone,3,240\n{T0},phone,3,240\n",
        "intervals.csv:3: interval '2026-03-02T08:00:00Z' of queue phone overlaps line 2's",
    ),
    (
        "interval_start,queue,offered,aht_s,interval_s\n"
        f"{T0},phone,3,240,3600\n2026-03-02T08:30:00Z,chat,3,240,3600\n",
        "intervals.csv:3: column interval_start: expected a start on the 60-minute grid from "
        "2026-03-02 08:00, got '2026-03-02T08:30:00Z'",
    ),
    (
        "interval_start,queue,offered,aht_s,interval_s\n"
        f"{T0},phone,3,240,900\n{T0},chat,3,240,1800\n",
        "intervals.csv:3: column interval_s: expected 900 like line 2 (one interval length per "
        "file), got '1800'",
    ),
    (
        H + f"{T0},phone,3\n",
        "intervals.csv:2: expected 4 fields (interval_start,queue,offered,aht_s)",
    ),
    (
        "interval_start,queue,offered,aht_s,answered,answered_within_target\n"
        f"{T0},phone,3,240,2,3\n",
        "column answered_within_target: expected at most answered (2), got '3'",
    ),
    (
        H.encode() + f"{T0},ph".encode() + b"\xe9ne,3,240\n",
        "intervals.csv:2: expected UTF-8 text",
    ),
    (
        H + f"{T0},phone,3,240\n2026-03-10T08:00:00Z,phone,3,240\n",
        "intervals.csv: the rows span 8.0 days (expected at most 7: split the export)",
    ),
]


@pytest.mark.parametrize(("text", "needle"), BAD_INTERVALS)
def test_bad_export_is_reported_by_line_and_column(
    tmp_path: Path, text: str | bytes, needle: str
) -> None:
    assert needle in error(tmp_path, text)


def test_every_bad_row_is_reported_not_just_the_first(tmp_path: Path) -> None:
    rows = [
        f"{T0},phone,x,240",  # line 2
        f"{T0},chat,1,-5",  # line 3
        "2026-03-02T08:30:00Z,sales,1,240",  # line 4
        "2026-03-02T08:30:00Z,chat,1",  # line 5
    ]
    lines = error(tmp_path, H + "\n".join(rows) + "\n").splitlines()
    assert lines[0] == "4 problems in the input:"
    assert [ln.split(": ")[0].rsplit("/", 1)[-1] for ln in lines[1:]] == [
        "intervals.csv:2",
        "intervals.csv:3",
        "intervals.csv:4",
        "intervals.csv:5",
    ]


def test_a_problem_on_every_row_is_listed_once(tmp_path: Path) -> None:
    rows = [f"2026-03-02T{8 + i // 2:02d}:{30 * (i % 2):02d}:00Z,phone,x{i},240" for i in range(30)]
    lines = error(tmp_path, H + "\n".join(rows) + "\n").splitlines()
    assert lines[0] == "30 problems in the input:"
    assert lines[1].endswith(
        "intervals.csv:2: column offered: expected a whole number >= 0, got 'x0'"
    )
    assert lines[2].endswith(
        "intervals.csv:3: column offered: expected a whole number >= 0, got 'x1'"
    )
    assert lines[3].endswith(
        "intervals.csv: the same on 28 more rows (lines 4, 5, 6, 7, 8, ... 31)"
    )
    assert len(lines) == 4


BAD_ROSTERS = [
    ("", "agents.csv: empty file (expected a header agent,skills,queue plus optional"),
    ("agent,queue\nann,phone\n", "agents.csv:1: missing column(s) skills"),
    (
        "agent,skills,queue\nann,phone\n",
        "agents.csv:2: expected 3 fields (agent,skills,queue), got 'ann,phone'",
    ),
    (
        "agent,skills,queue\nann,phone,phone\n",
        "agents.csv: no agent has skill 'chat' (expected at least one: ",
    ),
    (
        ROSTER + "ann,phone,phone,,\n",
        "agents.csv:7: column agent: expected a new agent id (first on line 2), got 'ann'",
    ),
    (
        ROSTER + "fay,sales,phone,,\n",
        "agents.csv:7: column skills: expected queue ids of the config (phone, chat, email), "
        "got 'sales'",
    ),
    (
        ROSTER + "fay,phone,chat,,\n",
        "agents.csv:7: column queue: expected one of the agent's skills, got 'chat'",
    ),
    (
        ROSTER + "fay,phone;email,email,,\n",
        "agents.csv:7: column queue: expected a queue with rows in",
    ),
    (ROSTER + "f y,phone,phone,,\n", "agents.csv:7: column agent: expected an agent id of 1-64"),
    (
        ROSTER + "fay,,phone,,\n",
        "agents.csv:7: column skills: expected queue ids separated by ; or |",
    ),
    (
        ROSTER + "fay,phone,phone,25:00,\n",
        "column shift_start: expected HH:MM between 00:00 and 24:00, got '25:00'",
    ),
    (
        ROSTER + "fay,phone,phone,06:00,07:30\n",
        "column shift_end: expected a time after the export's first interval (08:00)",
    ),
    (
        ROSTER + "fay,phone,phone,10:00,\n",
        "column shift_start: expected a time before the export's end (09:00)",
    ),
    (
        ROSTER + "fay,phone,phone,2026-03-02T09:00:00Z,2026-03-02T08:00:00Z\n",
        "column shift_end: expected a time after shift_start",
    ),
]


@pytest.mark.parametrize(("roster", "needle"), BAD_ROSTERS)
def test_bad_roster_is_reported(tmp_path: Path, roster: str, needle: str) -> None:
    assert needle in error(tmp_path, roster=roster)


def test_time_zone_problems(tmp_path: Path) -> None:
    gap = H + "2026-03-29 02:30,phone,3,240\n2026-03-29 02:30,chat,3,240\n"
    assert "expected a time that exists in Europe/Amsterdam (clocks skip it)" in error(
        tmp_path, gap, tz="Europe/Amsterdam"
    )
    assert error(tmp_path, tz="Mars/Base") == (
        "--tz: unknown time zone 'Mars/Base' (expected an IANA name such as Europe/Berlin)"
    )


def test_missing_file_and_site_choice(tmp_path: Path) -> None:
    i, r, c = day_files(tmp_path)
    with pytest.raises(InputError, match=r"nope\.csv: no such file"):
        load_day(HistoryInputs(tmp_path / "nope.csv", r, c))
    two = CONFIG + '\n[[sites]]\nid = "other"\n'
    write(tmp_path, "two.toml", two)
    with pytest.raises(ConfigError, match=r"several sites \(main, other\): choose one with --site"):
        load_day(HistoryInputs(i, r, tmp_path / "two.toml"))
    with pytest.raises(ConfigError, match="--site: no site 'x'"):
        load_day(HistoryInputs(i, r, tmp_path / "two.toml", site="x"))
    sc, _ = load_day(HistoryInputs(i, r, tmp_path / "two.toml", site="main"))
    assert sc.site.id == "main"


def test_forecast_is_resampled_onto_the_history_grid(tmp_path: Path) -> None:
    i, r, c = day_files(tmp_path)
    # a 60-minute forecast for a 30-minute export; chat missing from it
    fc = write(
        tmp_path,
        "fc.csv",
        f"interval_start,queue,offered,aht_s,interval_s\n{T0},phone,90,250,3600\n",
    )
    sc, notes = load_day(HistoryInputs(i, r, c, forecast=fc))
    assert sc.demand["phone"].forecast_per_hour == [90.0, 90.0]
    assert sc.demand["phone"].forecast_aht_s == [250.0, 250.0]
    assert sc.demand["chat"].forecast_per_hour == [0.0, 0.0]
    assert any("fc.csv: no rows for chat; its forecast is 0 all day" in n for n in notes)
    # the scheduled forecast the staffer policy loads carries those numbers
    assert "2026-03-02T08:30:00Z,phone,45,250" in sc.forecast_csv()
    write(tmp_path, "fc.csv", H + f"{T0},sales,1,200\n")
    with pytest.raises(
        InputError, match=r"fc.csv:2: column queue: expected a queue of site main \(phone, chat\)"
    ):
        load_day(HistoryInputs(i, r, c, forecast=fc))
