"""Metrics of an engine in the Prometheus text exposition format (version 0.0.4), with no
dependency.

Each ``Engine`` owns one ``EngineMetrics``. Counting must cost the step loop nothing it can
measure: a counter is a plain int attribute that the engine increments with ``+= 1``
(``metrics.steps += 1``), a counter with a label is a dict of such ints, and the two
histograms are observed once per commit transaction, not per step. Everything else is done
at scrape time by ``render``, which reads the counters as they are (a scrape between two
increments sees one or the other; nothing needs a lock on a single thread's ints).

The isolates-by-status gauge comes from the store (``count_isolates``: one indexed GROUP BY)
and is cached for ``COUNTS_TTL`` seconds, so a scrape storm does not scan the table.

    deepslate_isolates{status}                  gauge      isolates in the store by status
    deepslate_steps_total                       counter    durable steps committed
    deepslate_commit_batch_size                 histogram  commits per transaction
    deepslate_commit_seconds                    histogram  time to write one transaction
    deepslate_ingress_requests_total{code}      counter    HTTP ingress answers by status code
    deepslate_impure_calls_total                counter    @impure calls started (retries too)
    deepslate_impure_retries_total              counter    @impure calls run again after a failure
    deepslate_impure_failures_total             counter    @impure calls that failed for good
    deepslate_http_requests_total{outcome}      counter    http_request effects by outcome
    deepslate_isolates_finished_total{status}   counter    isolates ended here (done, failed, cancelled)
    deepslate_requests_total{verb,ok}           counter    operator requests applied here
    deepslate_purged_isolates_total             counter    isolates deleted by retention here
    deepslate_engine_paused                     gauge      1 once a store fault stopped the engine

Rejected: prometheus_client (a dependency for a dozen numbers, and its counters take a lock
on every increment); counting in the store (a write per scrape, or a scan).
"""
from __future__ import annotations

import bisect
import math
import time
import weakref
from typing import TYPE_CHECKING, Any, Iterable

from ..store.base import Store, StoreError
from .info import STATUSES

if TYPE_CHECKING:
    from .doors import Platform

COUNTS_TTL = 1.0            # seconds a store's isolate counts are reused between scrapes
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# commits per transaction: one isolate alone commits 1, group commit under load up to commit_batch
BATCH_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0)
# a transaction is one fsync on SQLite: tens of microseconds on a fast disk to tens of ms on a busy one
SECONDS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

# http_request outcomes (httpclient.outcome_of)
HTTP_OUTCOMES = ("ok", "status", "unreachable", "timeout", "error")


class Histogram:
    """Fixed buckets; ``observe`` is a bisect and three additions."""
    __slots__ = ("bounds", "counts", "sum", "count")

    def __init__(self, bounds: Iterable[float]):
        self.bounds = tuple(float(b) for b in bounds)
        if list(self.bounds) != sorted(set(self.bounds)) or not self.bounds:
            raise ValueError(f"histogram bounds must be increasing, not {self.bounds}")
        self.counts = [0] * (len(self.bounds) + 1)      # the last one: above every bound (+Inf)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        # bucket i holds values <= bounds[i] (Prometheus' "le")
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def cumulative(self) -> list[tuple[str, int]]:
        """(le, count of observations <= le) for every bucket, +Inf last."""
        out, total = [], 0
        for bound, n in zip((*self.bounds, math.inf), self.counts):
            total += n
            out.append((_number(bound), total))
        return out


class EngineMetrics:
    """The counters of one engine. The engine bumps the attributes directly."""
    __slots__ = ("steps", "impure_calls", "impure_retries", "impure_failures", "purged", "ingress",
                 "http_requests", "finished", "requests", "commit_batch_size", "commit_seconds", "counts")

    def __init__(self) -> None:
        self.steps = 0
        self.impure_calls = 0
        self.impure_retries = 0
        self.impure_failures = 0
        self.purged = 0
        self.ingress: dict[int, int] = {}                                  # status code -> answers
        self.http_requests: dict[str, int] = dict.fromkeys(HTTP_OUTCOMES, 0)
        self.finished: dict[str, int] = {"done": 0, "failed": 0, "cancelled": 0}
        self.requests: dict[tuple[str, bool], int] = {}                  # (verb, ok) -> applied
        self.commit_batch_size = Histogram(BATCH_BUCKETS)
        self.commit_seconds = Histogram(SECONDS_BUCKETS)
        self.counts = CountsCache()


class CountsCache:
    """A store's isolate counts, reused for ``COUNTS_TTL`` seconds."""
    __slots__ = ("at", "counts")

    def __init__(self) -> None:
        self.at = -math.inf
        self.counts: dict[str, int] = {}

    def get(self, store: Store) -> dict[str, int]:
        now = time.monotonic()
        if now - self.at >= COUNTS_TTL:
            self.counts = store.count_isolates()
            self.at = now
        return self.counts


# counts of stores rendered without an engine (the inspector of a store from the command line)
_store_counts: "weakref.WeakKeyDictionary[Store, CountsCache]" = weakref.WeakKeyDictionary()


