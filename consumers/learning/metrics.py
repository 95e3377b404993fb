"""Prometheus metrics of the scoring services (names fixed in docs/CONTRACTS.md).

Labels come from small fixed sets: service (maintenance, fraud), role (champion, challenger), decision
(alert, pass), outcome, rule names from code, severity, and segment (machine type or payment channel).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from streaming.metrics import LATENCY_BUCKETS

SCORE_BUCKETS: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
LABEL_DELAY_BUCKETS: tuple[float, ...] = (
    1.0,
    10.0,
    60.0,
    300.0,
    900.0,
    1_800.0,
    3_600.0,
    7_200.0,
    21_600.0,
    86_400.0,
    604_800.0,
)

MODEL_ROC_AUC = Gauge(
    "streaming_model_roc_auc", "Rolling ROC AUC over recent labelled events.", ["service", "role"]
)
MODEL_PR_AUC = Gauge(
    "streaming_model_pr_auc", "Rolling PR AUC over recent labelled events.", ["service", "role"]
)
MODEL_PRECISION = Gauge(
    "streaming_model_precision", "Rolling precision at the alert threshold.", ["service", "role"]
)
MODEL_RECALL = Gauge("streaming_model_recall", "Rolling recall at the alert threshold.", ["service", "role"])
MODEL_F1 = Gauge("streaming_model_f1", "Rolling F1 at the alert threshold.", ["service", "role"])
MODEL_THRESHOLD = Gauge("streaming_model_threshold", "Current alert threshold on the score.", ["service"])
MODEL_SCORE = Histogram(
    "streaming_model_score", "Distribution of scores (0..1).", ["service", "role"], buckets=SCORE_BUCKETS
)
MODEL_SCORES = Counter(
    "streaming_model_scores", "Events scored, by decision (alert or pass).", ["service", "role", "decision"]
)
MODEL_LABEL_DELAY = Histogram(
    "streaming_model_label_delay_seconds",
    "Event time of a prediction to the reported time of its label.",
    ["service"],
    buckets=LABEL_DELAY_BUCKETS,
)
MODEL_LABELS = Counter(
    "streaming_model_labels",
    "Labels and label decisions, by outcome (joined, unknown_id, negative_by_horizon, other_kind).",
    ["service", "outcome"],
)
MODEL_DRIFT_DETECTED = Counter(
    "streaming_model_drift_detected", "Drifts detected on the error stream.", ["service", "role"]
)
MODEL_VERSION = Gauge("streaming_model_version", "Version of the model in each role.", ["service", "role"])
MODEL_ANOMALY_SCORE = Histogram(
    "streaming_model_anomaly_score",
    "Unsupervised anomaly score of sensor windows (0..1).",
    ["service"],
    buckets=SCORE_BUCKETS,
)
MODEL_PENDING = Gauge(
    "streaming_model_pending_predictions", "Predictions waiting for their label.", ["service"]
)
MODEL_PENDING_EVICTED = Counter(
    "streaming_model_pending_evicted",
    "Predictions dropped unlabelled because the pending state was full.",
    ["service"],
)
MODEL_SCORE_SECONDS = Histogram(
    "streaming_model_score_seconds",
    "Wall time to featurise and score one event.",
    ["service"],
    buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
)
FRAUD_RULE_HITS = Counter("streaming_fraud_rule_hits", "Prefilter rule hits, by rule.", ["rule"])
FRAUD_MODEL_SKIPPED = Counter(
    "streaming_fraud_model_skipped",
    "Transactions the model did not score because a rule decided them, by reason.",
    ["reason"],
)
ALERTS_EMITTED = Counter(
    "streaming_alerts_emitted",
    "Alerts produced after suppression, by kind, severity and segment (machine type or channel).",
    ["service", "kind", "severity", "segment"],
)
ALERT_OUTCOMES = Counter(
    "streaming_model_alert_outcomes",
    "Alerts whose label is known, by severity and outcome (true: the event was positive; false: not).",
    ["service", "severity", "outcome"],
)
ALERTS_SUPPRESSED = Counter(
    "streaming_alerts_suppressed",
    "New incidents not raised because the alert budget of the last hour was spent.",
    ["service", "reason"],
)

ROLES: tuple[str, ...] = ("champion", "challenger")
LABEL_OUTCOMES: tuple[str, ...] = ("joined", "unknown_id", "negative_by_horizon", "other_kind")
SEVERITIES: tuple[str, ...] = ("warning", "critical")


def initialise(service: str, alert_kind: str, segments: tuple[str, ...], threshold: float) -> None:
    """Create every labelled series the dashboards query, so they exist from the first scrape.

    Counters start at 0 and histograms empty; quality gauges are NaN until labelled events arrive (a
    dashboard then shows "no value yet" instead of a made-up 0).
    """
    nan = float("nan")
    for role in ROLES:
        for gauge in (MODEL_ROC_AUC, MODEL_PR_AUC, MODEL_PRECISION, MODEL_RECALL, MODEL_F1):
            gauge.labels(service, role).set(nan)
        MODEL_SCORE.labels(service, role)
        for decision in ("alert", "pass"):
            MODEL_SCORES.labels(service, role, decision)
        MODEL_DRIFT_DETECTED.labels(service, role)
        MODEL_VERSION.labels(service, role).set(nan)
        ALERTS_EMITTED.labels(service, "drift", "warning", role)
    MODEL_THRESHOLD.labels(service).set(threshold)
    MODEL_LABEL_DELAY.labels(service)
    for outcome in LABEL_OUTCOMES:
        MODEL_LABELS.labels(service, outcome)
    MODEL_PENDING.labels(service).set(0)
    MODEL_PENDING_EVICTED.labels(service)
    MODEL_SCORE_SECONDS.labels(service)
    ALERTS_SUPPRESSED.labels(service, "budget")
    for severity in SEVERITIES:
        for outcome in ("true", "false"):
            ALERT_OUTCOMES.labels(service, severity, outcome)
    for severity in SEVERITIES:
        for segment in segments:
            ALERTS_EMITTED.labels(service, alert_kind, severity, segment)


__all__ = [
    "ALERTS_EMITTED",
    "ALERTS_SUPPRESSED",
    "ALERT_OUTCOMES",
    "FRAUD_MODEL_SKIPPED",
    "FRAUD_RULE_HITS",
    "LABEL_DELAY_BUCKETS",
    "LATENCY_BUCKETS",
    "MODEL_ANOMALY_SCORE",
    "MODEL_DRIFT_DETECTED",
    "MODEL_F1",
    "MODEL_LABELS",
    "MODEL_LABEL_DELAY",
    "MODEL_PENDING",
    "MODEL_PENDING_EVICTED",
    "MODEL_PRECISION",
    "MODEL_PR_AUC",
    "MODEL_RECALL",
    "MODEL_ROC_AUC",
    "MODEL_SCORE",
    "MODEL_SCORES",
    "MODEL_SCORE_SECONDS",
    "MODEL_THRESHOLD",
    "MODEL_VERSION",
    "SCORE_BUCKETS",
    "initialise",
]
