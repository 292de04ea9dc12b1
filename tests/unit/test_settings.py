"""Configuration loading: defaults, TOML, env overrides and one-line errors."""

from pathlib import Path

import pytest

from staffer.cli import main
from staffer.settings import ConfigError, load_settings, settings_from_dict


def test_defaults_have_three_contract_queues() -> None:
    s = settings_from_dict({}, env={})
    assert [q.id for q in s.sites[0].queues] == ["phone", "chat", "email"]
    assert [q.channel for q in s.sites[0].queues] == ["voice", "chat", "email"]
    assert s.mqtt.url == "mqtt://127.0.0.1:1883"
    assert s.planner.clock == "wall"


def test_env_overrides_typed_values() -> None:
    s = settings_from_dict(
        {},
        env={
            "STAFFER_PLANNER__INTERVAL_S": "60",
            "STAFFER_PLANNER__CLOCK": "event",
            "STAFFER_MQTT__URL": "mqtt://broker:1884",
            "UNRELATED": "x",
        },
    )
    assert s.planner.interval_s == 60.0
    assert s.planner.clock == "event"
    assert s.mqtt.url == "mqtt://broker:1884"


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"STAFFER_FOO__BAR": "1"}, "environment variable STAFFER_FOO__BAR: foo: unknown key"),
        ({"STAFFER_MQTT__PORTX": "1"}, "environment variable STAFFER_MQTT__PORTX: mqtt.portx"),
        ({"STAFFER_PLANNER__INTERVAL_S": "-5"}, "environment variable STAFFER_PLANNER__INTERVAL_S"),
    ],
)
def test_a_bad_environment_override_is_blamed_on_the_variable_not_the_file(
    tmp_path: Path, env: dict[str, str], needle: str
) -> None:
    cfg = tmp_path / "staffer.toml"
    cfg.write_text('[planner]\nmode = "shadow"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, env=env)
    assert str(err.value) == needle or str(err.value).startswith(needle)
    assert str(cfg) not in str(err.value)
    cfg.write_text("[planner]\ninterval_s = -5\n")  # the file's own mistake names the file
    with pytest.raises(ConfigError, match=f"^{cfg}: planner.interval_s"):
        load_settings(cfg, env={})


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"planner": {"interval_s": -1}}, "planner.interval_s"),
        ({"planner": {"bogus": 1}}, "planner.bogus: unknown key"),
        ({"mqtt": {"url": "http://x"}}, "mqtt.url"),
        (
            {"sites": [{"id": "a", "queues": [{"id": "q", "channel": "fax"}]}]},
            "sites.0.queues.0.channel",
        ),
        ({"sites": [{"id": "a"}, {"id": "a"}]}, "duplicate site"),
        (
            {
                "sites": [
                    {
                        "id": "a",
                        "queues": [{"id": "q", "channel": "voice"}, {"id": "q", "channel": "chat"}],
                    }
                ]
            },
            "duplicate queue",
        ),
    ],
)
def test_invalid_config_names_the_key(data: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings_from_dict(data, env={})
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_check_config_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[planner]\ninterval_s = 120\n[[sites]]\nid = "main"\n')
    assert main(["check-config", str(good)]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[planner]\nmode = "turbo"\n')
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "planner.mode" in err and "Traceback" not in err
    assert main(["check-config", str(tmp_path / "missing.toml")]) == 2


def test_load_settings_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_settings(tmp_path / "nope.toml", env={})
