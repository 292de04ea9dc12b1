"""Fuzz the inbound payload decoders and the topic parser for a fixed time budget.

    .venv/bin/python bench/fuzz.py --seconds 60 [--seed N] [--json]

Two phases share the budget. First (``--hypothesis-share``, default a quarter) Hypothesis
generates structured inputs (generation phase only, no shrinking, no example database) in
rounds of ``--round`` examples; every input joins a corpus. Then a fast mutation loop
(plain ``random``, about 6,000 executions/s on one shared core) edits corpus entries:
structure-aware JSON edits (a key or item replaced by an interesting value, deleted or
added) and byte-level edits (bit flips, token and random-byte insertion, deletion,
truncation, splices with another input). The Hypothesis input families per decoder:

* raw bytes (any length up to 4 KiB, including invalid UTF-8);
* arbitrary JSON text (nested objects/arrays, huge and non-finite numbers, unicode and
  lone-surrogate escapes, deep nesting);
* near-valid payloads: a valid message of that kind with one or more fields replaced by
  an arbitrary JSON value, deleted, or with extra keys added;
* byte-level mutations (flip, insert, delete, truncate) of a valid payload.

Targets: ``decode_queue_snapshot``, ``decode_site_snapshot``, ``decode_agent_state``,
``decode_override_request``, ``Topics.parse`` (random and structured topics) and
``mqtt_wire``: a byte stream from the broker (random bytes, runs of valid packets, their
mutations), cut at a few input-derived offsets, read by the adapter's QoS 0 fast path
(``adapters.mqtt_wire`` behind ``mqtt_internals.hook_paho``) and by paho's own reader,
MQTT 5 and 3.1.1: the messages delivered and how reading ended must be the same. A
decoder may only return a value or raise ``PayloadError``; a returned value must satisfy
the contract's invariants (finite, non-negative counts and times, ``answered_within_target
<= answered``, re-encodable strings); ``Topics.parse`` may only return a Route or None, and
a Route must round-trip through the topic builders. Anything else is a failure, recorded
with its type and a sample input. The summary table goes to stdout; exit 1 on failures.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]  # tests.unit.adapters.wire_oracle

from staffer.codec import payloads  # noqa: E402
from staffer.codec.payloads import PayloadError  # noqa: E402
from staffer.codec.topics import Route, Topics  # noqa: E402
from staffer.core.types import AgentState, OverrideRequest, QueueSnapshot  # noqa: E402
from tests.unit.adapters import wire_oracle  # noqa: E402

TOPICS = Topics("staffer/fuzz")

VALID: dict[str, dict[str, Any]] = {
    "queue": {
        "ts": "2026-11-22T10:15:00Z",
        "interval_s": 60,
        "offered": 14,
        "waiting": 3,
        "answered": 12,
        "abandoned": 1,
        "answered_within_target": 10,
        "aht_s": 241.5,
        "oldest_wait_s": 34,
        "backlog": 4,
        "oldest_age_s": 300,
    },
    "site": {
        "ts": "2026-11-22T10:15:00+01:00",
        "queues": {
            "phone": {"interval_s": 60, "offered": 14, "waiting": 3, "aht_s": 240},
            "email": {
                "interval_s": 60,
                "offered": 2,
                "waiting": 0,
                "backlog": 41,
                "oldest_age_s": 5400,
            },
        },
    },
    "agent": {
        "ts": "2026-11-22T10:15:02Z",
        "status": "busy",
        "queue": "email",
        "skills": ["phone", "email"],
    },
    "override": {
        "id": "req-17",
        "action": "pin",
        "queue": "phone",
        "min": 20,
        "max": 30,
        "ttl_s": 3600,
        "reason": "marketing mail-out",
    },
}

# -- strategies --------------------------------------------------------------------------------

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "2026-11-22T10:15:00Z",
            "1969-12-31T23:59:59Z",
            "2200-12-31T23:59:60Z",
            "2026-11-22T10:15:00",
            "2026-02-30T00:00:00Z",
            "available",
            "phone",
            "",
            "\ud800",
            "NaN",
            "-0",
            "1e400",
        ]
    ),
)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=40,
)
KEYS = st.one_of(
    st.sampled_from(
        sorted(
            {k for v in VALID.values() for k in v} | {"queues", "interval_s", "offered", "waiting"}
        )
    ),
    st.text(max_size=10),
)


def _dumps(value: Any) -> bytes:
    """JSON text Python would write (NaN/Infinity literals included), UTF-8 or escaped."""
    try:
        return json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value).encode("ascii")


@st.composite
def near_valid(draw: st.DrawFn, kind: str) -> bytes:
    obj = json.loads(json.dumps(VALID[kind]))
    for _ in range(draw(st.integers(1, 4))):
        slot = obj
        queues = obj.get("queues") if kind == "site" else None
        if isinstance(queues, dict) and draw(st.booleans()):
            slot = queues.setdefault(draw(st.sampled_from(["phone", "email", "x"])), {})
            if not isinstance(slot, dict):
                break
        op = draw(st.sampled_from(["replace", "delete", "add"]))
        keys = list(slot)
        if op == "replace" and keys:
            slot[draw(st.sampled_from(keys))] = draw(JSON_VALUES)
        elif op == "delete" and keys:
            del slot[draw(st.sampled_from(keys))]
        else:
            slot[draw(KEYS)] = draw(JSON_VALUES)
    return _dumps(obj)


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> bytes:
    data = bytearray(_dumps(VALID[kind]))
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "dup"]))
        if op == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[i : i + draw(st.integers(1, 8))]
        elif op == "truncate":
            del data[i:]
        else:
            data[i:i] = data[i : i + draw(st.integers(1, 16))]
    return bytes(data)


@st.composite
def deep(draw: st.DrawFn) -> bytes:
    depth = draw(st.integers(1, 5000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    return (
        opener * depth
        + draw(st.sampled_from(["1", "[]", "{}", "NaN"]))
        + closer * draw(st.integers(0, depth))
    ).encode()


WIRE_SEED = b"".join(
    wire_oracle.encode_publish(b"staffer/fuzz/queues/phone/metrics", _dumps(VALID["queue"]), v5=v5)
    for v5 in (True, False)
)
WIRE = st.one_of(
    st.binary(max_size=512),
    st.lists(wire_oracle.packet(True), max_size=8).map(b"".join),
    st.lists(wire_oracle.packet(False), max_size=8).map(b"".join),
)


def seed_input(kind: str) -> bytes:
    """The valid input the mutation phase starts from."""
    return WIRE_SEED if kind == "wire" else _dumps(VALID[kind])


def payload_strategy(kind: str) -> st.SearchStrategy[bytes]:
    if kind == "wire":
        return WIRE
    return st.one_of(
        st.binary(max_size=4096),
        JSON_VALUES.map(_dumps),
        st.dictionaries(KEYS, JSON_VALUES, max_size=8).map(_dumps),
        near_valid(kind),
        near_valid(kind),
        mutated(kind),
        deep(),
    )


SEGMENT = st.one_of(
    st.sampled_from(
        [
            "main",
            "queues",
            "agents",
            "override",
            "metrics",
            "state",
            "reply",
            "+",
            "#",
            "",
            "fuzz",
            "staffer",
        ]
    ),
    st.text(max_size=12),
)
TOPIC = st.one_of(
    st.text(max_size=80),
    st.lists(SEGMENT, min_size=0, max_size=7).map(lambda xs: "/".join(["staffer", "fuzz", *xs])),
    st.lists(SEGMENT, min_size=1, max_size=7).map("/".join),
)

# -- invariants ---------------------------------------------------------------------------------


def _finite_nonneg(x: float | int | None) -> bool:
    return x is None or (not isinstance(x, bool) and math.isfinite(x) and x >= 0)


def _check_snapshot(s: QueueSnapshot) -> str | None:
    if not (math.isfinite(s.ts) and math.isfinite(s.interval_s) and s.interval_s > 0):
        return "bad ts/interval"
    for name in (
        "offered",
        "waiting",
        "answered",
        "abandoned",
        "answered_within_target",
        "backlog",
    ):
        v = getattr(s, name)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            return f"bad count {name}"
    for name in ("aht_s", "oldest_wait_s", "oldest_age_s"):
        if not _finite_nonneg(getattr(s, name)):
            return f"bad time {name}"
    if (
        s.answered is not None
        and s.answered_within_target is not None
        and s.answered_within_target > s.answered
    ):
        return "answered_within_target > answered"
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_agent(a: AgentState) -> str | None:
    if not math.isfinite(a.ts):
        return "bad ts"
    if a.status not in ("available", "busy", "wrap_up", "break", "offline"):
        return "bad status"
    if not all(isinstance(s, str) and s and _encodable(s) for s in a.skills):
        return "bad skill"
    if a.queue is not None and not (isinstance(a.queue, str) and _encodable(a.queue)):
        return "bad queue"
    return None


def _check_request(r: OverrideRequest) -> str | None:
    if r.ttl_s is not None and not (math.isfinite(r.ttl_s) and r.ttl_s > 0):
        return "bad ttl"
    if not isinstance(r.action, str) or not r.action:
        return "bad action"
    try:
        payloads.dumps({"id": r.id, "fields": r.fields, "reason": r.reason})
    except (ValueError, TypeError) as err:
        return f"not re-encodable: {type(err).__name__}"
    return None


def _route_round_trip(topic: str, r: Route) -> str | None:
    if r.kind == "site_metrics":
        built = TOPICS.site_metrics(r.site)
    elif r.kind == "queue_metrics":
        built = TOPICS.queue_metrics(r.site, r.queue or "")
    elif r.kind == "agent_state":
        built = TOPICS.agent_state(r.site, r.agent or "")
    else:
        built = TOPICS.override(r.site, r.supervisor or "")
    return None if built == topic else "route does not round-trip"


def _site(data: bytes) -> str | None:
    _ts, queues = payloads.decode_site_snapshot(data)
    if not math.isfinite(_ts):
        return "bad ts"
    for snap in queues.values():
        problem = _check_snapshot(snap)
        if problem:
            return problem
    return None


def _wire(data: bytes) -> str | None:
    rng = random.Random(zlib.crc32(data))
    chunks = wire_oracle.split(
        data, [rng.randrange(len(data) + 1) for _ in range(rng.randrange(5))]
    )
    for v5 in (True, False):
        if wire_oracle.read_with_hooks(chunks, v5) != wire_oracle.read_with_paho(chunks, v5):
            return f"the fast path differs from paho (MQTT {'5' if v5 else '3.1.1'})"
    return None


TARGETS: dict[str, tuple[str, Callable[[Any], str | None]]] = {
    "queue_snapshot": ("queue", lambda d: _check_snapshot(payloads.decode_queue_snapshot(d))),
    "site_snapshot": ("site", _site),
    "agent_state": ("agent", lambda d: _check_agent(payloads.decode_agent_state("a1", d))),
    "override_request": ("override", lambda d: _check_request(payloads.decode_override_request(d))),
    "mqtt_wire": ("wire", _wire),
}

# -- the run ------------------------------------------------------------------------------------


@dataclass
class Stats:
    executions: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)
    reasons: dict[str, Counter[str]] = field(default_factory=dict)
    failures: dict[tuple[str, str], tuple[int, bytes | str]] = field(default_factory=dict)

    corpus: dict[str, list[bytes]] = field(default_factory=dict)

    def keep(self, target: str, data: bytes, limit: int = 2000) -> None:
        """Reservoir of generated inputs, the seeds of the mutation phase."""
        pool = self.corpus.setdefault(target, [])
        if len(pool) < limit:
            pool.append(data)
        else:
            pool[random.randrange(limit)] = data

    def fail(self, target: str, what: str, sample: bytes | str) -> None:
        n, first = self.failures.get((target, what), (0, sample))
        self.failures[(target, what)] = (n + 1, first)


def execute(stats: Stats, target: str, fn: Callable[[Any], str | None], data: bytes) -> None:
    """One decoder call: PayloadError or an invariant-respecting value, else a finding."""
    stats.executions[target] += 1
    try:
        problem = fn(data)
    except PayloadError as err:
        stats.reasons.setdefault(target, Counter())[err.reason.split(":")[0]] += 1
        return
    except Exception as err:  # every other outcome is a finding
        stats.fail(target, type(err).__name__, data)
        return
    stats.accepted[target] += 1
    if problem:
        stats.fail(target, f"invariant: {problem}", data)


def parse_topic(stats: Stats, topic: str) -> None:
    target = "topic_parse"
    stats.executions[target] += 1
    try:
        route = TOPICS.parse(topic)
        if route is not None:
            stats.accepted[target] += 1
            problem = _route_round_trip(topic, route)
            if problem:
                stats.fail(target, f"invariant: {problem}", topic)
    except Exception as err:  # every other outcome is a finding
        stats.fail(target, type(err).__name__, topic)


TOKENS = [
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"1e999",
    b"-1",
    b"0",
    b"5.0",
    b"true",
    b"null",
    b'"\\ud800"',
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b":",
    b'"',
    b"\\",
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"9" * 40,
    b'"ts"',
    b'"queues"',
    b'"offered"',
    b'"skills"',
    b'"1969-12-31T23:59:59Z"',
    b'"2201-01-01T00:00:00Z"',
    b"[" * 64,
    b"{}" * 8,
]
SEP = b"/+#\x00"


def mutate(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    """A few random byte- or token-level edits, sometimes a splice with another input."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        i = rng.randint(0, len(buf))
        op = rng.randrange(8)
        if op == 0 and buf:
            buf[min(i, len(buf) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            buf[i:i] = rng.choice(TOKENS)
        elif op == 2:
            del buf[i : i + rng.randint(1, 16)]
        elif op == 3:
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 4 and pool:
            other = rng.choice(pool)
            j = rng.randint(0, len(other))
            buf = buf[:i] + other[j:]
        elif op == 5:
            buf[i:i] = buf[i : i + rng.randint(1, 32)]
        elif op == 6:
            buf[i:i] = bytes([rng.choice(SEP)])
        else:
            del buf[i:]
    return bytes(buf[:8192])


INTERESTING: list[Any] = [
    -1,
    0,
    1,
    10**9,
    10**9 + 1,
    10**30,
    5.0,
    0.5,
    -0.0,
    1e308,
    float("nan"),
    float("inf"),
    True,
    False,
    None,
    "",
    "x" * 300,
    "\ud800",
    [],
    {},
    [[]],
    {"a": {}},
    "2026-11-22T10:15:00Z",
    "2201-01-01T00:00:00Z",
    "1970-01-01T00:00:00+14:00",
    "phone",
    "available",
    ["phone", 1],
    "replan",
    "pin",
]


def mutate_json(rng: random.Random, data: bytes) -> bytes | None:
    """Structure-aware edit: parse, change/delete/add one key or item, dump again."""
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        return None
    node = obj
    for _ in range(rng.randint(0, 3)):
        kids = (
            list(node.values())
            if isinstance(node, dict)
            else node
            if isinstance(node, list)
            else []
        )
        kids = [k for k in kids if isinstance(k, dict | list)]
        if not kids:
            break
        node = rng.choice(kids)
    value = rng.choice(INTERESTING)
    if isinstance(node, dict):
        keys = list(node)
        if keys and rng.random() < 0.3:
            del node[rng.choice(keys)]
        elif keys and rng.random() < 0.8:
            node[rng.choice(keys)] = value
        else:
            node[rng.choice(["ts", "queues", "offered", "skills", "id", "zz", ""])] = value
    elif isinstance(node, list):
        if node and rng.random() < 0.5:
            node[rng.randrange(len(node))] = value
        else:
            node.append(value)
    else:
        obj = value
    return _dumps(obj)


SEGMENTS = [
    "main",
    "queues",
    "agents",
    "override",
    "metrics",
    "state",
    "reply",
    "+",
    "#",
    "",
    "\x00",
    "a" * 257,
    "ü",
    "phone",
    "staffer",
    "fuzz",
]


def mutate_segments(rng: random.Random, data: bytes) -> bytes:
    """Topic-aware edit: replace, insert or drop one level."""
    parts = data.decode("utf-8", "replace").split("/")
    i = rng.randrange(len(parts) + 1)
    op = rng.randrange(3)
    if op == 0 and i < len(parts):
        parts[i] = rng.choice(SEGMENTS)
    elif op == 1:
        parts.insert(i, rng.choice(SEGMENTS))
    elif i < len(parts) and len(parts) > 1:
        del parts[i]
    return "/".join(parts).encode()


def run_mutations(stats: Stats, rng: random.Random, until: float) -> None:
    """Fast phase: mutate the corpus (plus the valid messages) until the deadline."""
    seeds = {t: [seed_input(k)] for t, (k, _fn) in TARGETS.items()}
    seeds["topic_parse"] = [
        TOPICS.queue_metrics("main", "phone").encode(),
        TOPICS.agent_state("main", "a1").encode(),
        TOPICS.override("main", "alice").encode(),
        TOPICS.site_metrics("main").encode(),
    ]
    targets = [*TARGETS, "topic_parse"]
    n = 0
    while True:
        if n % 256 == 0 and time.monotonic() >= until:
            return
        n += 1
        target = targets[n % len(targets)]
        pool = stats.corpus.get(target, []) + seeds[target]
        base = rng.choice(pool)
        if target == "topic_parse" and rng.random() < 0.5:
            data = mutate_segments(rng, base)
        else:
            data = (mutate_json(rng, base) if rng.random() < 0.5 else None) or mutate(
                rng, base, pool
            )
        if target == "topic_parse":
            parse_topic(stats, data.decode("utf-8", "replace"))
        else:
            execute(stats, target, TARGETS[target][1], data)


def run_round(stats: Stats, target: str, examples: int, round_seed: int) -> None:
    cfg = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        derandomize=False,
        suppress_health_check=list(HealthCheck),
    )
    if target == "topic_parse":

        @cfg
        @given(topic=TOPIC)
        def body(topic: str) -> None:
            stats.keep(target, topic.encode("utf-8", "surrogatepass"))
            parse_topic(stats, topic)
    else:
        kind, fn = TARGETS[target]

        @cfg
        @given(data=payload_strategy(kind))
        def body(data: bytes) -> None:
            stats.keep(target, data)
            execute(stats, target, fn, data)

    seed(round_seed)(body)()


def _progress(stats: Stats, t0: float, phase: str) -> None:
    print(
        f"[fuzz] {time.monotonic() - t0:6.1f}s {phase:<10} "
        f"{sum(stats.executions.values()):>9} executions, "
        f"{len(stats.failures)} failure type(s)",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    logging.getLogger("staffer.mqtt").setLevel(logging.ERROR)  # mqtt_wire: non-UTF-8 topics
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="time budget (default 60)")
    ap.add_argument("--seed", type=int, default=None, help="reproducible run")
    ap.add_argument("--round", type=int, default=100, help="examples per hypothesis round")
    ap.add_argument(
        "--hypothesis-share",
        type=float,
        default=0.25,
        help="fraction of the budget for hypothesis generation (default 0.25)",
    )
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    stats = Stats()
    targets = [*TARGETS, "topic_parse"]
    t0 = time.monotonic()
    rounds = 0
    # phase 1 (a quarter of the budget): structured generation with hypothesis
    while time.monotonic() - t0 < args.seconds * args.hypothesis_share:
        target = targets[rounds % len(targets)]
        run_round(stats, target, args.round, rng.getrandbits(64))
        rounds += 1
        if rounds % len(targets) == 0:
            _progress(stats, t0, "hypothesis")
    # phase 2: fast mutation of what phase 1 generated
    end = t0 + args.seconds
    while time.monotonic() < end:
        run_mutations(stats, rng, min(end, time.monotonic() + 5.0))
        _progress(stats, t0, "mutation")
    elapsed = time.monotonic() - t0
    total = sum(stats.executions.values())
    if args.json:
        print(
            json.dumps(
                {
                    "seconds": round(elapsed, 1),
                    "executions": total,
                    "hypothesis_rounds": rounds,
                    "per_target": {
                        t: {
                            "executions": stats.executions[t],
                            "accepted": stats.accepted[t],
                            "rejected_by_reason": dict(stats.reasons.get(t, {})),
                        }
                        for t in targets
                    },
                    "failures": [
                        {"target": t, "type": w, "count": n, "sample": repr(s)[:300]}
                        for (t, w), (n, s) in sorted(stats.failures.items())
                    ],
                }
            )
        )
    else:
        print(
            f"fuzz: {total} executions in {elapsed:.1f} s ({total / elapsed:,.0f}/s); "
            f"{rounds} hypothesis rounds, then mutation"
        )
        print(
            f"{'target':<18} {'executions':>11} {'accepted':>9} {'rejected':>9}  "
            f"top rejection reasons"
        )
        for t in targets:
            top = ", ".join(f"{r} {n}" for r, n in stats.reasons.get(t, Counter()).most_common(4))
            rej = sum(stats.reasons.get(t, Counter()).values())
            print(f"{t:<18} {stats.executions[t]:>11} {stats.accepted[t]:>9} {rej:>9}  {top}")
        kinds = sorted({w for _t, w in stats.failures})
        print(
            f"distinct failure types: {len(kinds)}"
            + (f" ({', '.join(kinds)})" if kinds else " (only PayloadError / None)")
        )
        for (t, w), (n, s) in sorted(stats.failures.items()):
            print(f"  FAIL {t}: {w} x{n}; sample {s!r:.200}")
    return 1 if stats.failures else 0


if __name__ == "__main__":
    sys.exit(main())
