"""The Prometheus helper runs the real server, scrapes a live /metrics endpoint and answers queries."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, start_http_server

from streaming.demo.prometheus import scrape_config
from tests.support.prometheus import free_port, running_prometheus, wait_for_series


def test_scrapes_a_live_endpoint_and_answers_instant_queries(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    counter = Counter("helper_probe_events", "Events seen by the probe.", ["kind"], registry=registry)
    counter.labels(kind="a").inc(3)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        with running_prometheus({"probe": f"127.0.0.1:{port}"}, tmp_path / "prometheus") as prometheus:
            result = wait_for_series(prometheus, 'helper_probe_events_total{kind="a"}')
            assert [float(item["value"][1]) for item in result] == [3.0]
            assert result[0]["metric"]["job"] == "probe"
            assert prometheus.targets_health() == {"probe": "up"}
            assert prometheus.query("helper_probe_misspelled_total") == []
            pid = prometheus.pid
        assert pid is not None and prometheus.pid is None
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_scrape_config_has_rule_files_and_alertmanager() -> None:
    config = scrape_config({"a": "127.0.0.1:1"}, 0.5, rule_files=["r.yml"], alertmanagers=["127.0.0.1:9093"])
    assert config["global"]["scrape_interval"] == "500ms"
    assert config["rule_files"] == ["r.yml"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:9093"]
