"""The services the demo runs, and whether this installation's CLI offers each one yet.

A service is a `streaming ...` command line run as its own process. Which commands and options exist is read
from the CLI parser itself, so the demo starts what is there, passes only options the command accepts, and
reports the rest as missing instead of pretending.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field

from streaming.cli.main import build_parser


@dataclass(frozen=True)
class ServiceSpec:
    """One process of the pipeline.

    `metrics_key` names its port in `settings.metrics` (None: it serves no /metrics); `options` are extra
    flags passed only when the command accepts them; `required_options` must be accepted or the service is
    reported as missing.

    >>> spec = ServiceSpec("fraud", "fraud scoring", ("consume", "fraud"), metrics_key="fraud")
    >>> spec.command_text
    'streaming consume fraud'
    """

    name: str
    stage: str
    command: tuple[str, ...]
    metrics_key: str | None = None
    options: dict[str, str | None] = field(default_factory=dict)
    required_options: tuple[str, ...] = ()

    @property
    def command_text(self) -> str:
        return "streaming " + " ".join(self.command)


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


class CommandCatalog:
    """The option strings each `streaming` subcommand accepts, read from the real parser.

    >>> catalog = CommandCatalog()
    >>> "--bootstrap" in (catalog.options(("topics", "create")) or set())
    True
    >>> catalog.options(("no-such-command",)) is None
    True
    """

    def __init__(self, parser: argparse.ArgumentParser | None = None) -> None:
        self.parser = parser or build_parser()

    def find(self, command: Sequence[str]) -> argparse.ArgumentParser | None:
        parser: argparse.ArgumentParser | None = self.parser
        for word in command:
            if parser is None:
                return None
            parser = _subparsers(parser).get(word)
        return parser

    def options(self, command: Sequence[str]) -> set[str] | None:
        """Every option string of the command, or None when the command does not exist."""
        parser = self.find(command)
        if parser is None:
            return None
        return {option for action in parser._actions for option in action.option_strings}

    def missing_reason(self, spec: ServiceSpec) -> str | None:
        """Why the service cannot run with this CLI, or None when it can."""
        options = self.options(spec.command)
        if options is None:
            return f"`{spec.command_text}` does not exist yet"
        lacking = [option for option in spec.required_options if option not in options]
        if lacking:
            return f"`{spec.command_text}` lacks {', '.join(lacking)}"
        return None

    def argv(self, spec: ServiceSpec, common: dict[str, str | None]) -> list[str]:
        """Command words plus every option (common first, then the service's) the command accepts."""
        accepted = self.options(spec.command) or set()
        argv = list(spec.command)
        for option, value in {**common, **spec.options}.items():
            if option not in accepted:
                continue
            argv.append(option)
            if value is not None:
                argv.append(value)
        return argv

    def skipped_options(self, spec: ServiceSpec, common: dict[str, str | None]) -> list[str]:
        accepted = self.options(spec.command) or set()
        return [option for option in {**common, **spec.options} if option not in accepted]


def pipeline_services(
    speedup: float,
    receiver_port: int,
    receiver_secret: str,
    transaction_rate: float = 200.0,
    machines: int = 100,
    failure_rate: float = 2.0,
) -> list[ServiceSpec]:
    """Both producers, the downsampler, both scoring services, the alert dispatcher and its receiver.

    Sensor event time runs `speedup` times faster than wall time and transactions come at
    `transaction_rate` per second, so machine failures and chargebacks (the labels) arrive within a short
    demo and the models learn and alert. A small share of late and malformed records exercises the
    late-events and dead-letter paths the dashboards show.
    """
    faults: dict[str, str | None] = {"--late-fraction": "0.002", "--bad-fraction": "0.001"}
    return [
        ServiceSpec(
            "producer-sensors",
            "sensors produced",
            ("produce", "sensors"),
            "producer_sensors",
            # A smaller fleet failing more often: labels within a minute, and a load that leaves room for
            # every stage on a laptop.
            {
                "--speedup": f"{speedup:g}",
                "--machines": str(machines),
                "--failure-rate": f"{failure_rate:g}",
                **faults,
            },
        ),
        ServiceSpec(
            "producer-transactions",
            "transactions produced",
            ("produce", "transactions"),
            "producer_transactions",
            # Real card traffic is about one payment per card-day; a fixed rate gives the fraud service
            # enough to score, and moves event time fast enough that chargebacks arrive within the demo.
            {"--rate": f"{transaction_rate:g}", **faults},
        ),
        ServiceSpec("downsampler", "windows", ("consume", "windows"), "downsampler"),
        ServiceSpec("maintenance", "maintenance scoring", ("consume", "maintenance"), "maintenance"),
        ServiceSpec("fraud", "fraud scoring", ("consume", "fraud"), "fraud"),
        ServiceSpec("alerts", "alert delivery", ("consume", "alerts"), "alerts"),
        ServiceSpec(
            "alert-receiver",
            "reference receiver",
            ("alerts", "receive"),
            None,
            {"--port": str(receiver_port), "--secret": receiver_secret},
            required_options=("--port", "--secret"),
        ),
    ]
