"""`streaming evaluate FILE --label COLUMN ...`: compare model strategies offline on a labelled file."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from consumers.learning.settings import DEFAULT_STRATEGIES
from streaming.cli.common import add_common_options, parse_duration, settings_from_args

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="labelled .csv or .parquet file")
    parser.add_argument("--label", required=True, help="the label column (1/true = positive)")
    parser.add_argument("--time", help="event-time column (epoch seconds or ISO dates); default: row number")
    parser.add_argument(
        "--delay",
        type=parse_duration,
        default=0.0,
        help="label delay in event time, e.g. 0, 30s, 1h (default 0)",
    )
    parser.add_argument("--task", choices=["maintenance", "fraud", "generic"], default="generic")
    parser.add_argument(
        "--strategies",
        default=",".join(DEFAULT_STRATEGIES),
        help="comma-separated: plain, weighted, under, over, under+weight, hoeffding, arf3, arf3+under, "
        "<model>+<imbalance>, and the baselines constant and rules (fraud)",
    )
    parser.add_argument(
        "--threshold", type=float, help="fixed alert threshold (default: the task's settings)"
    )
    parser.add_argument("--no-rules", action="store_true", help="fraud: score every row with the model")
    parser.add_argument("--out", type=Path, help="write the table as JSON here")
    parser.add_argument("--plot", type=Path, help="write a PNG of ROC AUC over the stream here")
    add_common_options(parser)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from consumers.learning.evaluate import evaluate_frame, load_frame, plot
    from consumers.learning.settings import ThresholdSettings
    from streaming.console import ProgressReporter

    settings = settings_from_args(args)
    strategies = [name.strip() for name in args.strategies.split(",") if name.strip()]
    if not strategies:
        print("evaluate: --strategies is empty", file=sys.stderr)
        return 2
    try:
        frame = load_frame(args.file)
    except (OSError, ValueError) as error:
        print(f"evaluate: {error}", file=sys.stderr)
        return 2
    threshold = ThresholdSettings(value=args.threshold) if args.threshold is not None else None
    total = len(frame) * len(strategies)
    try:
        with ProgressReporter(f"evaluate {args.file.name}", total=total, unit="rows") as progress:
            results = evaluate_frame(
                frame,
                args.label,
                strategies,
                task=args.task,
                time_column=args.time,
                delay_seconds=args.delay,
                settings=settings,
                threshold=threshold,
                use_rules=not args.no_rules,
                advance=progress.advance,
            )
    except (KeyError, ValueError) as error:
        print(f"evaluate: {error}", file=sys.stderr)
        return 2
    table = Table(
        title=f"{args.file.name}: {len(frame):,} rows, {int(frame[args.label].astype(bool).sum()):,} "
        f"positives, labels after {args.delay:g}s"
    )
    for column in (
        "strategy",
        "model",
        "ROC AUC",
        "PR AUC",
        "precision",
        "recall",
        "F1",
        "threshold",
        "µs/event",
        "skipped",
    ):
        table.add_column(column, justify="left" if column in ("strategy", "model") else "right")
    for result in results:
        table.add_row(
            result.strategy,
            result.model,
            _number(result.roc_auc),
            _number(result.pr_auc),
            _number(result.precision),
            _number(result.recall),
            _number(result.f1),
            _number(result.threshold),
            f"{result.microseconds_per_event:,.0f}",
            f"{result.skipped_by_rules:,}",
        )
    Console(width=160).print(table)
    if args.out:
        document = {
            "file": str(args.file),
            "task": args.task,
            "label": args.label,
            "time": args.time,
            "delay_seconds": args.delay,
            "rows": len(frame),
            "strategies": [result.as_dict() for result in results],
        }
        args.out.write_text(json.dumps(document, indent=2) + "\n")
        print(f"wrote {args.out}", file=sys.stderr)
    if args.plot:
        plot(results, args.plot, f"{args.file.name} ({args.task}), labels after {args.delay:g}s")
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def _number(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"
