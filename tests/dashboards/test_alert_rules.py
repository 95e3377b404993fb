"""Operational alert rules and Alertmanager routing, checked by the real Prometheus tools.

A missing binary fails these tests (`make observability-tools` installs them from Debian).
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml

from consumers.alerting.receiver import AlertReceiver

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "dashboards" / "prometheus" / "rules"
RULE_TESTS = ROOT / "dashboards" / "prometheus" / "tests"
ALERTMANAGER = ROOT / "dashboards" / "alertmanager"
CONTRACTS = (ROOT / "docs" / "CONTRACTS.md").read_text()

REQUIRED_ALERTS = {
    "ConsumerLagHigh",
    "FraudScoringLatencySLOBreached",
    "MaintenanceScoringLatencySLOBreached",
    "DeadLetterRateHigh",
    "NoInputEvents",
    "ModelRocAucDegraded",
    "ModelDriftDetected",
}


def tool(name: str) -> str:
    path = shutil.which(name) or f"/usr/bin/{name}"
    if not Path(path).is_file():
        raise AssertionError(f"{name} is not installed: `make observability-tools` installs it from Debian")
    return path


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)


def rules() -> list[dict[str, object]]:
    return [
        rule
        for path in sorted(RULES.glob("*.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def test_promtool_check_rules() -> None:
    files = sorted(str(path) for path in RULES.glob("*.yml"))
    assert files
    result = run(tool("promtool"), "check", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    files = sorted(str(path) for path in RULE_TESTS.glob("*.yml"))
    assert files
    result = run(tool("promtool"), "test", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_covered_by_a_firing_unit_test() -> None:
    tested = set()
    for path in RULE_TESTS.glob("*.yml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            tested |= {check["alertname"] for check in case["alert_rule_test"] if check.get("exp_alerts")}
    names = {str(rule["alert"]) for rule in rules()}
    assert names >= REQUIRED_ALERTS
    assert names == tested, f"alerts without a firing unit test: {sorted(names - tested)}"


def test_rules_carry_severity_kind_summary_and_known_metrics() -> None:
    known = set(re.findall(r"`?(streaming_[a-z_]+)", CONTRACTS))
    for rule in rules():
        labels = rule["labels"]
        assert isinstance(labels, dict)
        assert labels["severity"] in ("warning", "critical"), rule["alert"]
        assert labels["kind"] == "operational"
        assert "summary" in rule["annotations"] and "description" in rule["annotations"]  # type: ignore[operator]
        for metric in re.findall(r"streaming_[a-z_]+", str(rule["expr"])):
            base = re.sub(r"_(bucket|count|sum)$", "", metric)
            assert metric in known or base in known, f"{rule['alert']}: {metric} is not in CONTRACTS.md"


@pytest.mark.parametrize("name", ["alertmanager.yml", "alertmanager.local.yml"])
def test_amtool_check_config(name: str) -> None:
    result = run(tool("amtool"), "check-config", str(ALERTMANAGER / name))
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load((ALERTMANAGER / name).read_text())
    urls = [hook["url"] for receiver in config["receivers"] for hook in receiver.get("webhook_configs", [])]
    assert urls and all(url.endswith("/alertmanager") for url in urls)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.timeout(90)
def test_real_alertmanager_delivers_to_the_reference_receiver(tmp_path: Path) -> None:
    """The local config's routing, with the receiver's port and short waits, through a real Alertmanager."""
    config = yaml.safe_load((ALERTMANAGER / "alertmanager.local.yml").read_text())
    with AlertReceiver(port=0, secrets=["unused"], quiet=True) as receiver:
        for hook in config["receivers"][0]["webhook_configs"]:
            hook["url"] = receiver.url + "/alertmanager"
        config["route"]["group_wait"] = "1s"
        for route in config["route"].get("routes", []):
            route["group_wait"] = "1s"
        config_path = tmp_path / "alertmanager.yml"
        config_path.write_text(yaml.safe_dump(config))
        port = _free_port()
        process = subprocess.Popen(
            [
                tool("prometheus-alertmanager"),
                f"--config.file={config_path}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
                f"--storage.path={tmp_path / 'data'}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            api = f"http://127.0.0.1:{port}/api/v2/alerts"
            alert = {
                "labels": {
                    "alertname": "ConsumerLagHigh",
                    "service": "fraud",
                    "severity": "warning",
                    "kind": "operational",
                },
                "annotations": {"summary": "fraud is 12k records behind"},
            }
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
                try:
                    if httpx.post(api, json=[alert], timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "alertmanager did not start"
                time.sleep(0.3)
            assert receiver.wait_for(1, timeout=30, operational=True)
        finally:
            process.terminate()
            process.wait(10)
            if process.stderr is not None:
                process.stderr.close()
    received = receiver.operational[0]
    assert received["labels"]["alertname"] == "ConsumerLagHigh"
    assert received["status"] == "firing" and received["fingerprint"]
