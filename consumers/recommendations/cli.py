"""Command handlers of the learning side, for the lead to wire:

- `streaming recs evaluate FILE`: `add_evaluate_arguments` / `run_evaluate`;
- `streaming recs segment FILE`: `add_segment_arguments` / `run_segment`.

Heavy libraries (pandas, scikit-learn, implicit) are imported inside the handlers. A user mistake (a
missing file or column, a bad option) prints one line to stderr and returns 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from streaming.cli.common import add_common_options, settings_from_args

PROTOCOLS = ("standard", "time", "both")


def recommendation_settings(settings: Any) -> Any:
    """The `[recommendations]` section once registered; the defaults until then."""
    from consumers.recommendations.settings import RecommendationSettings

    section = getattr(settings, "recommendations", None)
    return section if isinstance(section, RecommendationSettings) else RecommendationSettings()


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, not {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError("must be strictly between 0 and 1")
    return value


def _add_input(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        type=Path,
        help="interaction log: online-retail CSV, MovieLens u.data (or its directory), or a CSV/Parquet",
    )
    parser.add_argument(
        "--format",
        dest="file_format",
        choices=("auto", "online-retail", "movielens", "interactions"),
        default="auto",
        help="the file's format (default: detected). 'interactions' needs customer_id, item_id, timestamp",
    )
    parser.add_argument(
        "--items", type=Path, help="MovieLens item metadata (u.item); default: next to u.data"
    )


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    _add_input(parser)
    parser.add_argument(
        "--protocol", choices=PROTOCOLS, default="both", help="standard, time (ordered) or both"
    )
    parser.add_argument("--k", type=_positive_int, default=10, help="list length (default 10)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the stratified split (default 42)")
    parser.add_argument(
        "--ratio", type=_fraction, default=0.75, help="training share per customer (default 0.75)"
    )
    parser.add_argument(
        "--train-fraction",
        type=_fraction,
        default=0.8,
        help="time-ordered: share of events before the cut-off",
    )
    parser.add_argument(
        "--max-targets", type=_positive_int, default=2_000, help="time-ordered: purchases asked about at most"
    )
    parser.add_argument(
        "--tune", action="store_true", help="tune the blend weights on a validation split first"
    )
    parser.add_argument("--out", type=Path, help="write the table as JSON here")
    add_common_options(parser)


def run_evaluate(args: argparse.Namespace) -> int:
    from consumers.recommendations.datasets import DatasetError, load_dataset
    from consumers.recommendations.evaluation import (
        evaluate_standard,
        evaluate_time_ordered,
        format_table,
        tune_blend,
    )
    from streaming.console import ProgressReporter

    settings = recommendation_settings(settings_from_args(args))
    try:
        data = load_dataset(args.file, args.file_format, args.items)
    except DatasetError as error:
        print(f"recs evaluate: {error}", file=sys.stderr)
        return 2
    print(data.summary(), file=sys.stderr)
    document: dict[str, Any] = {
        "file": str(args.file),
        "summary": data.summary(),
        "skipped": data.skipped,
        "notes": data.notes,
    }
    try:
        if args.tune:
            weights, score = tune_blend(data, settings, k=args.k)
            settings = settings.model_copy(update={"blend": weights})
            document["tuned_blend"] = {**weights.model_dump(), f"validation_NDCG@{args.k}": round(score, 4)}
            print(
                f"tuned blend weights: {weights.model_dump()} (validation NDCG@{args.k} {score:.4f})",
                file=sys.stderr,
            )
        rows = []
        protocols = ("standard", "time") if args.protocol == "both" else (args.protocol,)
        with ProgressReporter(f"recs evaluate {args.file.name}", unit="models") as progress:
            if "standard" in protocols:
                rows += evaluate_standard(
                    data, settings, args.k, args.ratio, args.seed, progress=lambda _name: progress.advance()
                )
            if "time" in protocols:
                rows += evaluate_time_ordered(
                    data,
                    settings,
                    args.k,
                    args.train_fraction,
                    args.max_targets,
                    progress=lambda _name: progress.advance(),
                )
    except ValueError as error:
        print(f"recs evaluate: {error}", file=sys.stderr)
        return 2
    table = format_table(rows)
    document["rows"] = table
    _print_table(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(document, indent=1, default=float))
    return 0


def _print_table(table: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    columns: list[str] = []
    for row in table:
        columns += [name for name in row if name not in columns]
    view = Table()
    for name in columns:
        view.add_column(name, justify="left" if name in ("protocol", "model") else "right")
    for row in table:
        view.add_row(*("" if row.get(name) is None else f"{row[name]}" for name in columns))
    Console(width=200).print(view)


def add_segment_arguments(parser: argparse.ArgumentParser) -> None:
    _add_input(parser)
    parser.add_argument(
        "--segments", type=_positive_int, help="number of segments (default: recommendations.segments)"
    )
    parser.add_argument("--seed", type=int, default=0, help="k-means seed")
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="directory for customers.parquet/csv, segments.csv, segment_top_items.json",
    )
    parser.add_argument("--plot", type=Path, help="write a PNG of the segments here")
    parser.add_argument(
        "--pushgateway", help="Prometheus Pushgateway address (host:port) for the job's metrics"
    )
    add_common_options(parser)


def _push_segment_metrics(address: str, seconds: float, customers: int, segments: int) -> str | None:
    """Pushes the batch job's figures; the error text when the gateway cannot be reached."""
    from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

    registry = CollectorRegistry()
    Gauge("recs_segment_duration_seconds", "Wall time of the segmentation job", registry=registry).set(
        seconds
    )
    Gauge("recs_segment_customers", "Customers segmented", registry=registry).set(customers)
    Gauge("recs_segment_segments", "Segments found", registry=registry).set(segments)
    Gauge(
        "recs_segment_last_success_unixtime", "When the job last succeeded", registry=registry
    ).set_to_current_time()
    try:
        push_to_gateway(address, job="recs_segment", registry=registry, timeout=10)
    except OSError as error:
        return str(error)
    return None


