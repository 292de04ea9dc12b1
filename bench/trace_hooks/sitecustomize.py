"""Latency trace hooks for the benchmark's daemon child (``STAFFER_BENCH_TRACE=FILE``).

``bench/daemon.py`` puts this directory on the child's ``PYTHONPATH`` when the variable is
set; Python imports ``sitecustomize`` at start-up, and these hooks wrap a few daemon
functions to note ``time.perf_counter()`` (CLOCK_MONOTONIC: comparable with the bench
process's clock) at each step of a plan's way out. The trace is written at exit as JSON
lines. Never imported by the daemon itself.
"""

from __future__ import annotations

import atexit
import json
import os
import pickle
import threading
import time

PATH = os.environ.get("STAFFER_BENCH_TRACE")
EVENTS: list[tuple[str, float, str]] = []  # (step, perf_counter, key)
CAPTURE = os.environ.get("STAFFER_BENCH_CAPTURE")  # FILE: pickled plan_site inputs
CAPTURED: list[bytes] = []


def _note(step: str, key: str = "") -> None:
    EVENTS.append((step, time.perf_counter(), key))


def _dump() -> None:
    if CAPTURE:
        with open(CAPTURE, "wb") as fh:
            pickle.dump(CAPTURED, fh)
    if PATH:
        with open(PATH, "w", encoding="utf-8") as fh:
            for step, t, key in EVENTS:
                fh.write(json.dumps([step, t, key]) + "\n")


def _install() -> None:
    import gc

    from staffer import runtime
    from staffer.adapters import outbox, store
    from staffer.adapters.mqtt import AiomqttPort

    def gc_cb(phase: str, info: dict) -> None:
        _note(f"gc_{phase}", str(info.get("generation")))

    gc.callbacks.append(gc_cb)

    plan_site = runtime.plan_site

    def traced_plan_site(site, planner, state, controls, flights, now, plan_id):  # type: ignore[no-untyped-def]
        key = f"{site.id}@{now}"
        if CAPTURE:  # the exact inputs, for bench/plan_path.py (slows the plan's way out)
            CAPTURED.append(
                pickle.dumps((site, planner, state, controls, dict(flights), now, plan_id))
            )
        _note("plan_start", key)
        try:
            return plan_site(site, planner, state, controls, flights, now, plan_id)
        finally:
            _note("plan_end", key)

    runtime.plan_site = traced_plan_site  # type: ignore[assignment]

    for name in (
        "_op_record_decision",
        "_op_save_plan",
        "_op_drop_pending_commands",
        "_op_remove_in_flight",
        "_op_record_move_ack",
        "_op_save_proposals",
    ):
        fn = getattr(store.StateStore, name)

        def wrapped(self, site, *a, __fn=fn, __name=name):  # type: ignore[no-untyped-def]
            _note(f"{__name}_start", str(site))
            try:
                return __fn(self, site, *a)
            finally:
                _note(f"{__name}_end", str(site))

        setattr(store.StateStore, name, wrapped)

    publish = AiomqttPort.publish

    async def traced_publish(self, topic, payload, **kw):  # type: ignore[no-untyped-def]
        if topic.endswith("/commands"):
            _note("publish", topic.split("/")[1])
        return await publish(self, topic, payload, **kw)

    AiomqttPort.publish = traced_publish  # type: ignore[method-assign]
    _ = outbox, threading


if PATH:
    try:
        _install()
    except Exception as err:  # pragma: no cover - the benchmark then runs untraced
        print(f"trace hooks not installed: {err}")
    atexit.register(_dump)

if os.environ.get("STAFFER_BENCH_SWITCH_S"):  # experiment: the GIL's switch interval
    import sys

    sys.setswitchinterval(float(os.environ["STAFFER_BENCH_SWITCH_S"]))
