"""The run report: PNG plots and an index.html built from the metric samples the demo collected.

`reports/<timestamp>/` holds throughput.png, latency.png, lag.png, models.png, alerts.png, index.html (the
plots, a per-stage table with CPU and memory, the alerts, the dashboard check) and summary.json (the same
numbers for scripts: `streaming bench` and the README table read it).
"""

from __future__ import annotations

import html
import json
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from streaming.demo.alert_feed import SeenAlert
from streaming.demo.dashboards import QueryCheck
from streaming.demo.samples import ServiceSeries
from streaming.demo.services import latency_objectives, model_services, stage_metrics
from streaming.demo.view import MODEL_GAUGES, alert_precision

RATE_WINDOW_SECONDS = 5.0
QUANTILE_WINDOW_SECONDS = 10.0


@dataclass
class StageSummary:
    name: str
    command: str
    status: str
    events: float | None = None
    events_per_second: float | None = None
    p50_seconds: float | None = None
    p99_seconds: float | None = None
    cpu_seconds: float | None = None
    cpu_seconds_per_million_events: float | None = None
    peak_rss_bytes: int | None = None
    stopped_by: str | None = None
    exit_code: int | None = None
    pid: int | None = None


@dataclass
class RunData:
    """Everything the report is made from."""

    started_at: float
    ended_at: float
    bootstrap: str
    topic_prefix: str
    series: Mapping[str, ServiceSeries]
    alerts: list[SeenAlert]
    stages: list[StageSummary]
    dashboard_checks: list[QueryCheck] = field(default_factory=list)
    prometheus_url: str | None = None
    prometheus_pid: int | None = None
    notes: list[str] = field(default_factory=list)


def stage_events(name: str, series: ServiceSeries | None) -> float | None:
    """Events a stage handled: sent for producers, consumed for the rest."""
    metrics = stage_metrics().get(name)
    if metrics is None or series is None or series.latest is None:
        return None
    counter = metrics.rate_in or metrics.rate_out
    return series.latest.total(counter) if counter else None


def _times(series: ServiceSeries, started_at: float) -> list[float]:
    return [snapshot.time - started_at for snapshot in series.snapshots]


def _over_time(series: ServiceSeries, started_at: float, value: Any) -> tuple[list[float], list[float]]:
    """(seconds since start, value) for each snapshot where `value(index)` is known."""
    xs, ys = [], []
    for index, moment in enumerate(_times(series, started_at)):
        result = value(index)
        if result is not None:
            xs.append(moment)
            ys.append(result)
    return xs, ys


def _finish(figure: Any, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_throughput(data: RunData, path: Path) -> Path:
    figure, axis = plt.subplots(figsize=(10, 4.5))
    for name, series in data.series.items():
        metrics = stage_metrics().get(name)
        if metrics is None or not series.snapshots:
            continue
        counter = metrics.rate_in or metrics.rate_out
        label = f"{name} ({'in' if metrics.rate_in else 'sent'})"
        xs, ys = _over_time(
            series,
            data.started_at,
            lambda index, s=series, c=counter: s.rate(c, None, RATE_WINDOW_SECONDS, index),
        )
        if xs:
            axis.plot(xs, ys, label=label)
    axis.set_yscale("symlog", linthresh=1)
    axis.set_xlabel("seconds since start")
    axis.set_ylabel("events per second")
    axis.set_title("Throughput per stage")
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=8, loc="best")
    return _finish(figure, path)


def plot_latency(data: RunData, path: Path) -> Path:
    stages = stage_metrics()
    objectives = latency_objectives()
    named = [
        (name, series)
        for name, series in data.series.items()
        if (stage := stages.get(name)) and stage.latency
    ]
    columns = 3
    rows = max(1, (len(named) + columns - 1) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(13, 3.4 * rows), squeeze=False)
    for axis, (name, series) in zip(axes.flat, named, strict=False):
        histogram = stages[name].latency
        assert histogram is not None
        for quantile in (0.5, 0.95, 0.99):
            xs, ys = _over_time(
                series,
                data.started_at,
                lambda index, s=series, h=histogram, q=quantile: s.quantile(
                    h, q, None, QUANTILE_WINDOW_SECONDS, index
                ),
            )
            if xs:
                axis.plot(xs, ys, label=f"p{round(quantile * 100)}")
        if name in objectives:
            axis.axhline(
                objectives[name],
                color="red",
                linestyle="--",
                linewidth=1,
                label=f"SLO {objectives[name]:g} s",
            )
        axis.set_title(f"{name}: {histogram.removeprefix('streaming_')}", fontsize=9)
        axis.set_yscale("log")
        axis.set_ylabel("seconds")
        axis.grid(True, alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=7)
    for axis in list(axes.flat)[len(named) :]:
        axis.set_visible(False)
    figure.suptitle("Latency percentiles (10 s windows)")
    return _finish(figure, path)


