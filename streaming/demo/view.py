"""The live view: rates per stage, p99 latencies, lag, model metrics and alerts as they fire.

On a terminal it is a rich Live display redrawn every second; without one (CI, pipes) it prints a compact
block every few seconds and one line per alert, so logs stay readable.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from streaming.demo.alert_feed import SeenAlert
from streaming.demo.samples import ServiceSeries
from streaming.demo.services import model_services, stage_metrics

MODEL_GAUGES = ("roc_auc", "pr_auc", "precision", "recall", "f1")
#: How a model metric that is not known yet (too few labels of each class: the service exports NaN) shows.
NOT_YET_KNOWN = "not yet"
ALERT_OUTCOMES = "streaming_model_alert_outcomes_total"


@dataclass(frozen=True)
class StageRow:
    name: str
    status: str
    rate_in: float | None
    rate_out: float | None
    p99_seconds: float | None
    lag: float | None


@dataclass(frozen=True)
class ModelRow:
    service: str
    values: dict[str, float | None]
    threshold: float | None
    labels_joined: float | None
    drifts: float | None
    alert_precision: float | None = None
    alerts_labelled: float = 0.0


def alert_precision(data: ServiceSeries, severity: str | None = None) -> tuple[float | None, float]:
    r"""The share of a service's labelled alerts that were true (None before any), and how many were labelled.

    >>> from streaming.demo.samples import parse_exposition
    >>> series = ServiceSeries("doc")
    >>> series.snapshots.append(parse_exposition(
    ...     '# TYPE streaming_model_alert_outcomes counter\n'
    ...     'streaming_model_alert_outcomes_total{severity="critical",outcome="true"} 1\n'
    ...     'streaming_model_alert_outcomes_total{severity="critical",outcome="false"} 3\n', 1.0))
    >>> alert_precision(series), alert_precision(series, "warning")
    ((0.25, 4.0), (None, 0.0))
    """
    where = {} if severity is None else {"severity": severity}
    true = data.gauge(ALERT_OUTCOMES, {**where, "outcome": "true"}) or 0.0
    false = data.gauge(ALERT_OUTCOMES, {**where, "outcome": "false"}) or 0.0
    labelled = true + false
    return (true / labelled if labelled else None), labelled


def stage_rows(series: Mapping[str, ServiceSeries], statuses: Mapping[str, str]) -> list[StageRow]:
    rows = []
    stages = stage_metrics()
    for name, status in statuses.items():
        metrics = stages.get(name)
        data = series.get(name)
        if metrics is None or data is None:
            rows.append(StageRow(name, status, None, None, None, None))
            continue
        rows.append(
            StageRow(
                name,
                status,
                data.rate(metrics.rate_in) if metrics.rate_in else None,
                data.rate(metrics.rate_out, metrics.out_filter) if metrics.rate_out else None,
                data.quantile(metrics.latency, 0.99) if metrics.latency else None,
                data.gauge("streaming_consumer_lag_records") if metrics.lag else None,
            )
        )
    return rows


def model_rows(series: Mapping[str, ServiceSeries]) -> list[ModelRow]:
    rows = []
    for service in model_services():
        data = series.get(service)
        if data is None or data.latest is None:
            continue
        champion = {"role": "champion"}
        rows.append(
            ModelRow(
                service,
                {name: data.gauge(f"streaming_model_{name}", champion) for name in MODEL_GAUGES},
                data.gauge("streaming_model_threshold"),
                data.gauge("streaming_model_labels_total", {"outcome": "joined"}),
                data.gauge("streaming_model_drift_detected_total"),
                *alert_precision(data),
            )
        )
    return rows


def rate_text(value: float | None) -> str:
    """>>> rate_text(12345.6), rate_text(None)
    ('12,346/s', '-')
    """
    return "-" if value is None else f"{value:,.0f}/s"


def seconds_text(value: float | None) -> str:
    """>>> seconds_text(0.0123), seconds_text(2.5), seconds_text(None)
    ('12.3 ms', '2.50 s', '-')
    """
    if value is None:
        return "-"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def number_text(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def metric_text(value: float | None) -> str:
    """A model metric: `-` without a series, `not yet` while too few labels make it unknown (never 0.000).

    >>> metric_text(0.8123), metric_text(float("nan")), metric_text(None), metric_text(0.0)
    ('0.812', 'not yet', '-', '0.000')
    """
    if value is not None and math.isnan(value):
        return NOT_YET_KNOWN
    return number_text(value, 3)


def precision_text(model: ModelRow) -> str:
    if model.alert_precision is None:
        return NOT_YET_KNOWN
    return f"{model.alert_precision:.3f} of {model.alerts_labelled:,.0f}"


def alert_text(seen: SeenAlert) -> str:
    alert = seen.alert
    clock = time.strftime("%H:%M:%S", time.localtime(seen.seen_at))
    score = f" score {alert.score:.2f}" if alert.score is not None else ""
    explanation = f" ({alert.explanation[:60]})" if alert.explanation else ""
    return f"{clock} {alert.severity:8} {alert.kind:11} {alert.entity_id}{score}{explanation}"


class LiveView:
    """Renders the state of the run; `update` is called about once a second by the demo."""

    def __init__(
        self, interactive: bool, plain_interval_seconds: float = 5.0, stream: TextIO | None = None
    ) -> None:
        self.interactive = interactive
        self.plain_interval_seconds = plain_interval_seconds
        self.stream = stream or sys.stderr
        self._console = Console(file=self.stream)
        self._live: Live | None = None
        self._last_plain = 0.0
        self._alerts_printed = 0

    def __enter__(self) -> LiveView:
        if self.interactive:
            self._live = Live(
                Text("starting..."), console=self._console, refresh_per_second=2, transient=False
            )
            self._live.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def update(
        self,
        elapsed: float,
        duration: float,
        series: Mapping[str, ServiceSeries],
        statuses: Mapping[str, str],
        alerts: list[SeenAlert],
        force: bool = False,
    ) -> None:
        stages = stage_rows(series, statuses)
        models = model_rows(series)
        if self._live is not None:
            self._live.update(self._render(elapsed, duration, stages, models, alerts))
            return
        for seen in alerts[self._alerts_printed :]:
            print(f"ALERT {alert_text(seen)}", file=self.stream, flush=True)
        self._alerts_printed = len(alerts)
        now = time.monotonic()
        if force or now - self._last_plain >= self.plain_interval_seconds:
            self._last_plain = now
            print(self._plain(elapsed, duration, stages, models, len(alerts)), file=self.stream, flush=True)

    def _plain(
        self,
        elapsed: float,
        duration: float,
        stages: list[StageRow],
        models: list[ModelRow],
        alert_count: int,
    ) -> str:
        lines = [f"demo {elapsed:,.0f}/{duration:,.0f}s, {alert_count} alerts"]
        for row in stages:
            if row.status != "running":
                lines.append(f"  {row.name:22} {row.status}")
                continue
            parts = [f"  {row.name:22}"]
            if row.rate_in is not None:
                parts.append(f"in {rate_text(row.rate_in)}")
            if row.rate_out is not None:
                parts.append(f"out {rate_text(row.rate_out)}")
            if row.p99_seconds is not None:
                parts.append(f"p99 {seconds_text(row.p99_seconds)}")
            if row.lag is not None:
                parts.append(f"lag {number_text(row.lag)}")
            lines.append(" ".join(parts))
        for model in models:
            values = " ".join(f"{name} {metric_text(value)}" for name, value in model.values.items())
            lines.append(
                f"  model {model.service:16} {values} labels {number_text(model.labels_joined)}"
                f" alert precision {precision_text(model)}"
            )
        return "\n".join(lines)

    def _render(
        self,
        elapsed: float,
        duration: float,
        stages: list[StageRow],
        models: list[ModelRow],
        alerts: list[SeenAlert],
    ) -> Group:
        header = Text(
            f"streaming demo: {elapsed:,.0f} s of {duration:,.0f} s, {len(alerts)} alerts", style="bold"
        )
        stage_table = Table(title="stages", expand=True)
        for column in ("stage", "status", "in", "out", "p99 latency", "lag"):
            stage_table.add_column(column, justify="left" if column in ("stage", "status") else "right")
        for row in stages:
            style = (
                "green"
                if row.status == "running"
                else "yellow"
                if row.status in ("starting", "not started")
                else "red"
            )
            stage_table.add_row(
                row.name,
                Text(row.status, style=style),
                rate_text(row.rate_in),
                rate_text(row.rate_out),
                seconds_text(row.p99_seconds),
                number_text(row.lag),
            )
        model_table = Table(title="online models (champion, rolling)", expand=True)
        for column in ("service", *MODEL_GAUGES, "threshold", "labels joined", "drifts", "alert precision"):
            model_table.add_column(column, justify="left" if column == "service" else "right")
        for model in models:
            model_table.add_row(
                model.service,
                *(metric_text(value) for value in model.values.values()),
                number_text(model.threshold, 3),
                number_text(model.labels_joined),
                number_text(model.drifts),
                precision_text(model),
            )
        alert_table = Table(title="latest alerts", expand=True)
        alert_table.add_column("alert")
        for seen in alerts[-8:]:
            alert_table.add_row(alert_text(seen))
        return Group(header, stage_table, model_table, alert_table)
