"""Recompute the cached lists whose inputs changed, debounced, and write them to Redis.

The learner tells the precomputer which customers and items changed (`customer_changed`, `item_changed`,
once per event: it only stamps a dictionary). `run_due` then recomputes every entry whose last change is at
least `debounce_seconds` old (a burst of events in one session costs one recomputation), or whose first
unprocessed change is `max_delay_seconds` old (a customer who never pauses is still refreshed). Similar-items
lists are kept only for the `popular_items` most interacted-with items; the rest are served by the ANN
fallback. Works with any `Recommender`.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from consumers.recommendations.cache import CacheEntry, CacheUnavailable, EntryKind, ListStore
from consumers.recommendations.interface import Recommender
from consumers.recommendations.listing_ids import with_recommendation_id
from consumers.recommendations.serving_metrics import PrecomputeMetrics

log = logging.getLogger(__name__)

_KINDS: tuple[EntryKind, ...] = ("customer", "item")


@dataclass
class PrecomputeReport:
    """What one `run_due` or `precompute_all` call did."""

    customers: int = 0
    items: int = 0
    unknown_items: int = 0
    not_popular: int = 0
    failed: int = 0
    seconds: float = 0.0

    def add(self, other: PrecomputeReport) -> None:
        self.customers += other.customers
        self.items += other.items
        self.unknown_items += other.unknown_items
        self.not_popular += other.not_popular
        self.failed += other.failed
        self.seconds += other.seconds


@dataclass
class _Pending:
    first_change: float
    last_change: float


@dataclass
class _PendingSet:
    entries: dict[str, _Pending] = field(default_factory=dict)

    def mark(self, entity_id: str, at: float) -> None:
        pending = self.entries.get(entity_id)
        if pending is None:
            self.entries[entity_id] = _Pending(at, at)
        elif at > pending.last_change:
            pending.last_change = at

    def take_due(
        self, now: float, debounce_seconds: float, max_delay_seconds: float
    ) -> list[tuple[str, float]]:
        due = [
            (entity_id, pending.first_change)
            for entity_id, pending in self.entries.items()
            if now - pending.last_change >= debounce_seconds
            or now - pending.first_change >= max_delay_seconds
        ]
        for entity_id, _ in due:
            del self.entries[entity_id]
        return due

    def oldest_age(self, now: float) -> float:
        return max((now - pending.first_change for pending in self.entries.values()), default=0.0)


class Precomputer:
    """Debounced recomputation of top-N and similar-items lists into a `RecommendationCache`.

    Parameters
    ----------
    recommender
        Any `Recommender`; `set_recommender` swaps in a newer model.
    cache
        Where the lists go.
    top_n
        Length of each list (the largest k the API serves from the cache).
    debounce_seconds
        Quiet time after the last change before an entry is recomputed.
    max_delay_seconds
        Longest time an entry waits after its first unprocessed change, however busy it stays.
    popular_items
        Only this many of the most changed items keep a precomputed similar-items list.
    batch_size
        Lists written per Redis round trip.
    metrics
        Precompute lag and counts; None registers nothing.
    clock
        Wall clock in seconds (tests pass their own).

    >>> from consumers.recommendations.interface import Recommendation, RecommendationList
    >>> class Popular:
    ...     model_version = 1
    ...     def recommend(self, customer_id, k):
    ...         return RecommendationList((Recommendation("p-1", 1.0, "popular"),), 1, cold_start=True)
    ...     def similar_items(self, item_id, k):
    ...         return None
    ...     def knows_item(self, item_id):
    ...         return False
    >>> class MemoryCache:
    ...     def __init__(self): self.entries = {}
    ...     def put_many(self, entries):
    ...         self.entries.update({(e.kind, e.entity_id): e.listing for e in entries}); return len(entries)
    ...     def delete(self, kind, entity_id): self.entries.pop((kind, entity_id), None)
    >>> now = [100.0]
    >>> precomputer = Precomputer(Popular(), MemoryCache(), debounce_seconds=2, clock=lambda: now[0])
    >>> precomputer.customer_changed("c-1"); precomputer.customer_changed("c-1")
    >>> precomputer.run_due().customers   # still within the debounce
    0
    >>> now[0] = 103.0
    >>> precomputer.run_due().customers
    1
    >>> precomputer.cache.entries[("customer", "c-1")].items[0].item_id
    'p-1'
    """

    def __init__(
        self,
        recommender: Recommender,
        cache: ListStore,
        top_n: int = 50,
        debounce_seconds: float = 2.0,
        max_delay_seconds: float = 30.0,
        popular_items: int = 10_000,
        batch_size: int = 500,
        metrics: PrecomputeMetrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.recommender = recommender
        self.cache = cache
        self.top_n = top_n
        self.debounce_seconds = debounce_seconds
        self.max_delay_seconds = max_delay_seconds
        self.popular_items = popular_items
        self.batch_size = batch_size
        self.metrics = metrics
        self.clock = clock
        self._pending: dict[EntryKind, _PendingSet] = {kind: _PendingSet() for kind in _KINDS}
        self._item_changes: Counter[str] = Counter()
        self._popular: set[str] = set()
        self._popular_computed_at = float("-inf")
        self._lock = threading.Lock()

    # Changes ----------------------------------------------------------------------------------------

    def set_recommender(self, recommender: Recommender) -> None:
        self.recommender = recommender

    def customer_changed(self, customer_id: str, at: float | None = None) -> None:
        with self._lock:
            self._pending["customer"].mark(customer_id, self.clock() if at is None else at)

    def item_changed(self, item_id: str, at: float | None = None) -> None:
        with self._lock:
            self._pending["item"].mark(item_id, self.clock() if at is None else at)
            self._item_changes[item_id] += 1

    def pending(self, kind: EntryKind) -> int:
        return len(self._pending[kind].entries)

    def popular(self) -> set[str]:
        """The items that keep precomputed similar-items lists, refreshed at most every 10 s."""
        now = self.clock()
        if now - self._popular_computed_at >= 10.0 or not self._popular:
            if len(self._item_changes) <= self.popular_items:
                self._popular = set(self._item_changes)
            else:
                ranked = heapq.nlargest(
                    self.popular_items, self._item_changes.items(), key=lambda pair: pair[1]
                )
                self._popular = {item_id for item_id, _ in ranked}
            self._popular_computed_at = now
        return self._popular

    # Recomputation ----------------------------------------------------------------------------------

    def run_due(self) -> PrecomputeReport:
        """Recompute and write every entry that is due. Entries Redis did not take stay pending."""
        started = time.perf_counter()
        now = self.clock()
        with self._lock:
            due = {
                kind: self._pending[kind].take_due(now, self.debounce_seconds, self.max_delay_seconds)
                for kind in _KINDS
            }
            popular = self.popular()
        report = PrecomputeReport()
        report.add(self._compute_and_write("customer", due["customer"]))
        items = [(item_id, first) for item_id, first in due["item"] if item_id in popular]
        report.not_popular += len(due["item"]) - len(items)
        report.add(self._compute_and_write("item", items))
        self._export_pending()
        report.seconds = time.perf_counter() - started
        return report

    def precompute_all(
        self,
        customer_ids: Iterable[str] = (),
        item_ids: Iterable[str] = (),
        progress: Callable[[int], None] | None = None,
    ) -> PrecomputeReport:
        """A full pass, e.g. after a refit: every customer's and item's list, in batches."""
        started = time.perf_counter()
        report = PrecomputeReport()
        for kind, identifiers in (("customer", customer_ids), ("item", item_ids)):
            batch: list[tuple[str, float]] = []
            for entity_id in identifiers:
                batch.append((entity_id, self.clock()))
                if len(batch) >= self.batch_size:
                    report.add(self._compute_and_write(kind, batch))  # type: ignore[arg-type]
                    if progress is not None:
                        progress(len(batch))
                    batch = []
            if batch:
                report.add(self._compute_and_write(kind, batch))  # type: ignore[arg-type]
                if progress is not None:
                    progress(len(batch))
        report.seconds = time.perf_counter() - started
        return report

    def _compute_and_write(self, kind: EntryKind, due: list[tuple[str, float]]) -> PrecomputeReport:
        report = PrecomputeReport()
        for start in range(0, len(due), self.batch_size):
            chunk = due[start : start + self.batch_size]
            batch_started = time.perf_counter()
            entries: list[CacheEntry] = []
            unknown: list[str] = []
            recommender = self.recommender
            for entity_id, _first_change in chunk:
                if kind == "customer":
                    listing = recommender.recommend(entity_id, self.top_n)
                else:
                    similar = recommender.similar_items(entity_id, self.top_n)
                    if similar is None:
                        unknown.append(entity_id)
                        continue
                    listing = similar
                if not listing.computed_at:
                    listing = replace(listing, computed_at=self.clock())
                entries.append(CacheEntry(kind, entity_id, with_recommendation_id(kind, entity_id, listing)))
            try:
                self.cache.put_many(entries)
                for entity_id in unknown:
                    self.cache.delete(kind, entity_id)
            except CacheUnavailable as error:
                log.warning("precompute: Redis did not take %d %s lists: %s", len(entries), kind, error)
                report.failed += len(chunk)
                if self.metrics is not None:
                    self.metrics.failures.labels(self.metrics.service, kind).inc()
                with self._lock:
                    for entity_id, first_change in chunk:
                        self._pending[kind].mark(entity_id, first_change)
                continue
            written_at = self.clock()
            if kind == "customer":
                report.customers += len(entries)
            else:
                report.items += len(entries)
                report.unknown_items += len(unknown)
            if self.metrics is not None:
                labels = (self.metrics.service, kind)
                self.metrics.written.labels(*labels).inc(len(entries))
                lag = self.metrics.lag_seconds.labels(*labels)
                for _entity_id, first_change in chunk:
                    lag.observe(max(0.0, written_at - first_change))
                self.metrics.batch_seconds.labels(*labels).observe(time.perf_counter() - batch_started)
        return report

    def _export_pending(self) -> None:
        if self.metrics is None:
            return
        now = self.clock()
        with self._lock:
            for kind in _KINDS:
                self.metrics.pending.labels(self.metrics.service, kind).set(self.pending(kind))
                self.metrics.oldest_pending_seconds.labels(self.metrics.service, kind).set(
                    self._pending[kind].oldest_age(now)
                )


class PrecomputeLoop:
    """Runs `Precomputer.run_due` every `interval_seconds` in a daemon thread until `stop`.

    Parameters
    ----------
    precomputer
        What to run.
    interval_seconds
        Pause between runs.

    >>> class Nothing:
    ...     def run_due(self): return PrecomputeReport()
    >>> loop = PrecomputeLoop(Nothing(), interval_seconds=0.01)
    >>> loop.start(); loop.stop(); loop.runs >= 0
    True
    """

    def __init__(self, precomputer: Precomputer, interval_seconds: float = 0.5) -> None:
        self.precomputer = precomputer
        self.interval_seconds = interval_seconds
        self.runs = 0
        self.totals = PrecomputeReport()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="recs-precompute", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_seconds: float = 10.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout_seconds)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.totals.add(self.precomputer.run_due())
            except Exception:  # a model bug must not kill the loop silently: log it and keep going
                log.exception("precompute run failed")
            self.runs += 1
            self._stopping.wait(self.interval_seconds)