def plot_lag(data: RunData, path: Path) -> Path:
    figure, axis = plt.subplots(figsize=(10, 4))
    for name, series in data.series.items():
        xs, ys = _over_time(
            series,
            data.started_at,
            lambda index, s=series: s.gauge("streaming_consumer_lag_records", None, index),
        )
        if xs:
            axis.plot(xs, ys, label=name)
    axis.set_xlabel("seconds since start")
    axis.set_ylabel("records behind")
    axis.set_title("Consumer lag (summed over partitions)")
    axis.grid(True, alpha=0.3)
    if axis.get_legend_handles_labels()[0]:
        axis.legend(fontsize=8)
    return _finish(figure, path)


def plot_models(data: RunData, path: Path) -> Path:
    models = model_services()
    figure, axes = plt.subplots(1, max(1, len(models)), figsize=(12, 4), squeeze=False)
    for axis, service in zip(axes.flat, models, strict=False):
        series = data.series.get(service)
        if series is not None:
            for gauge in MODEL_GAUGES:
                xs, ys = _over_time(
                    series,
                    data.started_at,
                    lambda index, s=series, g=gauge: s.gauge(
                        f"streaming_model_{g}", {"role": "champion"}, index
                    ),
                )
                if xs:
                    axis.plot(xs, ys, label=gauge)
        axis.set_ylim(-0.02, 1.02)
        axis.set_title(f"{service} model (champion, rolling)")
        axis.set_xlabel("seconds since start")
        axis.grid(True, alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=8)
        else:
            axis.text(0.5, 0.5, "no model metrics", ha="center", va="center", transform=axis.transAxes)
    return _finish(figure, path)


def plot_alerts(data: RunData, path: Path) -> Path:
    figure, axis = plt.subplots(figsize=(10, 3.5))
    colours = {"info": "tab:blue", "warning": "tab:orange", "critical": "tab:red"}
    kinds = sorted({seen.alert.kind for seen in data.alerts}) or ["none"]
    for severity, colour in colours.items():
        chosen = [seen for seen in data.alerts if seen.alert.severity == severity]
        if chosen:
            axis.scatter(
                [seen.seen_at - data.started_at for seen in chosen],
                [kinds.index(seen.alert.kind) for seen in chosen],
                c=colour,
                label=f"{severity} ({len(chosen)})",
                s=18,
                alpha=0.7,
            )
    axis.set_yticks(range(len(kinds)), kinds)
    axis.set_xlim(0, max(1.0, data.ended_at - data.started_at))
    axis.set_xlabel("seconds since start")
    axis.set_title(f"Alert timeline: {len(data.alerts)} alerts")
    axis.grid(True, axis="x", alpha=0.3)
    if data.alerts:
        axis.legend(fontsize=8, loc="upper left")
    else:
        axis.text(0.5, 0.5, "no alerts fired", ha="center", va="center", transform=axis.transAxes)
    return _finish(figure, path)


PLOTS = (
    ("throughput.png", "Throughput", plot_throughput),
    ("latency.png", "Latency percentiles", plot_latency),
    ("lag.png", "Consumer lag", plot_lag),
    ("models.png", "Model metrics", plot_models),
    ("alerts.png", "Alert timeline", plot_alerts),
)


def model_summary(data: RunData) -> dict[str, dict[str, Any]]:
    """Per model service: the champion's last metrics (None while not known) and its alerts' precision."""
    models: dict[str, dict[str, Any]] = {}
    for service in model_services():
        series = data.series.get(service)
        if series is None or series.latest is None:
            continue
        summary: dict[str, Any] = {}
        for gauge in MODEL_GAUGES:
            value = series.gauge(f"streaming_model_{gauge}", {"role": "champion"})
            summary[gauge] = None if value is None or math.isnan(value) else value
        precision, labelled = alert_precision(series)
        summary["alerts_labelled"] = int(labelled)
        summary["alert_precision"] = precision
        severities = sorted(
            {
                labels["severity"]
                for labels, _ in series.latest.values("streaming_model_alert_outcomes_total")
                if "severity" in labels
            }
        )
        summary["alert_precision_by_severity"] = {
            severity: alert_precision(series, severity)[0]
            for severity in severities
            if alert_precision(series, severity)[1]
        }
        models[service] = summary
    return models


