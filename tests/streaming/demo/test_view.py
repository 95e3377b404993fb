"""The live view shows rates, p99, lag, model metrics and alerts, on a terminal (rich) and without one."""

from __future__ import annotations

import io

from rich.console import Console

from contracts import Alert
from streaming.demo.alert_feed import SeenAlert
from streaming.demo.samples import ServiceSeries, parse_exposition
from streaming.demo.view import LiveView

FRAUD = """# TYPE streaming_events_in counter
streaming_events_in_total{{service="fraud",topic="t"}} {count}
# TYPE streaming_events_out counter
streaming_events_out_total{{service="fraud",topic="scores"}} {count}
# TYPE streaming_event_to_output_seconds histogram
streaming_event_to_output_seconds_bucket{{service="fraud",le="0.05"}} {count}
streaming_event_to_output_seconds_bucket{{service="fraud",le="+Inf"}} {count}
streaming_consumer_lag_records{{service="fraud",topic="t",partition="0"}} 42
streaming_model_precision{{service="fraud",role="champion"}} 0.75
"""


def _inputs() -> tuple[dict[str, ServiceSeries], dict[str, str], list[SeenAlert]]:
    series = ServiceSeries("fraud")
    for second, count in enumerate((0, 500, 1000)):
        series.snapshots.append(parse_exposition(FRAUD.format(count=count), 100.0 + second))
    alert = Alert(
        alert_id="fraud-1",
        kind="fraud",
        entity_id="c-7",
        severity="critical",
        score=0.97,
        event_time=1.7e9,
        created_at=1.7e9,
    )
    statuses = {
        "fraud": "running",
        "maintenance": "missing: `streaming consume maintenance` does not exist yet",
    }
    return {"fraud": series}, statuses, [SeenAlert(1.7e9, alert)]


def test_plain_view_prints_rates_latency_lag_models_and_alerts() -> None:
    stream = io.StringIO()
    series, statuses, alerts = _inputs()
    with LiveView(interactive=False, stream=stream) as view:
        view.update(3, 10, series, statuses, alerts, force=True)
    text = stream.getvalue()
    assert "ALERT" in text and "c-7" in text and "critical" in text
    assert "in 500/s" in text and "out 500/s" in text and "lag 42" in text
    assert "p99 " in text and "precision 0.750" in text
    assert "missing" in text


def test_rich_view_renders_the_same_information() -> None:
    series, statuses, alerts = _inputs()
    view = LiveView(interactive=True, stream=io.StringIO())
    console = Console(file=io.StringIO(), width=160, record=True)
    console.print(view._render(3, 10, *_stage_and_model_rows(series, statuses), alerts))
    text = console.export_text()
    for expected in ("stages", "500/s", "42", "0.750", "c-7", "missing"):
        assert expected in text, expected


def _stage_and_model_rows(series: dict[str, ServiceSeries], statuses: dict[str, str]) -> tuple[list, list]:  # type: ignore[type-arg]
    from streaming.demo.view import model_rows, stage_rows

    return stage_rows(series, statuses), model_rows(series)


MODELS_EARLY = """# TYPE streaming_model_roc_auc gauge
streaming_model_roc_auc{service="fraud",role="champion"} NaN
# TYPE streaming_model_pr_auc gauge
streaming_model_pr_auc{service="fraud",role="champion"} 0.0
# TYPE streaming_model_alert_outcomes counter
streaming_model_alert_outcomes_total{service="fraud",severity="critical",outcome="true"} 3.0
streaming_model_alert_outcomes_total{service="fraud",severity="critical",outcome="false"} 1.0
streaming_model_alert_outcomes_total{service="fraud",severity="warning",outcome="false"} 4.0
"""


def test_a_metric_without_enough_labels_shows_as_not_yet_known_and_alert_precision_is_shown() -> None:
    from streaming.demo.view import model_rows

    series = ServiceSeries("fraud")
    series.snapshots.append(parse_exposition(MODELS_EARLY, 100.0))
    stream = io.StringIO()
    with LiveView(interactive=False, stream=stream) as view:
        view.update(3, 10, {"fraud": series}, {"fraud": "running"}, [], force=True)
    text = stream.getvalue()
    assert "roc_auc not yet" in text and "nan" not in text.lower()
    assert "pr_auc 0.000" in text  # a real zero stays a zero
    assert "alert precision 0.375 of 8" in text
    [row] = model_rows({"fraud": series})
    assert row.alert_precision == 3 / 8 and row.alerts_labelled == 8
