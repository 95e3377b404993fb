"""docker-compose.yml parses and wires Kafka, every service, Prometheus, Alertmanager and Grafana together.

Docker Compose itself is not installed here, so this checks the structure the files rely on.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from streaming.cli.main import build_parser
from streaming.config import MetricsSettings
from tests.support.prometheus import require_binary

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _host_path(volume: str) -> Path:
    return (ROOT / volume.split(":")[0]).resolve()


def test_every_pipeline_part_is_a_service() -> None:
    expected = {
        "kafka",
        "producer-sensors",
        "producer-transactions",
        "downsampler",
        "maintenance",
        "fraud",
        "alert-dispatcher",
        "alert-receiver",
        "prometheus",
        "alertmanager",
        "grafana",
    }
    assert expected <= set(SERVICES)
    assert SERVICES["kafka"]["image"].startswith("apache/kafka:")
    for name, service in SERVICES.items():
        assert "image" in service or "build" in service, name


def test_mounted_configuration_exists() -> None:
    mounts = {
        volume
        for name in ("prometheus", "alertmanager", "grafana")
        for volume in SERVICES[name]["volumes"]
        if volume.startswith("./")
    }
    for volume in mounts:
        assert _host_path(volume).exists(), f"{volume}: nothing to mount"
    prometheus_dir = _host_path(next(v for v in SERVICES["prometheus"]["volumes"] if v.startswith("./")))
    assert (prometheus_dir / "prometheus.yml").is_file()
    alertmanager_dir = _host_path(next(v for v in SERVICES["alertmanager"]["volumes"] if v.startswith("./")))
    assert (alertmanager_dir / "alertmanager.yml").is_file()


def test_prometheus_scrapes_the_compose_host_names() -> None:
    config = yaml.safe_load((ROOT / "dashboards" / "prometheus" / "prometheus.yml").read_text())
    hosts = {
        target.split(":")[0]
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    assert hosts - {"localhost"} <= set(SERVICES)


def test_service_commands_use_the_configured_metrics_ports() -> None:
    ports = MetricsSettings()
    for name, service_name in (
        ("producer-sensors", "producer-sensors"),
        ("producer-transactions", "producer-transactions"),
        ("downsampler", "downsampler"),
        ("maintenance", "maintenance"),
        ("fraud", "fraud"),
        ("alert-dispatcher", "alerts"),
    ):
        command = SERVICES[name]["command"]
        assert command[command.index("--metrics-port") + 1] == str(ports.port_for(service_name)), name


def test_service_commands_parse_with_the_cli() -> None:
    """Each container's command is a valid `streaming` command line."""
    parser = build_parser()
    checked = 0
    for service in SERVICES.values():
        command = service.get("command")
        if not command or service.get("image") != "streaming:local":
            continue
        parser.parse_args(command)
        checked += 1
    assert checked >= 1, "no container command could be checked"


def test_amtool_accepts_the_alertmanager_config() -> None:
    amtool = require_binary("amtool")
    config = ROOT / "dashboards" / "alertmanager" / "alertmanager.yml"
    result = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_loads_the_provisioning() -> None:
    volumes = SERVICES["grafana"]["volumes"]
    assert any(v.endswith(":/etc/grafana/provisioning:ro") for v in volumes)
    assert any(v.endswith(":/var/lib/grafana/dashboards:ro") for v in volumes)