def summary_dict(data: RunData) -> dict[str, Any]:
    alert_counts = Counter(f"{seen.alert.kind}/{seen.alert.severity}" for seen in data.alerts)
    failing = [check for check in data.dashboard_checks if not check.ok]
    return {
        "started_at": data.started_at,
        "duration_seconds": round(data.ended_at - data.started_at, 1),
        "bootstrap": data.bootstrap,
        "topic_prefix": data.topic_prefix,
        "stages": [stage.__dict__ for stage in data.stages],
        "prometheus": {"url": data.prometheus_url, "pid": data.prometheus_pid}
        if data.prometheus_url
        else None,
        "alerts": {"total": len(data.alerts), "by_kind_and_severity": dict(alert_counts)},
        "models": model_summary(data),
        "dashboard_check": {
            "queries": len(data.dashboard_checks),
            "empty_or_failing": [{"where": c.query.where, "expr": c.expr, "error": c.error} for c in failing],
        }
        if data.dashboard_checks
        else None,
        "notes": data.notes,
    }


def _cell(value: Any, kind: str = "") -> str:
    if value is None:
        return "-"
    if kind == "seconds":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    if kind == "bytes":
        return f"{value / 1_048_576:,.0f} MiB"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return html.escape(str(value))


def _known(value: float | None) -> str:
    return "not yet" if value is None else f"{value:.3f}"


def write_report(data: RunData, directory: Path) -> Path:
    """Writes the plots, summary.json and index.html; returns the index.html path."""
    directory.mkdir(parents=True, exist_ok=True)
    images = [(name, title) for name, title, plot in PLOTS if plot(data, directory / name)]
    summary = summary_dict(data)
    model_heads = "".join(f"<th>{name}</th>" for name in MODEL_GAUGES)
    model_rows = "".join(
        f"<tr><td>{html.escape(service)}</td>"
        + "".join(f"<td>{_known(values[name])}</td>" for name in MODEL_GAUGES)
        + f"<td>{_known(values['alert_precision'])}</td><td>{values['alerts_labelled']:,}</td></tr>"
        for service, values in summary["models"].items()
    )
    (directory / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    rows = "\n".join(
        "<tr>"
        + "".join(
            f"<td>{cell}</td>"
            for cell in (
                html.escape(stage.name),
                html.escape(stage.status),
                _cell(stage.events),
                _cell(stage.events_per_second),
                _cell(stage.p50_seconds, "seconds"),
                _cell(stage.p99_seconds, "seconds"),
                _cell(stage.cpu_seconds),
                _cell(stage.cpu_seconds_per_million_events),
                _cell(stage.peak_rss_bytes, "bytes"),
                _cell(stage.stopped_by),
            )
        )
        + "</tr>"
        for stage in data.stages
    )
    alerts = "".join(
        f"<tr><td>{seen.seen_at - data.started_at:,.1f}</td><td>{html.escape(seen.alert.kind)}</td>"
        f"<td>{html.escape(seen.alert.severity)}</td><td>{html.escape(seen.alert.entity_id)}</td>"
        f"<td>{_cell(seen.alert.score)}</td><td>{html.escape(seen.alert.explanation[:120])}</td></tr>"
        for seen in data.alerts[:200]
    )
    check_html = ""
    if data.dashboard_checks:
        failing = [check for check in data.dashboard_checks if not check.ok]
        items = "".join(
            f"<li>{html.escape(c.query.where)}: {html.escape(c.error or 'no series')}</li>" for c in failing
        )
        check_html = (
            f"<h2>Dashboard check</h2><p>{len(data.dashboard_checks) - len(failing)} of "
            f"{len(data.dashboard_checks)} panel queries returned series on Prometheus.</p><ul>{items}</ul>"
        )
    figures = "".join(
        f'<h2>{html.escape(title)}</h2><img src="{name}" alt="{html.escape(title)}">'
        for name, title in images
    )
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in data.notes)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>streaming demo run</title>
<style>body{{font-family:sans-serif;max-width:1300px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}
td:first-child,th:first-child{{text-align:left}}img{{max-width:100%;border:1px solid #eee}}</style></head>
<body><h1>streaming demo run</h1>
<p>{summary["duration_seconds"]} s on broker {html.escape(data.bootstrap)}, topic prefix
<code>{html.escape(data.topic_prefix or "(none)")}</code>; {len(data.alerts)} alerts.</p>
<h2>Stages</h2><table><tr><th>stage</th><th>status</th><th>events</th><th>events/s</th><th>p50</th><th>p99</th>
<th>CPU s</th><th>CPU s per 1M events</th><th>peak RSS</th><th>stopped by</th></tr>{rows}</table>
{f"<ul>{notes}</ul>" if notes else ""}
{figures}
{check_html}
<h2>Models</h2><p>The champion's metrics at the end of the run ("not yet": too few labels of each class to
know); alert precision is the share of labelled alerts whose event was positive.</p>
<table><tr><th>service</th>{model_heads}<th>alert precision</th><th>alerts labelled</th></tr>
{model_rows}</table>
<h2>Alerts</h2><table><tr><th>s</th><th>kind</th><th>severity</th><th>entity</th><th>score</th><th>why</th></tr>{alerts}</table>
</body></html>
"""
    index = directory / "index.html"
    index.write_text(page)
    return index
