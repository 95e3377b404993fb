"""`streaming replay`, `streaming record` and `streaming rewind`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from streaming.cli.common import add_common_options, bootstrap_for, settings_from_args
from streaming.config import Settings
from streaming.pacing import parse_speed
from streaming.replay.timeparse import format_time, parse_time
from streaming.services import registry

if TYPE_CHECKING:
    from streaming.replay.player import ReplaySummary


def _speed(text: str) -> float | None:
    try:
        return parse_speed(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--speed takes a positive factor or 'max', not {text!r}") from None


def _column_map(text: str) -> tuple[str, str]:
    source, separator, destination = text.partition("=")
    if not separator or not source or not destination:
        raise argparse.ArgumentTypeError(f"--map takes SOURCE=DESTINATION, not {text!r}")
    return source, destination


def add_replay_arguments(replay: argparse.ArgumentParser) -> None:
    replay.add_argument("file", nargs="?", type=Path, help="CSV, JSONL or Parquet file (read in chunks)")
    replay.add_argument("--topic", help="destination topic of a file replay (full name)")
    replay.add_argument("--from-topic", help="source topic of a time-range copy")
    replay.add_argument("--to-topic", help="destination topic of a time-range copy")
    replay.add_argument("--start", type=parse_time, help="range start, ISO-8601 or epoch seconds (inclusive)")
    replay.add_argument("--end", type=parse_time, help="range end, ISO-8601 or epoch seconds (exclusive)")
    replay.add_argument(
        "--speed",
        type=_speed,
        default=None,
        help="1 = recorded pace, N = N times faster, max = unpaced (default max)",
    )
    replay.add_argument("--time-column", help="column with the event time (epoch s or ms, or ISO-8601)")
    replay.add_argument("--key-column", help="column whose value becomes the record key")
    replay.add_argument(
        "--schema",
        choices=["raw", *sorted(registry().replay_schemas())],
        default="raw",
        help="map rows onto this event schema; raw passes rows through as JSON (default)",
    )
    replay.add_argument(
        "--log-format",
        choices=sorted(registry().replay_formats()),
        help="a whole log format mapped onto a system's topics: "
        + "; ".join(
            f"{name}: {fmt.description}" for name, fmt in sorted(registry().replay_formats().items())
        ),
    )
    replay.add_argument(
        "--items", type=Path, help="item metadata of a --log-format that has it apart (MovieLens u.item)"
    )
    replay.add_argument(
        "--map",
        type=_column_map,
        action="append",
        default=[],
        metavar="SRC=DST",
        help="rename a column before mapping (repeatable)",
    )
    replay.add_argument("--format", choices=("csv", "jsonl", "parquet"), help="default: from the suffix")
    replay.add_argument("--chunk-size", type=int, default=50_000, help="rows read at a time")
    replay.add_argument("--dead-letter", action="store_true", help="send bad rows to the dead-letter topic")
    replay.add_argument("--quiet", action="store_true", help="no progress display")
    add_common_options(replay)


def add_record_arguments(record: argparse.ArgumentParser) -> None:
    record.add_argument("--topic", required=True, help="topic to record (full name)")
    record.add_argument("--out", required=True, type=Path, help="FILE.parquet or FILE.jsonl")
    record.add_argument("--start", type=parse_time, help="ISO-8601 or epoch seconds (inclusive)")
    record.add_argument("--end", type=parse_time, help="ISO-8601 or epoch seconds (exclusive)")
    record.add_argument("--format", choices=("jsonl", "parquet"), help="default: from the suffix")
    record.add_argument("--quiet", action="store_true", help="no progress display")
    add_common_options(record)


def add_rewind_arguments(rewind: argparse.ArgumentParser) -> None:
    rewind.add_argument("--group", required=True, help="consumer group id")
    rewind.add_argument("--to", required=True, type=parse_time, help="ISO-8601 or epoch seconds")
    rewind.add_argument(
        "--topic",
        action="append",
        default=[],
        help="topic to rewind (repeatable; default: every topic the group has committed)",
    )
    rewind.add_argument("--dry-run", action="store_true", help="show the new offsets without changing them")
    add_common_options(rewind)


def _report(summary: ReplaySummary, verb: str) -> int:
    print(json.dumps(summary.to_dict()), flush=True)
    if summary.bad_row_count:
        print(
            f"streaming {verb}: {summary.bad_row_count} bad rows {summary.bad_rows}"
            + (
                f", {summary.dead_lettered} sent to the dead-letter topic"
                if summary.dead_lettered
                else " (not sent anywhere; --dead-letter sends them to the dead-letter topic)"
            ),
            file=sys.stderr,
        )
        for example in summary.bad_row_examples:
            print(f"  {example}", file=sys.stderr)
    if summary.error_count:
        print(
            f"streaming {verb}: {summary.error_count} records not delivered: {summary.errors}",
            file=sys.stderr,
        )
        return 1
    return 0


def replay(args: argparse.Namespace) -> int:
    from streaming.replay.copier import TopicRangeCopier
    from streaming.replay.player import FileReplayer
    from streaming.replay.signals import stop_on_signals

    settings = settings_from_args(args)
    copying = args.from_topic or args.to_topic
    if copying and args.file:
        print(
            "streaming replay: give either FILE --topic T, or --from-topic T --to-topic T2", file=sys.stderr
        )
        return 2
    if copying:
        if not (args.from_topic and args.to_topic):
            print("streaming replay: a copy needs both --from-topic and --to-topic", file=sys.stderr)
            return 2
        if args.start is None:
            print("streaming replay: a copy needs --start (ISO-8601 or epoch seconds)", file=sys.stderr)
            return 2
        copier = TopicRangeCopier(
            settings,
            args.from_topic,
            args.to_topic,
            start=args.start,
            end=args.end,
            speed=args.speed,
            bootstrap=bootstrap_for(settings),
            progress=not args.quiet,
            stop_event=stop_on_signals(),
        )
        return _report(copier.run(), "replay")
    if args.log_format:
        return _replay_log(args, settings)
    if not args.file or not args.topic:
        print("streaming replay: give FILE and --topic T (or --from-topic/--to-topic)", file=sys.stderr)
        return 2
    try:
        replayer = FileReplayer(
            settings,
            args.file,
            args.topic,
            schema=args.schema,
            time_column=args.time_column,
            key_column=args.key_column,
            mapping=dict(args.map),
            speed=args.speed,
            dead_letter=args.dead_letter,
            file_format=args.format,
            chunk_size=args.chunk_size,
            bootstrap=bootstrap_for(settings),
            progress=not args.quiet,
            stop_event=stop_on_signals(),
        )
    except (FileNotFoundError, ValueError) as error:
        print(f"streaming replay: {error}", file=sys.stderr)
        return 2
    return _report(replayer.run(), "replay")


def _replay_log(args: argparse.Namespace, settings: Settings) -> int:
    from streaming.replay.player import LogReplayer
    from streaming.replay.signals import stop_on_signals
    from streaming.services import LogStreams, registry, resolve

    if not args.file:
        print("streaming replay: --log-format needs the FILE to read", file=sys.stderr)
        return 2
    if args.topic:
        print(
            "streaming replay: --log-format writes to its system's own topics; leave out --topic",
            file=sys.stderr,
        )
        return 2
    log_format = registry().replay_formats()[args.log_format]
    try:
        streams = resolve(log_format.read)(args.file, args.items)
    except (FileNotFoundError, ValueError) as error:
        print(f"streaming replay: {error}", file=sys.stderr)
        return 2
    assert isinstance(streams, LogStreams)
    if streams.summary:
        print(f"streaming replay: {streams.summary}", file=sys.stderr)
    replayer = LogReplayer(
        settings,
        streams.streams,
        speed=args.speed,
        bootstrap=bootstrap_for(settings),
        label=f"replay {args.file.name} ({args.log_format})",
        progress=not args.quiet,
        stop_event=stop_on_signals(),
    )
    summary = replayer.run()
    summary.bad_rows = dict(streams.skipped)
    return _report(summary, "replay")


def record(args: argparse.Namespace) -> int:
    from streaming.replay.recorder import TopicRecorder
    from streaming.replay.signals import stop_on_signals

    settings = settings_from_args(args)
    try:
        recorder = TopicRecorder(
            settings,
            args.topic,
            args.out,
            start=args.start,
            end=args.end,
            file_format=args.format,
            bootstrap=bootstrap_for(settings),
            progress=not args.quiet,
            stop_event=stop_on_signals(),
        )
        return _report(recorder.run(), "record")
    except (LookupError, ValueError) as error:
        print(f"streaming record: {error}", file=sys.stderr)
        return 2


def rewind(args: argparse.Namespace) -> int:
    from streaming.kafka.groups import GroupActiveError, rewind_group

    settings = settings_from_args(args)
    try:
        plan = rewind_group(
            settings,
            args.group,
            args.to,
            topics=args.topic or None,
            bootstrap=bootstrap_for(settings),
            dry_run=args.dry_run,
        )
    except GroupActiveError as error:
        print(f"streaming rewind: refused: {error}", file=sys.stderr)
        return 3
    except LookupError as error:
        print(f"streaming rewind: {error}", file=sys.stderr)
        return 2
    print(plan.describe().replace(f"{plan.to_ms} ms", f"{format_time(plan.to_ms / 1000)}", 1))
    return 0
