"""Scraping each service's /metrics, keeping the samples, and turning them into rates and quantiles.

The live view and the run report read the services the way Prometheus would, but from the demo process
itself: every scrape parses the text exposition (prometheus_client.parser) into a snapshot; rates are
counter differences between snapshots, quantiles are interpolated from histogram bucket differences, as
`histogram_quantile` does.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

Labels = dict[str, str]
LabelFilter = Mapping[str, str] | Callable[[Labels], bool] | None


@dataclass
class Snapshot:
    """All samples of one service at one time: {sample name: [(labels, value), ...]}."""

    time: float
    samples: dict[str, list[tuple[Labels, float]]]

    def values(self, name: str, where: LabelFilter = None) -> list[tuple[Labels, float]]:
        return [(labels, value) for labels, value in self.samples.get(name, []) if _matches(labels, where)]

    def total(self, name: str, where: LabelFilter = None) -> float | None:
        values = self.values(name, where)
        return sum(value for _, value in values) if values else None


def _matches(labels: Labels, where: LabelFilter) -> bool:
    if where is None:
        return True
    if callable(where):
        return bool(where(labels))
    return all(labels.get(key) == value for key, value in where.items())


def parse_exposition(text: str, at: float) -> Snapshot:
    """A snapshot from Prometheus text format.

    >>> text = '# TYPE x counter\\nx_total{topic="a"} 3.0\\nx_total{topic="b"} 4.0\\n'
    >>> snapshot = parse_exposition(text, 1.0)
    >>> snapshot.total("x_total"), snapshot.total("x_total", {"topic": "a"})
    (7.0, 3.0)
    """
    samples: dict[str, list[tuple[Labels, float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return Snapshot(at, samples)


def histogram_quantile(quantile: float, buckets: Mapping[float, float]) -> float | None:
    """Prometheus' estimate from cumulative bucket counts {upper bound: count}; None without observations.

    >>> histogram_quantile(0.5, {0.1: 50.0, 1.0: 100.0, math.inf: 100.0})
    0.1
    >>> round(histogram_quantile(0.99, {0.1: 50.0, 1.0: 100.0, math.inf: 100.0}), 3)
    0.982
    """
    edges = sorted(buckets)
    if not edges or edges[-1] != math.inf:
        return None
    total = buckets[math.inf]
    if total <= 0:
        return None
    rank = quantile * total
    previous_edge, previous_count = 0.0, 0.0
    for edge in edges:
        count = buckets[edge]
        if count >= rank:
            if edge == math.inf:
                return previous_edge
            if count == previous_count:
                return edge
            return previous_edge + (edge - previous_edge) * (rank - previous_count) / (count - previous_count)
        previous_edge, previous_count = edge, count
    return previous_edge


@dataclass
class ServiceSeries:
    """The snapshots of one service, oldest first."""

    name: str
    snapshots: list[Snapshot] = field(default_factory=list)
    last_error: str | None = None

    @property
    def latest(self) -> Snapshot | None:
        return self.snapshots[-1] if self.snapshots else None

    def _pair(self, window_seconds: float, end: int | None = None) -> tuple[Snapshot, Snapshot] | None:
        if len(self.snapshots) < 2:
            return None
        end_index = len(self.snapshots) - 1 if end is None else end
        newest = self.snapshots[end_index]
        start_index = end_index - 1
        while start_index > 0 and newest.time - self.snapshots[start_index].time < window_seconds:
            start_index -= 1
        if start_index < 0:
            return None
        return self.snapshots[start_index], newest

    def rate(
        self, name: str, where: LabelFilter = None, window_seconds: float = 5.0, end: int | None = None
    ) -> float | None:
        """Per-second increase of a counter (summed over matching series) over about `window_seconds`."""
        pair = self._pair(window_seconds, end)
        if pair is None:
            return None
        older, newer = pair
        before, after = older.total(name, where), newer.total(name, where)
        if after is None:
            return None
        elapsed = newer.time - older.time
        if elapsed <= 0:
            return None
        return max(0.0, after - (before or 0.0)) / elapsed

    def quantile(
        self,
        histogram: str,
        quantile: float,
        where: LabelFilter = None,
        window_seconds: float = 10.0,
        end: int | None = None,
    ) -> float | None:
        """The quantile of observations made within about `window_seconds` (bucket differences)."""
        pair = self._pair(window_seconds, end)
        if pair is None:
            return None
        older, newer = pair
        return histogram_quantile(quantile, _bucket_delta(older, newer, histogram, where))

    def overall_quantile(self, histogram: str, quantile: float, where: LabelFilter = None) -> float | None:
        """The quantile of every observation since the service started."""
        if not self.snapshots:
            return None
        return histogram_quantile(quantile, _buckets(self.snapshots[-1], histogram, where))

    def gauge(self, name: str, where: LabelFilter = None, end: int | None = None) -> float | None:
        if not self.snapshots:
            return None
        return self.snapshots[-1 if end is None else end].total(name, where)


def _buckets(snapshot: Snapshot, histogram: str, where: LabelFilter) -> dict[float, float]:
    buckets: dict[float, float] = {}
    for labels, value in snapshot.values(f"{histogram}_bucket", where):
        edge = float(labels["le"])
        buckets[edge] = buckets.get(edge, 0.0) + value
    return buckets


def _bucket_delta(older: Snapshot, newer: Snapshot, histogram: str, where: LabelFilter) -> dict[float, float]:
    before = _buckets(older, histogram, where)
    return {
        edge: max(0.0, count - before.get(edge, 0.0))
        for edge, count in _buckets(newer, histogram, where).items()
    }


class MetricsScraper:
    """Scrapes {service: url} endpoints and keeps every snapshot (a demo's worth fits in memory)."""

    def __init__(self, endpoints: Mapping[str, str], timeout_seconds: float = 2.0) -> None:
        self.endpoints = dict(endpoints)
        self.series = {name: ServiceSeries(name) for name in self.endpoints}
        self._client = httpx.Client(timeout=timeout_seconds)

    def scrape(self) -> None:
        for name, url in self.endpoints.items():
            series = self.series[name]
            try:
                response = self._client.get(url)
                response.raise_for_status()
                series.snapshots.append(parse_exposition(response.text, time.time()))
                series.last_error = None
            except (httpx.HTTPError, ValueError) as error:
                series.last_error = f"{type(error).__name__}: {error}"

    def close(self) -> None:
        self._client.close()