def render(engine_or_store: Any) -> str:
    """The metrics text of an engine (its counters and its store's isolates), or of a store
    alone (its isolates by status), in the Prometheus text format 0.0.4. Serve it with
    ``CONTENT_TYPE``."""
    engine: Any = None
    if isinstance(engine_or_store, Store):
        store: Store = engine_or_store
        cache = _store_counts.get(store)
        if cache is None:
            cache = _store_counts[store] = CountsCache()
    else:
        m = getattr(engine_or_store, "metrics", None)
        of = getattr(engine_or_store, "store", None)
        if not isinstance(m, EngineMetrics) or not isinstance(of, Store):
            raise TypeError(f"render needs a deepslate Engine or Store, not {type(engine_or_store).__name__}")
        engine, store, cache = engine_or_store, of, m.counts
    out = _Text()
    try:
        counts = cache.get(store)
    except StoreError:
        counts = None           # a store that cannot be read now: leave the gauge out, keep the rest
    if counts is not None:
        out.family("deepslate_isolates", "gauge", "Isolates in the store by status.")
        for status in (*STATUSES, *sorted(set(counts) - set(STATUSES))):
            out.sample("deepslate_isolates", counts.get(status, 0), status=status)
    if engine is not None:
        _engine(out, engine.metrics, engine)
    return out.text()


def _engine(out: "_Text", m: EngineMetrics, engine: Any) -> None:
    out.counter("deepslate_steps_total", "Durable steps committed by this engine.", m.steps)
    out.histogram("deepslate_commit_batch_size", "Commits written per store transaction.", m.commit_batch_size)
    out.histogram("deepslate_commit_seconds", "Time to write one store transaction, in seconds.", m.commit_seconds)
    out.family("deepslate_ingress_requests_total", "counter", "HTTP ingress answers by status code.")
    for code, n in sorted(m.ingress.items()):
        out.sample("deepslate_ingress_requests_total", n, code=str(code))
    out.counter("deepslate_impure_calls_total", "@impure calls started, retries included.", m.impure_calls)
    out.counter("deepslate_impure_retries_total", "@impure calls run again after they raised.", m.impure_retries)
    out.counter("deepslate_impure_failures_total", "@impure calls that raised on their last attempt.",
                m.impure_failures)
    out.family("deepslate_http_requests_total", "counter", "http_request effects by outcome.")
    for outcome, n in m.http_requests.items():
        out.sample("deepslate_http_requests_total", n, outcome=outcome)
    out.family("deepslate_isolates_finished_total", "counter", "Isolates that ended on this engine, by status.")
    for status, n in m.finished.items():
        out.sample("deepslate_isolates_finished_total", n, status=status)
    out.family("deepslate_requests_total", "counter", "Operator requests (cancel, retry, send) applied.")
    for (verb, ok), n in sorted(m.requests.items()):
        out.sample("deepslate_requests_total", n, verb=verb, ok="true" if ok else "false")
    out.counter("deepslate_purged_isolates_total", "Isolates deleted by the retention policy.", m.purged)
    out.family("deepslate_engine_paused", "gauge", "1 once a store fault stopped the engine.")
    out.sample("deepslate_engine_paused", 1 if engine.failure is not None else 0)


def metrics_text(platform: "Platform") -> str:
    """The Prometheus metrics of ``platform``'s running engine (of its store alone when no
    engine runs), for an application that serves ``/metrics`` itself::

        @app.get("/metrics")
        def metrics() -> Response:
            return Response(deepslate.metrics_text(platform), media_type="text/plain; version=0.0.4")
    """
    store = getattr(platform, "store", None)
    if not isinstance(store, Store):
        raise TypeError(f"metrics_text needs the platform from new_sqlite, not {type(platform).__name__}")
    engine = getattr(platform, "engine", None)
    return render(engine if engine is not None else store)


class _Text:
    """The exposition text, built line by line."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str) -> None:
        self.lines.append(f"# HELP {name} {_escape_help(help_text)}")
        self.lines.append(f"# TYPE {name} {kind}")

    def sample(self, name: str, value: float, **labels: str) -> None:
        if labels:
            inner = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels.items())
            self.lines.append(f"{name}{{{inner}}} {_number(value)}")
        else:
            self.lines.append(f"{name} {_number(value)}")

    def counter(self, name: str, help_text: str, value: int) -> None:
        self.family(name, "counter", help_text)
        self.sample(name, value)

    def histogram(self, name: str, help_text: str, h: Histogram) -> None:
        self.family(name, "histogram", help_text)
        for le, n in h.cumulative():
            self.sample(f"{name}_bucket", n, le=le)
        self.sample(f"{name}_sum", h.sum)
        self.sample(f"{name}_count", h.count)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _escape_label(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n")


def _number(v: float) -> str:
    if isinstance(v, int):
        return str(v)
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if math.isnan(v):
        return "NaN"
    return repr(float(v))
