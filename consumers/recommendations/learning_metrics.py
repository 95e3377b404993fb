"""Prometheus metrics of the learner (labels from small fixed sets only)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter(
    "streaming_recommendation_learner_events", "Shop events seen by the learner, by outcome", ["outcome"]
)
CLEANED = Counter(
    "streaming_recommendation_learner_cleaned_events",
    "Shop events dropped by cleaning, by reason",
    ["reason"],
)
REFITS = Counter("streaming_recommendation_learner_refits", "Full background refits finished")
REFIT_SECONDS = Histogram(
    "streaming_recommendation_learner_refit_duration_seconds",
    "Wall time of a full refit",
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600),
)
FOLD_IN_SECONDS = Histogram(
    "streaming_recommendation_learner_fold_in_duration_seconds",
    "Wall time of folding touched customers and new items into the factorization",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5),
)
MODEL_VERSION = Gauge(
    "streaming_recommendation_learner_model_version", "Version of the model the learner serves"
)
CATALOGUE_ITEMS = Gauge("streaming_recommendation_learner_catalogue_items", "Items the learner knows")
CUSTOMERS = Gauge("streaming_recommendation_learner_customers", "Customers the learner knows")
