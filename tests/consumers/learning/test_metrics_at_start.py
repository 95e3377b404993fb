"""Every learning series the Grafana dashboards query exists from the first scrape of each service."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from streaming.config import Settings

pytestmark = [pytest.mark.kafka]

DASHBOARDS = Path(__file__).resolve().parents[3] / "dashboards" / "grafana" / "dashboards"
LEARNING = re.compile(r"\b(streaming_(?:model|fraud|alerts_emitted)_?[a-z0-9_]*)")


def dashboard_metrics(service: str) -> set[str]:
    """Learning metric names queried with this service, without the _bucket/_count suffixes."""
    names: set[str] = set()
    for path in DASHBOARDS.glob("*.json"):
        for expression in re.findall(r'"expr":\s*"((?:[^"\\]|\\.)*)"', path.read_text()):
            expression = json.loads(f'"{expression}"')
            if f'service="{service}"' not in expression and "streaming_fraud_" not in expression:
                continue
            for name in LEARNING.findall(expression):
                if name.startswith("streaming_fraud_") and service != "fraud":
                    continue
                names.add(re.sub(r"_(bucket|count|sum)$", "", name))
    return names


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape_at_start(settings: Settings, service: str) -> str:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streaming.cli.main",
        "consume",
        service,
        "--duration",
        "20",
        "--metrics-port",
        str(port),
        "--bootstrap",
        settings.kafka.bootstrap_servers or "",
        "--topic-prefix",
        settings.topics.prefix,
    ]
    environment = {**os.environ, "STREAMING_PROCESSING__STATE_DIR": settings.processing.state_dir}
    process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except httpx.TransportError:
                if process.poll() is not None:
                    break
                time.sleep(0.2)
        output = process.stdout.read().decode() if process.poll() is not None and process.stdout else ""
        raise AssertionError(f"no /metrics from {service}: {output[-2000:]}")
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize("service", ["fraud", "maintenance"])
def test_dashboard_series_exist_at_start(topics: Settings, service: str) -> None:
    names = dashboard_metrics(service)
    assert {"streaming_model_roc_auc", "streaming_model_label_delay_seconds"} <= names
    text = scrape_at_start(topics, service)
    for name in sorted(names):
        lines = [line for line in text.splitlines() if re.match(rf"{name}(_bucket|_total)?\{{", line)]
        if name.startswith("streaming_fraud_"):
            assert lines, f"{name} missing at start"
            continue
        ours = [line for line in lines if f'service="{service}"' in line]
        assert ours, f"{name}{{service={service!r}}} missing at start"
        if any('role="' in line for line in ours):
            for role in ("champion", "challenger"):
                assert any(f'role="{role}"' in line for line in ours), f"{name} {role} missing at start"
