"""`streaming broker` and the order in which a broker is chosen. These start a second broker on other ports,
so the suite's own broker is never disturbed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from streaming.broker import BrokerError, LocalBroker
from streaming.broker.local import process_alive
from streaming.config import BrokerSettings, Settings
from streaming.kafka import resolve_bootstrap
from tests.support.brokers import select_broker

pytestmark = pytest.mark.kafka


def cli(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env or {})}
    environment.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    return subprocess.run(
        [sys.executable, "-m", "streaming.cli.main", *arguments],
        capture_output=True,
        text=True,
        timeout=180,
        env=environment,
    )


@pytest.mark.slow
def test_broker_start_status_second_start_stop(tmp_path: Path) -> None:
    options = ["--port", "19392", "--data-dir", str(tmp_path / "broker")]
    try:
        started = cli("broker", "start", *options)
        assert started.returncode == 0, started.stderr
        assert started.stdout.strip() == "127.0.0.1:19392"

        status = cli("broker", "status", *options)
        assert status.returncode == 0 and status.stdout.startswith("running pid="), status.stdout
        pid = status.stdout.split("pid=")[1].split()[0]

        again = cli("broker", "start", *options)
        assert again.returncode == 0 and "already running" in again.stderr
        assert cli("broker", "status", *options).stdout.split("pid=")[1].split()[0] == pid

        logs = cli("broker", "logs", *options, "-n", "5")
        assert logs.returncode == 0 and "server.log" in logs.stdout
    finally:
        stopped = cli("broker", "stop", *options)
    assert stopped.returncode == 0 and stopped.stdout.strip() == "stopped"
    after = cli("broker", "status", *options)
    assert after.returncode == 3 and after.stdout.startswith("stopped")
    assert not process_alive(int(pid))


def test_environment_variable_wins_over_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka.example:9092")
    assert resolve_bootstrap(Settings()) == "kafka.example:9092"
    handle = select_broker(environ={"KAFKA_BOOTSTRAP_SERVERS": "kafka.example:9092"})
    assert (handle.bootstrap, handle.source) == ("kafka.example:9092", "environment")


@pytest.mark.slow
def test_local_broker_is_started_on_demand_when_nothing_is_configured(tmp_path: Path) -> None:
    local = BrokerSettings(port=19492, data_dir=tmp_path / "on-demand")
    assert not LocalBroker(local).status().running
    handle = select_broker(environ={}, local_settings=local)
    try:
        assert handle.source in ("local", "testcontainers")
        if handle.source == "local":
            assert handle.bootstrap == "127.0.0.1:19492"
            assert LocalBroker(local).status().answering
    finally:
        handle.close()
    assert not LocalBroker(local).status().running, "the session that started it stops it"


def test_missing_java_is_refused_with_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    broker = LocalBroker(BrokerSettings(port=19592, home=tmp_path / "home"))
    with pytest.raises(BrokerError, match="Java 17"):
        broker.start()


def test_missing_maven_is_refused_with_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    only_java = tmp_path / "bin"
    only_java.mkdir()
    java = shutil.which("java")
    assert java is not None
    (only_java / "java").symlink_to(java)
    monkeypatch.setenv("PATH", str(only_java))
    broker = LocalBroker(BrokerSettings(port=19592, home=tmp_path / "empty-cache"))
    with pytest.raises(BrokerError, match="Maven"):
        broker.start()
