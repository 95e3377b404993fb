"""Command-line pieces of the churn system: `streaming churn evaluate FILE` (and the `--week` type for the
`run` command the lead wires onto the Kafka layer).

Nothing heavy is imported at module top: pandas, scikit-learn and River load inside `run_evaluate`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from streaming.cli.common import add_common_options, settings_from_args


def week_argument(text: str) -> object:
    """argparse type for `--week 2026-W48`: an `IsoWeek`, or a clear usage error."""
    from consumers.churn.weeks import IsoWeek

    try:
        return IsoWeek.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def churn_settings(args: argparse.Namespace) -> object:
    """The `[churn]` settings section (defaults until the lead registers it in `Settings`)."""
    from consumers.churn.settings import ChurnSettings

    settings = settings_from_args(args)
    section = getattr(settings, "churn", None)
    return section if isinstance(section, ChurnSettings) else ChurnSettings()


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="transaction log, .csv or .parquet")
    parser.add_argument("--customer", default="customer_id", help="customer id column (default customer_id)")
    parser.add_argument("--time", default="event_time", help="timestamp column: ISO dates or epoch numbers")
    parser.add_argument("--time-unit", choices=["s", "ms"], default="s", help="unit of numeric timestamps")
    parser.add_argument("--amount", default="amount", help="amount column (default amount)")
    parser.add_argument("--merchant", help="merchant column (optional)")
    parser.add_argument("--category", help="merchant category column (optional)")
    parser.add_argument("--channel", help="channel column (optional: pos, online, atm, contactless)")
    parser.add_argument(
        "--refund-sign",
        choices=["negative"],
        help="negative amounts are refunds (without it, or --refund-column, negative amounts are an error)",
    )
    parser.add_argument("--refund-column", help="column that is true/1/yes/refund for refunds (optional)")
    parser.add_argument("--horizon-weeks", type=int, help="H: churned = no purchase in the H weeks after")
    parser.add_argument("--active-weeks", type=int, help="K: customers with a purchase in the last K weeks")
    parser.add_argument("--warmup-weeks", type=int, default=4, help="history before the first cut-off")
    parser.add_argument(
        "--strategies",
        help="comma-separated models (kind or kind+sampling), default: every strategy; the first listed "
        "after recency is the one compared with the baseline",
    )
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--plot", type=Path, help="write a PNG with the lift and calibration charts here")
    add_common_options(parser)


def _fail(message: str) -> int:
    print(f"churn evaluate: {message}", file=sys.stderr)
    return 2


def run_evaluate(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from consumers.churn.evaluate import (
        ALL_STRATEGIES,
        LogColumns,
        TransactionLogError,
        backtest,
        load_transaction_log,
        log_weeks,
        weekly_summaries,
    )
    from consumers.churn.models import ModelSpec
    from consumers.churn.settings import ChurnSettings
    from streaming.console import ProgressReporter

    try:
        settings = churn_settings(args)
    except ValueError as error:
        return _fail(str(error).splitlines()[0])
    assert isinstance(settings, ChurnSettings)
    horizon = args.horizon_weeks if args.horizon_weeks is not None else settings.horizon_weeks
    active = args.active_weeks if args.active_weeks is not None else settings.active_weeks
    if horizon < 1 or not 1 <= active <= 13 or args.warmup_weeks < 1:
        return _fail("--horizon-weeks and --warmup-weeks must be at least 1, --active-weeks 1 to 13")
    default = settings.model_spec().name
    strategies = (
        [name.strip() for name in args.strategies.split(",") if name.strip()]
        if args.strategies
        else list(dict.fromkeys([ALL_STRATEGIES[0], default, *ALL_STRATEGIES[1:]]))
    )
    if not strategies:
        return _fail("--strategies is empty")
    try:
        strategies = [ModelSpec.parse(name).name for name in strategies]
    except ValueError as error:
        return _fail(str(error))
    if "recency" not in strategies:
        strategies.insert(0, "recency")
    columns = LogColumns(
        customer=args.customer,
        time=args.time,
        amount=args.amount,
        merchant=args.merchant,
        category=args.category,
        channel=args.channel,
        refund_sign=args.refund_sign,
        refund_column=args.refund_column,
        time_unit=args.time_unit,
    )
    try:
        loaded = load_transaction_log(args.file, columns)
        if loaded.without_customer:
            print(
                f"churn evaluate: skipped {loaded.without_customer:,} of {loaded.rows:,} rows without a "
                "customer id",
                file=sys.stderr,
            )
        if loaded.zero_amount:
            print(f"churn evaluate: skipped {loaded.zero_amount:,} rows with a zero amount", file=sys.stderr)
        if loaded.frame.empty:
            return _fail("no row has both a customer id and an amount")
        first, last = log_weeks(loaded.frame)
        with ProgressReporter(
            f"summaries {args.file.name}", total=len(loaded.frame), unit="rows"
        ) as progress:
            summaries = weekly_summaries(loaded.frame, advance=progress.advance)
        cutoffs = max(1, last.index - first.index + 1 - horizon - args.warmup_weeks + 1)
        with ProgressReporter(
            "backtest", total=cutoffs * len(strategies), unit="fits", plain_interval_seconds=10.0
        ) as progress:
            result = backtest(
                loaded.frame,
                strategies,
                horizon_weeks=horizon,
                warmup_weeks=args.warmup_weeks,
                training_cutoffs=settings.training_cutoffs,
                active_weeks=active,
                seed=settings.seed,
                model_options={
                    "max_depth": settings.max_depth,
                    "trees": settings.trees,
                    "min_samples_leaf": settings.min_samples_leaf,
                    "oversample_share": settings.oversample_share,
                    "jobs": settings.jobs,
                    "max_samples": settings.forest_max_samples,
                },
                advance=progress.advance,
                summaries=summaries,
            )
    except TransactionLogError as error:
        return _fail(str(error))
    table = Table(
        title=f"{args.file.name}: {result.customers:,} customers, {result.first_week} to {result.last_week}, "
        f"{len(result.evaluation_cutoffs)} cut-offs ({result.scheme}), churn = no purchase in {horizon} weeks"
    )
    for column in (
        "strategy",
        "ROC AUC",
        "PR AUC",
        "lift@10%",
        "recall@10%",
        "Brier",
        "churners",
        "CPU s/fit",
    ):
        table.add_column(column, justify="left" if column == "strategy" else "right")
    for item in result.results:
        table.add_row(
            item.strategy + (" (incremental)" if item.incremental else ""),
            _number(item.roc_auc),
            _number(item.pr_auc),
            _number(item.lift_top_decile, 2),
            _number(item.recall_top_decile),
            _number(item.brier),
            f"{item.positives:,}/{item.rows:,}",
            f"{item.fit_cpu_seconds:.3f}",
        )
    Console(width=160).print(table)
    if args.out:
        document = {
            "file": str(args.file),
            "scheme": result.scheme,
            "horizon_weeks": horizon,
            "active_weeks": active,
            "first_week": result.first_week,
            "last_week": result.last_week,
            "evaluation_cutoffs": result.evaluation_cutoffs,
            "rows_read": loaded.rows,
            "rows_without_customer": loaded.without_customer,
            "strategies": [vars(item) for item in result.results],
        }
        args.out.write_text(json.dumps(document, indent=2, default=float) + "\n")
        print(f"wrote {args.out}", file=sys.stderr)
    if args.plot:
        from consumers.churn.report import evaluation_figure

        shown = [name for name in (default, "recency") if name in result.predictions]
        evaluation_figure({name: result.predictions[name] for name in shown}, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def _number(value: float, digits: int = 3) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def register(subparsers: argparse._SubParsersAction) -> None:
    """`streaming churn evaluate` (the lead adds `run` and `schedule` beside it)."""
    churn = subparsers.add_parser("churn", help="customer churn: weekly job, backtest")
    commands = churn.add_subparsers(dest="churn_command", metavar="COMMAND", required=True)
    evaluate = commands.add_parser(
        "evaluate",
        help="temporal backtest of churn strategies on a transaction log",
        description="Summarises the log week by week, builds features at weekly cut-offs from the past only, "
        "labels churn as no purchase in the next H weeks, and compares the strategies.",
    )
    add_evaluate_arguments(evaluate)
    evaluate.set_defaults(handler=run_evaluate)
