"""`streaming demo`: runs the pipeline for a short duration, exits 0, stops every process, leaves a report.
Ctrl-C (SIGINT) mid-run still stops everything and still writes the report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _demo(report_dir: Path, bootstrap: str, duration: str, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streaming.cli.main",
            "demo",
            "--duration",
            duration,
            "--free-ports",
            "--report-dir",
            str(report_dir),
            "--plain",
            "--stop-timeout",
            "10",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def _summary(report_dir: Path) -> dict[str, Any]:
    (run,) = list(report_dir.iterdir())
    return json.loads((run / "summary.json").read_text())


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _assert_all_gone(summary: dict[str, Any]) -> None:
    pids = [stage["pid"] for stage in summary["stages"] if stage["pid"]]
    if summary.get("prometheus"):
        pids.append(summary["prometheus"]["pid"])
    assert pids
    assert [pid for pid in pids if _alive(pid)] == []


def test_a_short_demo_exits_zero_stops_everything_and_leaves_a_report(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    process = _demo(tmp_path, kafka_bootstrap, "12s")
    stdout, stderr = process.communicate(timeout=240)
    assert process.returncode == 0, stderr[-3000:]
    index = Path(stdout.strip().splitlines()[-1])
    assert index.name == "index.html" and index.is_file()
    html = index.read_text()
    for image in ("throughput.png", "latency.png", "lag.png", "models.png", "alerts.png"):
        assert f'src="{image}"' in html and (index.parent / image).is_file()
    summary = _summary(tmp_path)
    _assert_all_gone(summary)
    started = [stage for stage in summary["stages"] if not stage["status"].startswith("missing")]
    assert {stage["stopped_by"] for stage in started} <= {"SIGTERM", "exit"}, summary["stages"]
    assert "demo 12/12s" in stderr  # the plain live view's final block
    assert "producer-sensors" in stderr


def test_ctrl_c_stops_everything_and_still_writes_the_report(tmp_path: Path, kafka_bootstrap: str) -> None:
    process = _demo(tmp_path, kafka_bootstrap, "5m", "--no-prometheus")
    assert process.stderr is not None
    deadline = time.monotonic() + 120
    seen = ""
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        seen += line
        if "started producer-transactions" in line or ("missing" in line and "producer-transactions" in line):
            break
    time.sleep(3)
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=120)
    assert process.returncode == 130, seen + rest
    summary = _summary(tmp_path)
    assert any("interrupted" in note for note in summary["notes"])
    _assert_all_gone(summary)
    assert (Path(next(tmp_path.iterdir())) / "index.html").is_file()
