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


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0 or math.isnan(value):
        raise argparse.ArgumentTypeError(f"a threshold is a score between 0 and 1, not {text}")
    return value


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="labelled .csv or .parquet file, one row per event")
    parser.add_argument(
        "--label",
        required=True,
        help="the label column: booleans, 0/1 or true/false; anything else needs --positive",
    )
    parser.add_argument(
        "--positive",
        metavar="VALUE",
        help="the label value that means positive (e.g. UP, yes, 1); every other value is negative",
    )
    parser.add_argument(
        "--time",
        help="event-time column (epoch seconds or milliseconds, or ISO-8601 dates); rows are sorted by it. "
        "Default: the row number, one second apart",
    )
    parser.add_argument(
        "--delay",
        type=parse_duration,
        default=0.0,
        help="how long after its event a label becomes known, in event time: 0, 30s, 1h "
        "(default 0: the label of each row is known before the next row)",
    )
    parser.add_argument(
        "--task",
        choices=["maintenance", "fraud", "generic"],
        default="generic",
        help="whose features to build: maintenance (sensor columns, window statistics, machine baselines), "
        "fraud (transaction columns, per-card history, the prefilter rules), or generic (the numeric "
        "columns as they are, and one-hot text columns with few values). Default generic",
    )
    parser.add_argument(
        "--strategies",
        default=",".join(DEFAULT_STRATEGIES),
        help="comma-separated strategies to compare: default (the task's configured champion), plain, "
        "weighted, under, over, under+weight, additive, hoeffding, arfN, amfN, blendN, any "
        "<model>+<imbalance> (e.g. arf3+under), and the baselines constant and rules (fraud). "
        f"Default {','.join(DEFAULT_STRATEGIES)}",
    )
    parser.add_argument(
        "--features",
        type=_names,
        metavar="A,B,...",
        help="use exactly these columns as features (no column is then left out as an id or a leak)",
    )
    parser.add_argument(
        "--exclude",
        type=_names,
        default=[],
        metavar="A,B,...",
        help="columns never to use as features (ids, columns that leak the label)",
    )
    parser.add_argument(
        "--key",
        help="maintenance: the machine column whose history the features keep "
        "(default: machine_id, key, entity_id or unit when present)",
    )
    parser.add_argument(
        "--threshold",
        type=_probability,
        help="a fixed alert threshold on the score, 0..1 (default: the task's threshold settings, an "
        "adaptive threshold within the alert budget)",
    )
    parser.add_argument(
        "--no-rules", action="store_true", help="fraud: do not apply the prefilter rules, score every row"
    )
    parser.add_argument("--out", type=Path, help="also write the table as JSON to this file")
    parser.add_argument("--plot", type=Path, help="also write a PNG of ROC AUC over the stream to this file")
    add_common_options(parser)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from consumers.learning.evaluate import InputError, evaluate_frame, load_frame, plot
    from consumers.learning.inputs import FeaturePlan
    from consumers.learning.settings import ThresholdSettings
    from streaming.console import ProgressReporter

    settings = settings_from_args(args)
    strategies = _names(args.strategies)
    if not strategies:
        print("evaluate: --strategies is empty", file=sys.stderr)
        return 2
    try:
        frame = load_frame(args.file)
    except InputError as error:
        print(f"evaluate: {error}", file=sys.stderr)
        return 2
    threshold = None
    if args.threshold is not None:
        # The service sections are added to Settings at run time (one per registered service).
        section = getattr(settings, "fraud" if args.task == "fraud" else "maintenance")
        threshold = section.threshold.model_copy(update={"mode": "fixed", "value": args.threshold})
        threshold = ThresholdSettings.model_validate(threshold.model_dump())
    plans: list[FeaturePlan] = []
    progress: list[ProgressReporter] = []

    def starting(index: int, strategy: str) -> None:
        # One bar per strategy: strategies run at very different speeds, so one ETA for all would mislead.
        if progress:
            progress.pop().__exit__(None, None, None)
        if index == 0 and plans:
            for line in plans[0].lines():
                print(line, file=sys.stderr)
        reporter = ProgressReporter(
            f"{args.file.name} {index + 1}/{len(strategies)} {strategy}", total=len(frame), unit="rows"
        )
        progress.append(reporter.__enter__())

    try:
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
            advance=lambda count: progress[-1].advance(count) if progress else None,
            positive=args.positive,
            features=args.features,
            exclude=args.exclude,
            key_column=args.key,
            plan_out=plans,
            starting=starting,
        )
    except InputError as error:
        print(f"evaluate: {error}", file=sys.stderr)
        return 2
    finally:
        while progress:
            progress.pop().__exit__(None, None, None)
    positives = results[0].positives if results else 0
    table = Table(
        title=f"{args.file.name}: {len(frame):,} rows, {positives:,} positives, "
        f"labels after {args.delay:g}s; "
        "precision and recall of the alerts raised within the alert budget"
    )
    columns = (
        "strategy",
        "model",
        "ROC AUC",
        "PR AUC",
        "calibrated ROC / PR",
        "alerts",
        "precision",
        "recall",
        "threshold",
        "µs/event",
        "by rules",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in ("strategy", "model") else "right")
    for result in results:
        table.add_row(
            result.strategy,
            result.model,
            _number(result.roc_auc),
            _number(result.pr_auc),
            f"{_number(result.calibrated_roc_auc)} / {_number(result.calibrated_pr_auc)}",
            f"{result.alerts:,}",
            _number(result.precision),
            _number(result.recall),
            _number(result.threshold),
            f"{result.microseconds_per_event:,.0f}",
            f"{result.skipped_by_rules:,}",
        )
    Console(width=170).print(table)
    if args.out:
        document = {
            "file": str(args.file),
            "task": args.task,
            "label": args.label,
            "positive": args.positive,
            "time": args.time,
            "delay_seconds": args.delay,
            "rows": len(frame),
            "features": plans[0].used if plans else [],
            "not_used": plans[0].dropped if plans else {},
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
