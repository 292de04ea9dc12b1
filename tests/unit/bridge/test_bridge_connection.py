"""How ``Bridge.__aenter__`` fails: at once for a file that cannot be read, with the last
attempt's reason on timeout, and never leaving its reconnect loop running behind it."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from staffer.bridge import Bridge, BridgeConnectionError
from tests.conftest import free_port


@pytest.mark.parametrize(
    ("url", "kw"),
    [
        ("mqtt://127.0.0.1:{port}", {"username": "u", "password_file": "missing/pw"}),
        ("mqtts://127.0.0.1:{port}", {"ca_file": "missing/ca.pem"}),
        ("mqtts://127.0.0.1:{port}", {"cert_file": "missing/c.pem", "key_file": "missing/k"}),
    ],
)
async def test_a_missing_file_fails_at_once_naming_it(
    tmp_path: Path, url: str, kw: dict[str, str]
) -> None:
    files = {k: tmp_path / v if k.endswith("_file") else v for k, v in kw.items()}
    b = Bridge(url.format(port=free_port()), "main", connect_timeout_s=10, **files)  # type: ignore[arg-type]
    started = time.monotonic()
    with pytest.raises(BridgeConnectionError) as err:
        await b.__aenter__()
    assert time.monotonic() - started < 1.0
    name = next(k for k in kw if k.endswith("_file"))
    assert f"cannot read {name} {files[name]}: No such file or directory" == str(err.value)
    assert b._task is None  # nothing was started


async def test_an_unused_tls_file_is_not_required(tmp_path: Path) -> None:
    """A ``ca_file`` with an ``mqtt://`` URL is never read, so it is not checked either."""
    b = Bridge(
        f"mqtt://127.0.0.1:{free_port()}", "main", ca_file=tmp_path / "no", connect_timeout_s=0.3
    )
    with pytest.raises(BridgeConnectionError, match=r"within 0\.3 s"):
        await b.__aenter__()


async def test_the_timeout_says_why_the_last_attempt_failed() -> None:
    port = free_port()
    with pytest.raises(BridgeConnectionError) as err:
        async with Bridge(f"mqtt://127.0.0.1:{port}", "main", connect_timeout_s=0.5):
            pass
    text = str(err.value)
    assert text.startswith(
        f"no MQTT connection within 0.5 s (cannot connect to mqtt://127.0.0.1:{port}: "
    )
    assert "refused" in text.lower(), text


async def test_a_cancelled_enter_stops_reconnecting(caplog: pytest.LogCaptureFixture) -> None:
    """``asyncio.wait_for(b.__aenter__(), t)`` shorter than ``connect_timeout_s``."""
    b = Bridge(
        f"mqtt://127.0.0.1:{free_port()}",
        "main",
        reconnect_min_s=0.05,
        reconnect_max_s=0.05,
        connect_timeout_s=30,
    )
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(b.__aenter__(), 0.3)
    with caplog.at_level(logging.DEBUG):
        caplog.clear()
        await asyncio.sleep(0.5)  # ten attempts' worth
    assert not [r for r in caplog.records if "cannot connect" in r.getMessage()]
    assert b._task is None
