"""Metrics of batch jobs, pushed to the Prometheus Pushgateway (a batch job is gone before any scrape)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

log = logging.getLogger(__name__)


class JobMetrics:
    """One run's gauges, in a registry of their own, pushed once at the end (replacing the job's previous
    group, so a series the run did not set does not linger from an older one).

    Parameters
    ----------
    job
        The Pushgateway job label (e.g. `churn`).
    grouping
        Further grouping labels (keep them few and bounded: never an entity id).

    >>> metrics = JobMetrics("doc")
    >>> metrics.gauge("streaming_doc_rows", "Rows the run read.").set(12)
    >>> metrics.gauge("streaming_doc_step_seconds", "Seconds per step.", ["step"]).labels("read").set(0.5)
    >>> sorted(family.name for family in metrics.registry.collect())
    ['streaming_doc_rows', 'streaming_doc_step_seconds']
    """

    def __init__(self, job: str, grouping: Mapping[str, str] | None = None) -> None:
        self.job = job
        self.grouping = dict(grouping or {})
        self.registry = CollectorRegistry()
        self._gauges: dict[str, Gauge] = {}

    def gauge(self, name: str, documentation: str, labels: list[str] | None = None) -> Gauge:
        if name not in self._gauges:
            self._gauges[name] = Gauge(name, documentation, labels or [], registry=self.registry)
        return self._gauges[name]

    def push(
        self,
        address: str | None,
        timeout_seconds: float = 10.0,
        pusher: Callable[..., None] = push_to_gateway,
    ) -> str | None:
        """Push to `address` (host:port); returns why it failed, or None. A batch job's result does not
        depend on its metrics, so a failure is reported, not raised."""
        if not address:
            return "no pushgateway configured (metrics.pushgateway)"
        try:
            pusher(
                address,
                job=self.job,
                registry=self.registry,
                grouping_key=self.grouping,
                timeout=timeout_seconds,
            )
        except OSError as error:
            log.warning("metrics not pushed to %s: %s", address, error)
            return f"{address}: {error}"
        return None
