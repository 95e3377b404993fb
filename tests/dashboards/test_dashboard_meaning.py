"""The dashboards mean something: run the pipeline with a real Prometheus scraping every service, then every
panel's query (Grafana macros and variables substituted) must return at least one series.

One short pipeline run (the demo machinery) serves every test here; it needs every service of the issue.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import httpx
import pytest

from streaming.config import Settings
from streaming.demo.dashboards import DASHBOARD_DIR, check_dashboards, describe_failures, load_dashboards
from streaming.demo.runner import Demo, DemoOptions, DemoResult, service_defaults
from tests.support.prometheus import require_binary

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

#: The series each service must expose (the issue's list, by service).
CONSUMER_SERIES = (
    "streaming_events_in_total",
    "streaming_events_out_total",
    "streaming_processing_seconds_bucket",
    "streaming_event_to_output_seconds_bucket",
    "streaming_consumer_lag_records",
)
MODEL_SERIES = (
    "streaming_model_score_bucket",
    "streaming_model_scores_total",
    "streaming_model_threshold",
    "streaming_alerts_emitted_total",
)
EXPECTED_SERIES: dict[str, tuple[str, ...]] = {
    "producer-sensors": ("streaming_producer_events_total", "streaming_producer_send_seconds_bucket"),
    "producer-transactions": ("streaming_producer_events_total", "streaming_producer_send_seconds_bucket"),
    "producer-shop": ("streaming_producer_events_total", "streaming_producer_send_seconds_bucket"),
    "downsampler": (
        *CONSUMER_SERIES,
        "streaming_open_windows",
        "streaming_state_entries",
        "streaming_late_events_total",
        "streaming_dead_letters_total",
        "streaming_window_input_readings_total",
        "streaming_windows_closed_total",
    ),
    "maintenance": (*CONSUMER_SERIES, *MODEL_SERIES, "streaming_model_anomaly_score_bucket"),
    "fraud": (
        *CONSUMER_SERIES,
        *MODEL_SERIES,
        "streaming_dead_letters_total",
        "streaming_fraud_rule_hits_total",
    ),
    "alerts": (
        "streaming_events_in_total",
        "streaming_alert_deliveries_total",
        "streaming_alert_delivery_seconds_bucket",
    ),
    "recommendations": (
        "streaming_events_in_total",
        "streaming_recommendation_learner_events_total",
        "streaming_recommendation_learner_model_version",
        "streaming_recommendation_precomputed_lists_total",
    ),
    "recommendations-api": (
        "streaming_recommendation_request_seconds_bucket",
        "streaming_recommendation_cache_lookups_total",
        "streaming_recommendation_catalogue_coverage_ratio",
    ),
}
#: Scraped too, without a port of the demo's own: the batch jobs' (churn's) metrics are pushed there.
SCRAPED_ONLY = ("pushgateway",)
MISSPELLED = "streaming_event_in_total"


@pytest.fixture(scope="module")
def pipeline(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[DemoResult, dict[str, Any]]:
    require_binary("prometheus")
    settings = Settings(kafka={"bootstrap_servers": kafka_bootstrap})
    options = DemoOptions(
        # Long enough for the churn demo's second trained week (its holdout ROC AUC panel).
        duration_seconds=60,
        # More failures than the demo's default, so failure labels and maintenance alerts arrive in time.
        service_options=service_defaults(failure_rate=6.0),
        report_root=tmp_path_factory.mktemp("reports"),
        free_ports=True,
        interactive=False,
        plain_interval_seconds=10,
        stop_timeout_seconds=15,
    )
    captured: dict[str, Any] = {}

    def while_running(demo: Demo) -> None:
        assert demo.prometheus is not None
        dashboards = load_dashboards(DASHBOARD_DIR)
        broken = copy.deepcopy(dashboards)
        panel = next(
            p for p in broken["pipeline-overview.json"]["panels"] if p["title"] == "Events consumed per stage"
        )
        panel["targets"][0]["expr"] = panel["targets"][0]["expr"].replace(
            "streaming_events_in_total", MISSPELLED
        )
        captured["broken"] = check_dashboards(
            demo.prometheus, {"pipeline-overview.json": broken["pipeline-overview.json"]}
        )
        captured["health"] = demo.prometheus.targets_health()
        captured["metrics"] = {
            name: httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            for name, port in demo.metrics_ports.items()
        }

    result = Demo(settings, options).run(while_running)
    return result, captured


def test_the_run_started_every_service_and_stopped_cleanly(
    pipeline: tuple[DemoResult, dict[str, Any]],
) -> None:
    result, captured = pipeline
    assert result.failed == {}
    assert result.leftovers == []
    assert set(captured["health"]) == set(EXPECTED_SERIES) | set(SCRAPED_ONLY)
    assert set(captured["health"].values()) == {"up"}, captured["health"]


def test_every_panel_query_returns_a_series(pipeline: tuple[DemoResult, dict[str, Any]]) -> None:
    result, _ = pipeline
    checks = result.dashboard_checks
    expected = sum(
        len(panel.get("targets", []))
        for board in load_dashboards(DASHBOARD_DIR).values()
        for panel in board["panels"]
        if panel["type"] != "row"
    )
    assert len([c for c in checks if c.query.panel_id]) == expected
    assert all(check.ok for check in checks), "panels without data:\n" + describe_failures(checks)


def test_a_misspelled_metric_name_fails_the_check(pipeline: tuple[DemoResult, dict[str, Any]]) -> None:
    result, captured = pipeline
    broken = [check for check in captured["broken"] if MISSPELLED in check.expr]
    assert len(broken) == 1 and not broken[0].ok and broken[0].series == 0
    original = [c for c in result.dashboard_checks if c.query.where == broken[0].query.where]
    assert original and original[0].ok


@pytest.mark.parametrize("service", sorted(EXPECTED_SERIES))
def test_each_service_exposes_the_listed_series(
    pipeline: tuple[DemoResult, dict[str, Any]], service: str
) -> None:
    _, captured = pipeline
    text = captured["metrics"][service]
    names = {
        line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")
    }
    missing = [series for series in EXPECTED_SERIES[service] if series not in names]
    assert not missing, f"{service} /metrics lacks {missing}\n{log_tail(pipeline[0], service)}"


def test_maintenance_and_fraud_alerts_reach_the_reference_receiver(
    pipeline: tuple[DemoResult, dict[str, Any]],
) -> None:
    """End to end: producers -> scoring -> alerts topic -> dispatcher -> signed webhook -> receiver."""
    result, _ = pipeline
    received = (result.report_dir / "logs" / "alert-receiver.log").read_text().splitlines()
    delivered = [line for line in received if line.startswith("20") and "[" in line]
    kinds = {word for line in delivered for word in line.split()[2:4]}
    assert {"maintenance", "fraud"} <= kinds, "\n".join(
        [*received[-20:], log_tail(result, "fraud"), log_tail(result, "alerts")]
    )


def log_tail(result: DemoResult, service: str, lines: int = 30) -> str:
    """The end of a service's log, so a failure here says what the service was doing."""
    path = result.report_dir / "logs" / f"{service}.log"
    if not path.is_file():
        return f"--- no log for {service}"
    own = [line for line in path.read_text(errors="replace").splitlines() if "kafka.net.selector" not in line]
    tail = own[-lines:]
    return "\n".join([f"--- {service}.log (last {len(tail)} lines)", *tail])


def test_the_run_left_a_report(pipeline: tuple[DemoResult, dict[str, Any]]) -> None:
    result, _ = pipeline
    assert result.index is not None and result.index.is_file()
    for image in ("throughput.png", "latency.png", "lag.png", "models.png", "alerts.png"):
        assert (Path(result.report_dir) / image).stat().st_size > 5_000, image