def run_segment(args: argparse.Namespace) -> int:
    from consumers.recommendations.datasets import DatasetError, load_dataset
    from consumers.recommendations.segmentation import plot_segments, segment_customers, write_segmentation

    settings = recommendation_settings(settings_from_args(args))
    started = time.monotonic()
    try:
        data = load_dataset(args.file, args.file_format, args.items)
        result = segment_customers(data, args.segments or settings.segments, seed=args.seed)
    except (DatasetError, ValueError) as error:
        print(f"recs segment: {error}", file=sys.stderr)
        return 2
    print(data.summary(), file=sys.stderr)
    try:
        written = write_segmentation(result, args.out)
        if args.plot:
            written.append(plot_segments(result, args.plot))
    except OSError as error:
        print(f"recs segment: cannot write {error.filename}: {error.strerror}", file=sys.stderr)
        return 2
    _print_table(
        [
            {str(name): value for name, value in row.items()}
            for row in result.segments.round(2).to_dict("records")
        ]
    )
    for path in written:
        print(path)
    if args.pushgateway:
        failure = _push_segment_metrics(
            args.pushgateway, time.monotonic() - started, len(result.customers), len(result.segments)
        )
        if failure:
            print(f"recs segment: metrics not pushed to {args.pushgateway}: {failure}", file=sys.stderr)
    return 0


def add_consume_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `streaming consume recommendations`."""
    from streaming.cli.common import add_run_options

    add_common_options(parser)
    add_run_options(parser, "recommendations")
    parser.add_argument("--redis-url", help="an external Redis; default $REDIS_URL or the local one")
    parser.add_argument(
        "--no-cache", action="store_true", help="learn and save artifacts, but write no lists"
    )


def run_consume(args: argparse.Namespace) -> int:
    from consumers.recommendations.learner_service import SERVICE, build
    from streaming.cli.service import run_application

    settings = settings_from_args(args)
    built: list[Any] = []

    def make(bootstrap: str) -> Any:
        app, processor = build(
            settings,
            bootstrap,
            redis_url=args.redis_url,
            instance_id=args.instance_id,
            use_cache=not args.no_cache,
        )
        built.append(processor)
        return app

    def describe() -> str:
        if not built:
            return ""
        processor = built[0]
        dropped = sum(processor.dropped.values())
        return (
            f"{processor.events_seen} shop events ({dropped} cleaned out), {len(processor.products)} products"
        )

    return run_application(args, settings, SERVICE, make, describe)
