"""``staffer run``'s event loop (uvloop when the ``fast`` extra is installed) and the
start-up ``gc.freeze``."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys

import pytest

from staffer.cli import run


def test_uvloop_is_used_when_importable_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    uvloop = pytest.importorskip("uvloop")
    with caplog.at_level(logging.INFO, "staffer"):
        factory = run.event_loop_factory()
    assert factory is uvloop.new_event_loop
    assert [r.getMessage() for r in caplog.records] == [f"event loop: uvloop {uvloop.__version__}"]
    with asyncio.Runner(loop_factory=factory) as runner:
        assert runner.run(asyncio.sleep(0, "ran")) == "ran"
        assert isinstance(runner.get_loop(), uvloop.Loop)


def test_without_uvloop_asyncio_is_used_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop -> ImportError
    with caplog.at_level(logging.INFO, "staffer"):
        assert run.event_loop_factory() is None
    assert "event loop: asyncio" in caplog.text


def test_start_up_objects_are_frozen_out_of_the_collector() -> None:
    try:
        gc.unfreeze()
        kept = [object() for _ in range(10)]
        run.freeze_start_up(None)
        assert gc.get_freeze_count() >= len(kept)
    finally:
        gc.unfreeze()
