"""The weekly job's metrics, pushed to the Pushgateway at the end of each run (a batch job is gone before
Prometheus would scrape it). Operators read them on the churn dashboard."""

from __future__ import annotations

import time

from consumers.churn.job import JobResult
from consumers.churn.weeks import IsoWeek
from streaming.metrics.push import JobMetrics

JOB = "churn"


def job_metrics(result: JobResult, week: IsoWeek, succeeded: bool = True) -> JobMetrics:
    """The run's figures as gauges of the `churn` job.

    >>> from consumers.churn.job import JobResult
    >>> result = JobResult(week="2026-W48", timings={"extract": 1.0, "train": 3.0}, budget_seconds=3600.0,
    ...     customers_scored=10, holdout_roc_auc=0.8)
    >>> metrics = job_metrics(result, IsoWeek(2026, 48))
    >>> sorted(family.name for family in metrics.registry.collect())[:3]
    ['streaming_churn_alerts', 'streaming_churn_at_risk_customers', 'streaming_churn_backtest_roc_auc']
    """
    metrics = JobMetrics(JOB)
    step = metrics.gauge(
        "streaming_churn_step_duration_seconds", "Wall seconds of each step of the last run.", ["step"]
    )
    for name, seconds in result.timings.items():
        step.labels(name).set(seconds)
    cpu = metrics.gauge(
        "streaming_churn_step_cpu_seconds", "CPU seconds of each step of the last run.", ["step"]
    )
    for name, seconds in result.cpu_seconds.items():
        cpu.labels(name).set(seconds)
    metrics.gauge("streaming_churn_job_duration_seconds", "Wall seconds of the last run.").set(
        result.total_seconds
    )
    metrics.gauge("streaming_churn_weekly_budget_seconds", "Wall seconds the weekly job may take.").set(
        result.budget_seconds
    )
    metrics.gauge(
        "streaming_churn_week_start_timestamp_seconds", "Start of the week the last run covered."
    ).set(week.start_seconds)
    if succeeded:
        metrics.gauge("streaming_churn_last_success_timestamp_seconds", "When the last run succeeded.").set(
            time.time()
        )
    metrics.gauge("streaming_churn_customers_profiled", "Customers with a profile in the last run.").set(
        result.customers_profiled
    )
    metrics.gauge("streaming_churn_customers_scored", "Customers scored in the last run.").set(
        result.customers_scored
    )
    metrics.gauge("streaming_churn_at_risk_customers", "Customers on the last at-risk list.").set(
        result.at_risk
    )
    metrics.gauge("streaming_churn_alerts", "Churn alerts the last run sent.").set(result.alerts)
    metrics.gauge("streaming_churn_transactions", "Transactions the last run summarised.").set(
        result.counts.get("used", 0)
    )
    skipped = metrics.gauge(
        "streaming_churn_skipped_transactions", "Transactions the last run skipped, by reason.", ["reason"]
    )
    for reason, count in result.counts.items():
        if reason != "used":
            skipped.labels(reason).set(count)
    storage = result.storage
    if storage:
        metrics.gauge("streaming_churn_raw_bytes", "Bytes of the week's raw transactions.").set(
            storage["raw_bytes"]
        )
        metrics.gauge("streaming_churn_summary_bytes", "Bytes of the week's summaries (Parquet, zstd).").set(
            storage["summary_bytes"]
        )
        metrics.gauge(
            "streaming_churn_storage_reduction_ratio", "Share of the raw bytes the summaries save (0..1)."
        ).set(
            max(0.0, 1.0 - storage["summary_bytes"] / storage["raw_bytes"]) if storage["raw_bytes"] else 0.0
        )
    churn = metrics.gauge(
        "streaming_churn_rate_ratio",
        "Churn of the newest labelled cut-off: predicted (the mean probability then) and realised (since).",
        ["kind"],
    )
    if result.predicted_churn is not None:
        churn.labels("predicted").set(result.predicted_churn)
    if result.realised_churn is not None:
        churn.labels("realised").set(result.realised_churn)
    if result.holdout_roc_auc is not None:
        metrics.gauge("streaming_churn_backtest_roc_auc", "ROC AUC of the last holdout backtest.").set(
            result.holdout_roc_auc
        )
    if result.full_retrain_cpu_seconds is not None:
        metrics.gauge(
            "streaming_churn_full_retrain_cpu_seconds", "CPU seconds of the weekly full retrain."
        ).set(result.full_retrain_cpu_seconds)
    if result.incremental_update_cpu_seconds is not None:
        metrics.gauge(
            "streaming_churn_incremental_update_cpu_seconds",
            "CPU seconds of the River model's weekly update.",
        ).set(result.incremental_update_cpu_seconds)
    if result.model_version is not None:
        metrics.gauge("streaming_churn_model_version", "Version of the scoring model of the last run.").set(
            result.model_version
        )
    return metrics
