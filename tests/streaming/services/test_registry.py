"""A service declares itself once: the toy service, defined only in the tests, gets its topics, settings,
port, command and demo entry, and runs as its own process against the real broker, with nothing under
`streaming/` knowing it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from streaming.config import Settings
from streaming.demo.services import planned_processes
from streaming.kafka import ensure_topics, make_admin
from streaming.schemas import encode
from streaming.services import RegistryError, Service, registered, registry
from streaming.topics import TopicSpec
from tests.services_support import ROOT
from tests.streaming.services.toy import SERVICE as TOY
from tests.streaming.services.toy import ToyNumber, ToySettings
from tests.support.kafka import produce, read_all

T0 = 1_767_225_600.0


def test_the_toy_gets_its_topics_settings_port_command_alert_kind_and_demo_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STREAMING_TOY__MULTIPLIER", "3.5")
    with registered(TOY) as services:
        settings = Settings(topics={"prefix": "p."})
        assert settings.section("toy", ToySettings).multiplier == 3.5
        assert settings.topic_name("toy_numbers") == "p.toy-numbers"
        assert settings.metrics.port_for("toy") == 9199
        assert "toy" in services.alert_kinds()
        assert "toy" in [item.name for item in planned_processes()]
        from streaming.cli.main import build_parser
        from streaming.config.reference import settings_table

        parsed = build_parser().parse_args(["consume", "toy", "--idle-exit", "1"])
        assert parsed.idle_exit == 1.0
        assert "`toy.multiplier`" in settings_table() and "`topics.names.toy_numbers`" in settings_table()
    assert "toy" not in registry().services


def test_nothing_under_streaming_names_the_toy() -> None:
    core = [path for path in (ROOT / "streaming").rglob("*.py") if "toy" in path.read_text().lower()]
    assert core == []


def test_two_services_declaring_one_topic_differently_are_refused() -> None:
    other = Service(
        name="other-toy", description="x", topics=(TopicSpec("toy_numbers", "key", "Something else."),)
    )
    with pytest.raises(RegistryError, match="toy_numbers"), registered(TOY, other):
        pass


@pytest.mark.kafka
def test_the_toy_runs_from_the_command_line_in_its_own_process(settings: Settings, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "STREAMING_SERVICES": "tests.streaming.services.toy:SERVICE",
        "STREAMING_TOY__MULTIPLIER": "3",
        "PYTHONPATH": str(ROOT),
    }
    with registered(TOY):
        admin = make_admin(settings, settings.kafka.bootstrap_servers or "")
        try:
            ensure_topics(admin, settings, only=["toy_numbers", "toy_products"])
        finally:
            admin.close()
        numbers = [ToyNumber(key=f"k-{i % 3}", value=float(i), event_time=T0 + i) for i in range(30)]
        produce(settings, settings.topic_name("toy_numbers"), [(n.key.encode(), encode(n)) for n in numbers])
        command = [
            sys.executable, "-m", "streaming.cli.main", "consume", "--bootstrap",
            settings.kafka.bootstrap_servers or "", "toy", "--topic-prefix", settings.topics.prefix,
            "--idle-exit", "4", "--duration", "90", "--no-metrics",
        ]  # fmt: skip
        finished = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert finished.returncode == 0, finished.stdout + finished.stderr
        assert "toy: 30 records in" in finished.stdout
        products = read_all(settings, settings.topic_name("toy_products"), expected=30)
    values = sorted(msgspec.json.decode(record.value, type=ToyNumber).value for record in products)
    assert values == [3.0 * i for i in range(30)]
