"""What a service declares about itself, once: commands, topics, settings, metrics port, schemas, alert
kinds, where its state lives, and its place in the demo."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from streaming.topics import TopicSpec

if TYPE_CHECKING:
    from streaming.config import Settings


@dataclass(frozen=True)
class Command:
    """One `streaming ...` command.

    `arguments` and `run` are `"module:function"` references. `arguments(parser)` adds the command's
    options; its module must be light (argparse only), because every CLI start imports it to build
    `--help`. `run(args)` returns the exit code; its module is imported only when the command runs, so one
    command's heavy libraries never slow another.

    Parameters
    ----------
    path
        The words after `streaming`, e.g. `("consume", "windows")`.
    help
        One line for the parent's `--help`.
    arguments
        `"module:function"` that adds the options.
    run
        `"module:function"` that runs the command.
    description
        The command's own `--help` text (defaults to `help`).

    >>> command = Command(("consume", "widget"), "count", "widget.cli:add_arguments", "widget.cli:run")
    >>> command.name
    'streaming consume widget'
    """

    path: tuple[str, ...]
    help: str
    arguments: str
    run: str
    description: str = ""

    @property
    def name(self) -> str:
        return "streaming " + " ".join(self.path)


@dataclass(frozen=True)
class CommandGroup:
    """A word that groups commands, e.g. `consume` or `churn`, with its help line."""

    path: tuple[str, ...]
    help: str
    description: str = ""


@dataclass(frozen=True)
class StageMetrics:
    """Which series describe a running process in the demo's live view and report.

    Parameters
    ----------
    rate_in, rate_out
        Counter names whose rates are the stage's input and output (None: not shown).
    latency
        Histogram name whose p99 is shown.
    out_filter
        Label values the output counter is restricted to (e.g. `{"outcome": "delivered"}`).
    lag
        Show `streaming_consumer_lag_records`.
    """

    rate_in: str | None
    rate_out: str | None
    latency: str | None
    out_filter: dict[str, str] | None = None
    lag: bool = True


#: The series of a service built on the core's consume loop.
CONSUMER_STAGE = StageMetrics(
    "streaming_events_in_total", "streaming_events_out_total", "streaming_event_to_output_seconds"
)


class DemoRun:
    """What the demo tells a service about the run: its options, settings and values shared between hooks.

    `shared(name, make)` returns the same value to every hook that asks for `name` in one run (e.g. the
    alert receiver's port, needed both by the receiver's arguments and by the dispatcher's environment).

    >>> run = DemoRun(argparse.Namespace(speedup=60.0), settings=None, report_dir=Path("."))
    >>> run.shared("port", lambda: 9000), run.shared("port", lambda: 1)
    (9000, 9000)
    """

    def __init__(self, options: argparse.Namespace, settings: Settings | None, report_dir: Path) -> None:
        self.options = options
        self.settings = settings
        self.report_dir = report_dir
        #: Variables a service's `demo_setup` exports to every process of the run (e.g. where a server is).
        self.environment: dict[str, str] = {}
        self._shared: dict[str, Any] = {}

    def shared(self, name: str, make: Callable[[], Any]) -> Any:
        if name not in self._shared:
            self._shared[name] = make()
        return self._shared[name]


def _no_arguments(run: DemoRun) -> list[str]:
    return []


def _no_environment(run: DemoRun) -> dict[str, str]:
    return {}


#: Options every service command of the demo accepts unless its `DemoProcess` says otherwise.
COMMON_DEMO_OPTIONS: tuple[str, ...] = ("--bootstrap", "--topic-prefix", "--duration", "--metrics-port")


@dataclass(frozen=True)
class DemoProcess:
    """How `streaming demo` runs a service: as its own process, `streaming <command> <arguments>`.

    Parameters
    ----------
    stage
        What the process does, in a few words, for the live view and the report.
    command
        The words after `streaming`.
    arguments
        Extra arguments, computed from the run (`DemoRun`): e.g. `["--speedup", "120"]`.
    environment
        Variables exported to every process of the run (e.g. where alerts go).
    start_order
        Lower starts first: consumers (50) before producers (90), so nothing is missed.
    common_options
        Which of `--bootstrap --topic-prefix --duration --metrics-port` the command accepts.
    metrics
        How the live view reads the process's rates; None if it serves no /metrics.
    model_metrics
        The process exports the `streaming_model_*` gauges (the live view shows them).
    slo_seconds
        The latency objective the report marks on the process's latency plot.
    metrics_option
        The option that takes the port its /metrics is served on (an HTTP service serves it on its own
        port).
    address
        What the demo prints for a person to open (e.g. a storefront's URL); None: nothing.
    """

    stage: str
    command: tuple[str, ...]
    arguments: Callable[[DemoRun], list[str]] = _no_arguments
    environment: Callable[[DemoRun], dict[str, str]] = _no_environment
    start_order: int = 50
    common_options: tuple[str, ...] = COMMON_DEMO_OPTIONS
    metrics: StageMetrics | None = CONSUMER_STAGE
    model_metrics: bool = False
    slo_seconds: float | None = None
    metrics_option: str = "--metrics-port"
    address: Callable[[DemoRun], str] | None = None


@dataclass(frozen=True)
class StateLocation:
    """Where a service keeps state, so that `streaming state reset --service NAME` can clear it.

    Parameters
    ----------
    group_id
        The consumer group (without the topic prefix), from the settings.
    checkpoint_dir
        The directory of its file checkpoints, if it uses them.
    changelog_stores
        Names of its changelog-backed stores, if it uses them.
    """

    group_id: Callable[[Settings], str]
    checkpoint_dir: Callable[[Settings], Path] | None = None
    changelog_stores: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReplayFormat:
    """A log format `streaming replay FILE --log-format NAME` maps onto a system's topics: a whole
    dataset (an interaction log with its item metadata, say) rather than rows of one event type.

    Parameters
    ----------
    name
        The `--log-format` choice.
    description
        One line for `--help`.
    read
        `"module:function"`; `function(path, extra_path)` returns a `LogStreams`: the records per catalog
        topic in sending order, and counts of what was skipped and why. It raises `ValueError` with a clear
        message for bad input.

    >>> ReplayFormat("movielens", "MovieLens 100k", "consumers.x.replay:movielens").name
    'movielens'
    """

    name: str
    description: str
    read: str


@dataclass
class LogStreams:
    """What a `ReplayFormat` reader returns: (logical topic, records) in sending order, and the skips."""

    streams: list[tuple[str, Any]]
    skipped: dict[str, int] = field(default_factory=dict)
    summary: str = ""


@dataclass(frozen=True)
class ReplaySchema:
    """An event schema `streaming replay --schema NAME` maps a file's rows onto.

    Parameters
    ----------
    name
        The `--schema` choice.
    row_type
        What one row becomes (a msgspec Struct; its fields are the columns read).
    key_column
        The column whose value keys the records by default.
    wire_type
        What goes on the topic, if not `row_type` (also validates recorded files replayed with this schema).
    combine
        Builds one wire event from consecutive rows of one key (e.g. readings into one batch record);
        with `group_by`, which names the key of a row event. None: one record per row.
    group_size
        How many rows `combine` takes at most.

    >>> from contracts import Label
    >>> ReplaySchema("label", Label, key_column="entity_id").wire
    <class 'contracts.label.Label'>
    """

    name: str
    row_type: type
    key_column: str
    wire_type: type | None = None
    combine: Callable[[list[Any]], Any] | None = None
    group_by: Callable[[Any], str] | None = None
    group_size: int = 10

    @property
    def wire(self) -> type:
        return self.wire_type or self.row_type


@dataclass(frozen=True)
class Service:
    """Everything the core needs to know about a service, declared in the service's own package.

    Parameters
    ----------
    name
        The service's name: its metrics label, its key in `metrics.ports`, its demo process name.
    description
        One line.
    commands
        Its `streaming ...` commands, and `groups` for words of its own (e.g. `churn`).
    topics
        The topics it owns or uses; the same topic declared by several services must be declared alike.
    settings_section, settings
        Its `[section]` of the settings and the pydantic model of that section. Several services may share
        one section (with the same model).
    metrics_port
        Its default /metrics port (`metrics.ports.<name>` overrides it).
    schemas
        The event types it owns (documentation, round-trip tests).
    alert_kinds
        The `Alert.kind` values it emits (subscribers choose among the registered kinds).
    state
        Where its state lives, for `streaming state reset`.
    demo
        How the demo runs it; None: not part of the demo.
    demo_options
        `"module:function"` adding this service's options to `streaming demo --help` (e.g. fleet size).
    demo_setup
        `"module:function"` called with the `DemoRun` before any process starts (e.g. to start a server the
        service needs); it returns what stops it again.
    replay_schemas
        Event schemas `streaming replay --schema` maps file rows onto.
    replay_formats
        Whole log formats `streaming replay --log-format` maps onto this system's topics.

    >>> widget = Service(name="widget", description="counts widgets", metrics_port=9199)
    >>> widget.name, widget.metrics_port
    ('widget', 9199)
    """

    name: str
    description: str
    commands: tuple[Command, ...] = ()
    groups: tuple[CommandGroup, ...] = ()
    topics: tuple[TopicSpec, ...] = ()
    settings_section: str | None = None
    settings: type[BaseModel] | None = None
    metrics_port: int | None = None
    schemas: tuple[type, ...] = ()
    alert_kinds: tuple[str, ...] = ()
    state: StateLocation | None = None
    demo: DemoProcess | None = None
    demo_options: str | None = None
    demo_setup: str | None = None
    replay_schemas: tuple[ReplaySchema, ...] = ()
    replay_formats: tuple[ReplayFormat, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
