"""Latency trace hooks for the benchmark's daemon child (``STAFFER_BENCH_TRACE=FILE``).

``bench/daemon.py`` puts this directory on the child's ``PYTHONPATH`` when the variable is
set; Python imports ``sitecustomize`` at start-up, and these hooks wrap a few daemon
functions to note ``time.perf_counter()`` (CLOCK_MONOTONIC: comparable with the bench
process's clock) at each step of a plan's way out. The trace is written at exit as JSON
lines. Never imported by the daemon itself.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import pickle
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
    _trace_plans()
    _trace_jobs()
    _trace_store()
    _trace_publish()


def _trace_plans() -> None:
    import gc

    from staffer import runtime

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

    plan = runtime.Runtime.plan

    async def traced_plan(self, site, now):  # type: ignore[no-untyped-def]
        _note("runtime_plan", site.id)
        try:
            return await plan(self, site, now)
        finally:
            _note("runtime_plan_end", site.id)

    runtime.Runtime.plan = traced_plan  # type: ignore[method-assign]

    from staffer import routing

    dispatch = routing.Router.dispatch

    async def traced_dispatch(self, site, route, msg):  # type: ignore[no-untyped-def]
        if route.kind == "site_metrics":
            _note("site_snapshot", site.id)
        return await dispatch(self, site, route, msg)

    routing.Router.dispatch = traced_dispatch  # type: ignore[method-assign]


def _trace_jobs() -> None:
    """The daemon's periodic jobs: do they delay a plan (``job_*`` steps)?"""
    from staffer import app, runtime

    sweep = app.Daemon._sweep

    async def traced_sweep(self):  # type: ignore[no-untyped-def]
        _note("job_sweep_start")
        try:
            return await sweep(self)
        finally:
            _note("job_sweep_end")

    app.Daemon._sweep = traced_sweep  # type: ignore[method-assign]
    health = runtime.Runtime.health

    def traced_health(self, connected):  # type: ignore[no-untyped-def]
        _note("job_health_start")
        try:
            return health(self, connected)
        finally:
            _note("job_health_end")

    runtime.Runtime.health = traced_health  # type: ignore[method-assign]


def _trace_store() -> None:
    from staffer.adapters import store

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

    @contextlib.contextmanager
    def traced_transaction(conn):  # type: ignore[no-untyped-def]
        _note("txn_begin")
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            _note("txn_commit")
            conn.execute("COMMIT")
            _note("txn_committed")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    store.transaction = traced_transaction  # type: ignore[assignment]

    record_decision = store.StateStore.record_decision

    async def traced_record_decision(self, site, write):  # type: ignore[no-untyped-def]
        _note("decision_call", site)
        try:
            return await record_decision(self, site, write)
        finally:
            _note("decision_back", site)

    store.StateStore.record_decision = traced_record_decision  # type: ignore[method-assign]


def _trace_publish() -> None:
    from staffer.adapters.mqtt import AiomqttPort

    publish = AiomqttPort.publish

    async def traced_publish(self, topic, payload, **kw):  # type: ignore[no-untyped-def]
        if topic.endswith("/commands"):
            _note("publish", topic.split("/")[1])
        return await publish(self, topic, payload, **kw)

    AiomqttPort.publish = traced_publish  # type: ignore[method-assign]


if PATH:
    try:
        _install()
    except Exception as err:  # pragma: no cover - the benchmark then runs untraced
        print(f"trace hooks not installed: {err}")
    atexit.register(_dump)

if os.environ.get("STAFFER_BENCH_SWITCH_S"):  # experiment: the GIL's switch interval
    import sys

    sys.setswitchinterval(float(os.environ["STAFFER_BENCH_SWITCH_S"]))
