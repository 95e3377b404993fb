"""The scrape config is valid for the real promtool, and scrapes every service the pipeline runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from streaming.config import MetricsSettings
from tests.support.prometheus import require_binary

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "dashboards" / "prometheus" / "prometheus.yml"
SERVICES = ("producer-sensors", "producer-transactions", "downsampler", "maintenance", "fraud", "alerts")


def test_promtool_accepts_the_scrape_config() -> None:
    promtool = require_binary("promtool")
    result = subprocess.run(
        [promtool, "check", "config", str(CONFIG)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_promtool_rejects_a_broken_config(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    broken = tmp_path / "prometheus.yml"
    broken.write_text("scrape_configs:\n  - job_name: x\n    scrape_interval: soon\n")
    result = subprocess.run(
        [promtool, "check", "config", str(broken)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0


def test_every_service_is_scraped_on_its_configured_port() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    ports = MetricsSettings()
    for service in SERVICES:
        assert service in targets, f"{service} is not scraped"
        assert targets[service][0].endswith(f":{ports.port_for(service)}"), targets[service]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert config["rule_files"]
