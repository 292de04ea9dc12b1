"""The Prometheus text exposition of a registry, byte for byte ``generate_latest``'s, faster.

``prometheus_client.generate_latest`` builds a ``Metric`` and a ``Sample`` (with a label
dict) for every series, then sorts, escapes and formats each one, at every scrape: ~20 ms
for the daemon's ~4,600 series of 100 sites. `TextExposition.render` reads the values
of plain ``Gauge``, ``Counter`` and ``Histogram`` families straight from their children
and keeps each series' formatted name and labels between scrapes, so a scrape formats
only the values. Everything else (``Info``, other collectors, ``*_created`` series when
they are on, a registry with target info) is rendered by ``generate_latest`` itself, one
collector at a time, in the registry's order. The formatting helpers are the library's
own (``floatToGoString``, its escaping), so the bytes are the same
(``tests/unit/adapters/test_metrics_text.py`` compares them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import prometheus_client.metrics as prom_metrics
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics import exposition as om
from prometheus_client.utils import floatToGoString

_ESCAPING = om.UNDERSCORES  # generate_latest's default
_MAX_CACHED_VALUES = 4096


def _go(v: float, cache: dict[float, str]) -> str:
    """``floatToGoString(v)``, cached for the values that repeat (not 0.0/-0.0, not NaN)."""
    s = cache.get(v)
    if s is None:
        s = floatToGoString(v)
        if v == v and v != 0.0:
            if len(cache) >= _MAX_CACHED_VALUES:
                cache.clear()
            cache[v] = s
    return s


def _series(name: str, labels: Iterable[tuple[str, str]]) -> str:
    """``name{a="x",b="y"} `` as ``generate_latest`` writes it (labels sorted by name)."""
    escape: Any = om._escape  # called as generate_latest calls it (no rune check)
    pairs = ",".join(
        f'{om.escape_label_name(k, _ESCAPING)}="{escape(v, om.ALLOWUTF8, False)}"'
        for k, v in sorted(labels)
    )
    metric = om.escape_metric_name(name, _ESCAPING)
    return f"{metric}{{{pairs}}} " if pairs else f"{metric} "


class _One:
    """One collector as a registry (``generate_latest`` reads ``collect()`` only)."""

    def __init__(self, collector: Any) -> None:
        self._collector = collector

    def collect(self) -> Any:
        return self._collector.collect()


class TextExposition:
    """Renders ``registry`` like ``generate_latest(registry)``; keep one per registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry
        self._headers: dict[Any, str] = {}
        self._series: dict[Any, dict[tuple[str, ...], Any]] = {}
        self._values: dict[float, str] = {}

    def render(self) -> bytes:
        """The text exposition (format 0.0.4), UTF-8."""
        reg = self._registry
        with reg._lock:
            collectors = list(reg._collector_to_names)
            target_info = reg._target_info
        if target_info:
            return generate_latest(reg)
        plain = not prom_metrics._use_created
        out: list[str] = []
        for c in collectors:
            kind = type(c)
            if kind is Gauge or (plain and kind is Counter):
                self._scalar(c, out)
            elif plain and kind is Histogram:
                self._histogram(c, out)
            else:
                out.append(generate_latest(_One(c)).decode("utf-8"))
        return "".join(out).encode("utf-8")

    def _header(self, c: Any, name: str) -> str:
        head = self._headers.get(c)
        if head is None:
            doc = c._documentation.replace("\\", r"\\").replace("\n", r"\n")
            metric = om.escape_metric_name(name, _ESCAPING)
            head = self._headers[c] = f"# HELP {metric} {doc}\n# TYPE {metric} {c._type}\n"
        return head

    def _children(self, c: Any) -> tuple[dict[tuple[str, ...], Any], list[tuple[Any, Any]]]:
        with c._lock:
            children = list(c._metrics.items())
        cache = self._series.setdefault(c, {})
        if len(cache) > 2 * len(children) + 64:  # series removed since: start afresh
            cache.clear()
        return cache, children

    def _scalar(self, c: Any, out: list[str]) -> None:
        """A gauge (``name``) or counter (``name_total``): one sample per series."""
        name = c._name + ("_total" if c._type == "counter" else "")
        out.append(self._header(c, name))
        values = self._values
        if not c._labelnames:
            out.append(f"{_series(name, ())}{_go(c._value.get(), values)}\n")
            return
        cache, children = self._children(c)
        names = c._labelnames
        for labels, child in children:
            prefix = cache.get(labels)
            if prefix is None:
                prefix = cache[labels] = _series(name, zip(names, labels, strict=True))
            out.append(f"{prefix}{_go(child._value.get(), values)}\n")

    def _histogram(self, c: Any, out: list[str]) -> None:
        """Cumulative ``_bucket{le}`` series, ``_count`` and (bounds >= 0) ``_sum``."""
        out.append(self._header(c, c._name))
        values = self._values
        if not c._labelnames:
            self._histogram_values(self._histogram_prefixes(c._name, [], c), c, out, values)
            return
        cache, children = self._children(c)
        for labels, child in children:
            prefixes = cache.get(labels)
            if prefixes is None:
                pairs = list(zip(c._labelnames, labels, strict=True))
                prefixes = cache[labels] = self._histogram_prefixes(c._name, pairs, child)
            self._histogram_values(prefixes, child, out, values)

    @staticmethod
    def _histogram_prefixes(name: str, pairs: list[tuple[str, str]], child: Any) -> list[str]:
        bucket = name + "_bucket"
        out = [_series(bucket, [*pairs, ("le", floatToGoString(b))]) for b in child._upper_bounds]
        out.append(_series(name + "_count", pairs))
        if child._upper_bounds[0] >= 0:
            out.append(_series(name + "_sum", pairs))
        return out

    @staticmethod
    def _histogram_values(
        prefixes: list[str], child: Any, out: list[str], values: dict[float, str]
    ) -> None:
        acc = 0.0
        n = len(child._upper_bounds)
        for i in range(n):
            acc += child._buckets[i].get()
            out.append(f"{prefixes[i]}{_go(acc, values)}\n")
        out.append(f"{prefixes[n]}{_go(acc, values)}\n")
        if len(prefixes) > n + 1:
            out.append(f"{prefixes[n + 1]}{_go(child._sum.get(), values)}\n")
