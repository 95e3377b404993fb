"""The core's own commands, declared like a service's, and the groups services add their commands to."""

from __future__ import annotations

from streaming.services import Command, CommandGroup

GROUPS: tuple[CommandGroup, ...] = (
    CommandGroup(("broker",), "run the embedded single-node Apache Kafka (KRaft)"),
    CommandGroup(("topics",), "create or list the pipeline's topics"),
    CommandGroup(("config",), "show the effective settings or the settings reference"),
    CommandGroup(("state",), "list or reset a service's saved state (checkpoints, changelogs, offsets)"),
    CommandGroup(("consume",), "run a consumer service"),
    CommandGroup(("produce",), "simulated sources into Kafka"),
    CommandGroup(("serve",), "run an HTTP service"),
)


def _command(
    path: tuple[str, ...], help: str, module: str, arguments: str, run: str, description: str = ""
) -> Command:
    return Command(path, help, f"{module}:{arguments}", f"{module}:{run}", description)


CORE_COMMANDS: tuple[Command, ...] = (
    _command(
        ("broker", "start"),
        "start the broker (no-op when running) and wait until it answers",
        "streaming.cli.broker",
        "add_start_arguments",
        "start",
    ),
    _command(
        ("broker", "stop"), "shut the broker down cleanly", "streaming.cli.broker", "add_arguments", "stop"
    ),
    _command(
        ("broker", "status"),
        "say whether the broker runs and answers",
        "streaming.cli.broker",
        "add_arguments",
        "status",
    ),
    _command(
        ("broker", "logs"),
        "print the broker's last log lines",
        "streaming.cli.broker",
        "add_logs_arguments",
        "logs",
    ),
    _command(
        ("topics", "create"),
        "create every catalog topic that is missing (idempotent)",
        "streaming.cli.topics",
        "add_create_arguments",
        "create",
    ),
    _command(
        ("topics", "list"),
        "show the catalog and whether each topic exists",
        "streaming.cli.topics",
        "add_list_arguments",
        "list_topics",
    ),
    _command(
        ("config", "show"),
        "print the effective settings (file + environment + defaults)",
        "streaming.cli.config",
        "add_show_arguments",
        "show",
    ),
    _command(
        ("config", "table"),
        "print every setting as a Markdown table",
        "streaming.cli.config",
        "add_table_arguments",
        "table",
    ),
    _command(
        ("state", "list"),
        "show where each service keeps state and what is there",
        "streaming.cli.state",
        "add_list_arguments",
        "list_state",
    ),
    _command(
        ("state", "reset"),
        "start a service from scratch: clear its checkpoints or changelogs and rewind its group",
        "streaming.cli.state",
        "add_reset_arguments",
        "reset",
    ),
    _command(
        ("state", "watermark"),
        "set a windowed service's latest event time per partition (e.g. after a record far in the future)",
        "streaming.cli.state",
        "add_watermark_arguments",
        "set_watermark",
    ),
    _command(
        ("replay",),
        "replay a CSV/JSONL/Parquet file into a topic, or copy a time range of a topic",
        "streaming.replay.cli",
        "add_replay_arguments",
        "replay",
        "Replay FILE into --topic, or copy --from-topic's [--start, --end) into --to-topic.",
    ),
    _command(
        ("record",),
        "dump a topic, or a time range of it, to Parquet or JSONL",
        "streaming.replay.cli",
        "add_record_arguments",
        "record",
    ),
    _command(
        ("rewind",),
        "reset a stopped consumer group's offsets to a point in time, to reprocess from there",
        "streaming.replay.cli",
        "add_rewind_arguments",
        "rewind",
    ),
    _command(
        ("demo",),
        "run every service together on the local broker, with Prometheus; live view; report",
        "streaming.cli.demo",
        "add_arguments",
        "run",
        "Starts the local broker if none is configured, creates the topics (fresh ones per run unless "
        "--topic-prefix is given), starts every registered service that takes part in the demo as its "
        "own process with its own /metrics port, and Prometheus (when installed); shows rates, p99 "
        "latencies, lag, model metrics and alerts live, stops everything after --duration and writes "
        "<report-dir>/<timestamp>/index.html with plots.",
    ),
    _command(
        ("bench",),
        "run the benchmarks (Kafka client ceiling, each stage, the whole pipeline); print JSON",
        "streaming.cli.bench",
        "add_arguments",
        "run",
        "Runs every script of benchmarks/ as its own process against the configured broker (the local one, "
        "started if needed) and prints one JSON document: the host, each script's output, and the "
        "headline numbers.",
    ),
)
