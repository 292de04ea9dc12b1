"""``staffer run``'s event loop (uvloop when the ``fast`` extra is installed), logged once
the daemon is up, and the start-up ``gc.freeze``."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys

import pytest

from staffer.cli import run


def test_uvloop_is_used_when_importable_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    uvloop = pytest.importorskip("uvloop")
    factory = run.event_loop_factory()
    assert factory is uvloop.new_event_loop
    try:
        with asyncio.Runner(loop_factory=factory) as runner, caplog.at_level(logging.INFO):

            async def up() -> object:
                run.on_ready(None)
                return asyncio.get_running_loop()

            assert isinstance(runner.run(up()), uvloop.Loop)
    finally:
        gc.unfreeze()
    assert [r.getMessage() for r in caplog.records] == [f"event loop: uvloop {uvloop.__version__}"]


def test_without_uvloop_asyncio_is_used_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop -> ImportError
    assert run.event_loop_factory() is None

    async def name() -> str:
        return run.event_loop_name()

    assert asyncio.run(name()).startswith("asyncio")


def test_start_up_objects_are_frozen_out_of_the_collector() -> None:
    async def up() -> None:
        run.on_ready(None)

    try:
        gc.unfreeze()
        kept = [object() for _ in range(10)]
        asyncio.run(up())
        assert gc.get_freeze_count() >= len(kept)
    finally:
        gc.unfreeze()
