"""Prometheus metrics of the serving side: the API's latency, cache outcomes, feedback and online quality, and
precompute lag.

Each API instance gets its own registry, so replicas that share a process (tests, benchmarks) keep their own
counts; the service passes the global registry. Label values come from fixed sets (endpoint, cache outcome,
feedback kind): never an id.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

# fmt: off
#: Edges include both serving goals exactly: 5 ms for cache hits and 30 ms for misses served by the fallback.
SERVING_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)
PRECOMPUTE_LAG_BUCKETS: tuple[float, ...] = (
    0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
)
# fmt: on

#: The endpoints requests are counted under.
ENDPOINTS = ("recommendations", "similar", "item", "feedback", "storefront")
#: How a lookup was answered: from Redis, from the fallback because Redis had no entry, or from the fallback
#: because Redis was unavailable (degraded).
CACHE_OUTCOMES = ("hit", "miss", "unavailable", "none")


class ServingMetrics:
    """Every metric the API exposes.

    Parameters
    ----------
    registry
        Where the metrics are registered; a fresh `CollectorRegistry` per instance in tests.
    service
        The `service` label every series carries.

    >>> from prometheus_client import generate_latest
    >>> metrics = ServingMetrics(CollectorRegistry())
    >>> metrics.cache_lookups.labels(service="recommendations-api", kind="customer", outcome="hit").inc()
    >>> b"streaming_recommendation_cache_lookups_total" in generate_latest(metrics.registry)
    True
    """

    def __init__(
        self, registry: CollectorRegistry | None = None, service: str = "recommendations-api"
    ) -> None:
        self.registry = REGISTRY if registry is None else registry
        self.service = service
        self.request_seconds = Histogram(
            "streaming_recommendation_request_seconds",
            "API request latency, by endpoint and cache outcome (hit, miss, unavailable, none).",
            ["service", "endpoint", "cache"],
            buckets=SERVING_BUCKETS,
            registry=self.registry,
        )
        self.cache_lookups = Counter(
            "streaming_recommendation_cache_lookups",
            "Redis lookups by kind (customer, item) and outcome (hit, miss, unavailable).",
            ["service", "kind", "outcome"],
            registry=self.registry,
        )
        self.degraded = Counter(
            "streaming_recommendation_degraded_answers",
            "Answers served by the ANN fallback because Redis was unavailable, by endpoint.",
            ["service", "endpoint"],
            registry=self.registry,
        )
        self.cold_start = Counter(
            "streaming_recommendation_cold_start_answers",
            "Lists flagged cold start (unknown or new customer or item), by endpoint.",
            ["service", "endpoint"],
            registry=self.registry,
        )
        self.feedback_requests = Counter(
            "streaming_recommendation_feedback_requests",
            "POST /feedback requests by kind and outcome (accepted, invalid, refused).",
            ["service", "kind", "outcome"],
            registry=self.registry,
        )
        self.feedback_events = Counter(
            "streaming_recommendation_feedback_events",
            "Feedback events accepted, by kind: one impression per item shown, one per click or purchase.",
            ["service", "kind"],
            registry=self.registry,
        )
        self.feedback_sent = Counter(
            "streaming_recommendation_feedback_sent",
            "Feedback events Kafka acknowledged.",
            ["service"],
            registry=self.registry,
        )
        self.feedback_send_failures = Counter(
            "streaming_recommendation_feedback_send_failures",
            "Feedback batches that did not reach Kafka in time and were kept for another try.",
            ["service"],
            registry=self.registry,
        )
        self.feedback_buffered = Gauge(
            "streaming_recommendation_feedback_buffered",
            "Feedback events waiting for Kafka.",
            ["service"],
            registry=self.registry,
        )
        self.purchases = Counter(
            "streaming_recommendation_purchases",
            "Purchases reported as feedback, by outcome: hit (in the last top-10 shown), miss, no_list.",
            ["service", "outcome"],
            registry=self.registry,
        )
        self.coverage = Gauge(
            "streaming_recommendation_catalogue_coverage_ratio",
            "Share of the catalogue recommended at least once within the coverage window.",
            ["service"],
            registry=self.registry,
        )
        self.distinct_items = Gauge(
            "streaming_recommendation_distinct_items",
            "Distinct items recommended within the coverage window.",
            ["service"],
            registry=self.registry,
        )
        self.fallback_model_version = Gauge(
            "streaming_recommendation_fallback_model_version",
            "Model version of the artifacts the fallback recommender loaded.",
            ["service"],
            registry=self.registry,
        )
        self._initialise_series()

    def _initialise_series(self) -> None:
        """Create every series of the fixed label sets at 0, so rates and ratios exist before the first
        event (a dashboard panel over a series that was never touched would stay empty)."""
        service = self.service
        for kind in ("customer", "item"):
            for outcome in ("hit", "miss", "unavailable"):
                self.cache_lookups.labels(service, kind, outcome)
        for endpoint in ("recommendations", "similar"):
            self.degraded.labels(service, endpoint)
            self.cold_start.labels(service, endpoint)
        for feedback_kind in ("impression", "click", "purchase"):
            self.feedback_events.labels(service, feedback_kind)
            for outcome in ("accepted", "refused"):
                self.feedback_requests.labels(service, feedback_kind, outcome)
        self.feedback_requests.labels(service, "unknown", "invalid")
        for purchase_outcome in ("hit", "miss", "no_list"):
            self.purchases.labels(service, purchase_outcome)
        for gauge_or_counter in (self.feedback_sent, self.feedback_send_failures, self.feedback_buffered):
            gauge_or_counter.labels(service)


class PrecomputeMetrics:
    """Metrics of the precompute loop, exposed by the process that runs it (the learner).

    Parameters
    ----------
    registry
        Where the metrics are registered.
    service
        The `service` label every series carries.

    >>> metrics = PrecomputeMetrics(CollectorRegistry())
    >>> metrics.lag_seconds.labels(service="recommendations", kind="customer").observe(1.5)
    """

    def __init__(self, registry: CollectorRegistry | None = None, service: str = "recommendations") -> None:
        self.registry = REGISTRY if registry is None else registry
        self.service = service
        self.lag_seconds = Histogram(
            "streaming_recommendation_precompute_lag_seconds",
            "From the first unprocessed change of a customer's or item's inputs to its list being in Redis.",
            ["service", "kind"],
            buckets=PRECOMPUTE_LAG_BUCKETS,
            registry=self.registry,
        )
        self.oldest_pending_seconds = Gauge(
            "streaming_recommendation_precompute_oldest_pending_seconds",
            "Age of the oldest change not yet precomputed, by kind (0 when none waits).",
            ["service", "kind"],
            registry=self.registry,
        )
        self.pending = Gauge(
            "streaming_recommendation_precompute_pending",
            "Customers or items whose inputs changed and whose lists wait for recomputation.",
            ["service", "kind"],
            registry=self.registry,
        )
        self.written = Counter(
            "streaming_recommendation_precomputed_lists",
            "Lists computed and written to Redis, by kind.",
            ["service", "kind"],
            registry=self.registry,
        )
        self.failures = Counter(
            "streaming_recommendation_precompute_failures",
            "Precompute batches Redis refused or did not answer; their entries are retried.",
            ["service", "kind"],
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "streaming_recommendation_precompute_batch_seconds",
            "Time to compute and write one batch of lists.",
            ["service", "kind"],
            buckets=SERVING_BUCKETS,
            registry=self.registry,
        )
        for kind in ("customer", "item"):
            for metric in (self.lag_seconds, self.oldest_pending_seconds, self.pending, self.written):
                metric.labels(service, kind)
            self.failures.labels(service, kind)
            self.batch_seconds.labels(service, kind)
