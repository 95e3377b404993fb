"""The run report states the models' final metrics and the precision of their alerts."""

from __future__ import annotations

from streaming.demo.report import RunData, summary_dict
from streaming.demo.samples import ServiceSeries, parse_exposition

METRICS = """# TYPE streaming_model_roc_auc gauge
streaming_model_roc_auc{service="fraud",role="champion"} NaN
# TYPE streaming_model_pr_auc gauge
streaming_model_pr_auc{service="fraud",role="champion"} 0.25
# TYPE streaming_model_alert_outcomes counter
streaming_model_alert_outcomes_total{service="fraud",severity="critical",outcome="true"} 3.0
streaming_model_alert_outcomes_total{service="fraud",severity="critical",outcome="false"} 1.0
streaming_model_alert_outcomes_total{service="fraud",severity="warning",outcome="false"} 4.0
"""


def test_summary_reports_alert_precision_and_unknown_metrics_as_not_known() -> None:
    series = ServiceSeries("fraud")
    series.snapshots.append(parse_exposition(METRICS, 100.0))
    data = RunData(0.0, 100.0, "127.0.0.1:9092", "demo", {"fraud": series}, [], [])
    models = summary_dict(data)["models"]
    assert models["fraud"]["roc_auc"] is None and models["fraud"]["pr_auc"] == 0.25
    assert models["fraud"]["alerts_labelled"] == 8
    assert models["fraud"]["alert_precision"] == 3 / 8
    assert models["fraud"]["alert_precision_by_severity"] == {"critical": 0.75, "warning": 0.0}


def test_the_report_page_shows_the_models_and_their_alert_precision(tmp_path) -> None:
    from streaming.demo.report import write_report

    series = ServiceSeries("fraud")
    series.snapshots.append(parse_exposition(METRICS, 100.0))
    data = RunData(0.0, 100.0, "127.0.0.1:9092", "demo", {"fraud": series}, [], [])
    page = write_report(data, tmp_path).read_text()
    models = page.split("<h2>Models</h2>")[1].split("<h2>")[0]
    assert "alert precision" in models and "<td>0.375</td>" in models and "not yet" in models
