"""`pip install .` without extras gives a working `streaming`: every import the CLI makes is a runtime
dependency. Installed into a fresh virtualenv, the demo's help and a short demo run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services_support import ROOT

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


@pytest.fixture(scope="module")
def plain_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    environment = tmp_path_factory.mktemp("plain") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(environment)], check=True, timeout=120)
    python = environment / "bin" / "python"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(ROOT)], capture_output=True, text=True, timeout=900
    )
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    return environment / "bin" / "streaming"


def _run(command: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_the_demo_help_works_from_a_plain_install(plain_install: Path, tmp_path: Path) -> None:
    finished = _run([str(plain_install), "demo", "--help"], tmp_path, 120)
    assert finished.returncode == 0, finished.stderr
    assert "--duration" in finished.stdout and "--machines" in finished.stdout


def test_a_short_demo_runs_from_a_plain_install(
    plain_install: Path, tmp_path: Path, kafka_bootstrap: str
) -> None:
    finished = _run(
        [
            str(plain_install),
            "demo",
            "--duration",
            "10",
            "--bootstrap",
            kafka_bootstrap,
            "--free-ports",
            "--plain",
        ],
        tmp_path,
        600,
    )
    assert finished.returncode == 0, finished.stdout[-4000:] + finished.stderr[-4000:]
    assert "Traceback" not in finished.stderr
    report = Path(finished.stdout.strip().splitlines()[-1])
    report = report if report.is_absolute() else tmp_path / report
    assert report.name == "index.html" and report.is_file()
