"""The demo reads the real CLI: it passes only accepted options and reports missing commands honestly."""

from __future__ import annotations

import argparse

from streaming.demo.services import CommandCatalog, ServiceSpec, pipeline_services


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streaming")
    commands = parser.add_subparsers(dest="command")
    produce = commands.add_parser("produce").add_subparsers(dest="kind")
    sensors = produce.add_parser("sensors")
    for option in ("--bootstrap", "--metrics-port", "--speedup"):
        sensors.add_argument(option)
    return parser


def test_only_accepted_options_are_passed() -> None:
    catalog = CommandCatalog(_parser())
    spec = ServiceSpec(
        "producer-sensors",
        "s",
        ("produce", "sensors"),
        "producer_sensors",
        {"--speedup": "10", "--nope": "1"},
    )
    argv = catalog.argv(spec, {"--bootstrap": "b:1", "--duration": "5", "--metrics-port": "9"})
    assert argv == ["produce", "sensors", "--bootstrap", "b:1", "--metrics-port", "9", "--speedup", "10"]
    assert catalog.skipped_options(spec, {"--duration": "5"}) == ["--duration", "--nope"]


def test_missing_commands_and_required_options_are_reported() -> None:
    catalog = CommandCatalog(_parser())
    assert (
        catalog.missing_reason(ServiceSpec("x", "x", ("consume", "fraud")))
        == "`streaming consume fraud` does not exist yet"
    )
    lacking = ServiceSpec("y", "y", ("produce", "sensors"), required_options=("--secret",))
    assert catalog.missing_reason(lacking) == "`streaming produce sensors` lacks --secret"
    assert catalog.missing_reason(ServiceSpec("z", "z", ("produce", "sensors"))) is None


def test_the_pipeline_has_every_service_of_the_issue() -> None:
    names = [spec.name for spec in pipeline_services(100, 1234, "s")]
    assert names == [
        "producer-sensors",
        "producer-transactions",
        "downsampler",
        "maintenance",
        "fraud",
        "alerts",
        "alert-receiver",
    ]
    receiver = pipeline_services(100, 1234, "s")[-1]
    assert receiver.options == {"--port": "1234", "--secret": "s"}
