"""The processes of a demo run: every registered service that declares a `DemoProcess`, in start order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from streaming.services import DemoProcess, DemoRun, StageMetrics, registry


@dataclass(frozen=True)
class PlannedProcess:
    """One process of the run: the service's name and how the demo runs it.

    >>> from streaming.services import DemoProcess
    >>> PlannedProcess("downsampler", DemoProcess("windows", ("consume", "windows"))).command_text
    'streaming consume windows'
    """

    name: str
    process: DemoProcess

    @property
    def command_text(self) -> str:
        return "streaming " + " ".join(self.process.command)

    @property
    def serves_metrics(self) -> bool:
        process = self.process
        return process.metrics is not None and (
            process.metrics_option != "--metrics-port" or "--metrics-port" in process.common_options
        )

    def argv(self, run: DemoRun, common: dict[str, str]) -> list[str]:
        """The command words, the common options it accepts, then its own arguments for this run."""
        arguments = list(self.process.command)
        for option, value in common.items():
            if option in self.process.common_options:
                arguments += [option, value]
        return arguments + self.process.arguments(run)

    def metrics_port(self, run: DemoRun, choose: Callable[[], int]) -> int | None:
        """The port its /metrics will be on: chosen by the demo, or the one its own arguments give."""
        if not self.serves_metrics:
            return None
        if self.process.metrics_option == "--metrics-port":
            return choose()
        own = self.process.arguments(run)
        option = self.process.metrics_option
        return int(own[own.index(option) + 1]) if option in own else None


def planned_processes() -> list[PlannedProcess]:
    """Every demo process, lowest `start_order` first (receivers, then consumers, then producers)."""
    services = registry().services.values()
    planned = [PlannedProcess(service.name, service.demo) for service in services if service.demo is not None]
    return sorted(planned, key=lambda item: (item.process.start_order, item.name))


def stage_metrics() -> dict[str, StageMetrics]:
    return {
        item.name: item.process.metrics for item in planned_processes() if item.process.metrics is not None
    }


def model_services() -> list[str]:
    return [item.name for item in planned_processes() if item.process.model_metrics]


def latency_objectives() -> dict[str, float]:
    return {
        item.name: item.process.slo_seconds
        for item in planned_processes()
        if item.process.slo_seconds is not None
    }
