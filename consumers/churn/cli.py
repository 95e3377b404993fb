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


def _fail(message: str, command: str = "evaluate") -> int:
    print(f"churn {command}: {message}", file=sys.stderr)
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


def _partitions(text: str) -> list[int]:
    try:
        numbers = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"--partitions takes numbers like 0,1,2, not {text!r}") from None
    if not numbers or numbers[0] < 0:
        raise argparse.ArgumentTypeError("--partitions takes non-negative partition numbers like 0,1,2")
    return numbers


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--week", required=True, type=week_argument, help="the ISO week, like 2026-W48")
    parser.add_argument(
        "--partitions",
        type=_partitions,
        help="only Extract + Transform these partitions of the transactions topic, saved as this worker's "
        "partial (a partition-parallel run); then one `--merge` run does the rest",
    )
    parser.add_argument("--worker", help="name of this worker's partial (default: from --partitions)")
    parser.add_argument(
        "--merge", action="store_true", help="run the rest of the week's job over the workers' saved partials"
    )
    parser.add_argument(
        "--no-publish", action="store_true", help="write the files only, nothing to the topics"
    )
    parser.add_argument("--output-dir", help="the job's directory (default: churn.output_dir)")
    parser.add_argument("--json", action="store_true", help="print the run's result as JSON")
    add_common_options(parser)


def _job_settings(args: argparse.Namespace) -> object:
    from consumers.churn.settings import ChurnSettings

    settings = settings_from_args(args)
    if getattr(args, "output_dir", None):
        config = settings.section("churn", ChurnSettings).model_copy(update={"output_dir": args.output_dir})
        settings = settings.with_section("churn", config)
    return settings


def run_run(args: argparse.Namespace) -> int:
    from consumers.churn.publish import PublishFailed
    from consumers.churn.service import run_week
    from streaming.cli.common import bootstrap_for
    from streaming.config import Settings

    if args.merge and args.partitions:
        return _fail("--merge runs over the saved partials: leave out --partitions", "run")
    settings = _job_settings(args)
    assert isinstance(settings, Settings)
    try:
        run = run_week(
            settings,
            bootstrap_for(settings),
            args.week,
            partitions=args.partitions,
            worker=args.worker,
            merge=args.merge,
            publish=not args.no_publish,
        )
    except (PublishFailed, LookupError, FileNotFoundError, TimeoutError) as error:
        return _fail(str(error), "run")
    if run.skipped_records:
        print(f"churn run: skipped undecodable records: {run.skipped_records}", file=sys.stderr)
    if run.partial_only:
        print(
            f"churn run: {args.week}: partial of partitions {args.partitions} saved; "
            "run --merge once every worker is done"
        )
        return 0
    assert run.result is not None
    if args.json:
        print(json.dumps(run.result.as_dict(), indent=2, default=float))
    else:
        _print_result(run.result, run.published)
    for note in run.notes:
        print(f"churn run: {note}", file=sys.stderr)
    return 0


def _print_result(result: object, published: dict[str, int]) -> None:
    from rich.console import Console
    from rich.table import Table

    from consumers.churn.job import JobResult

    assert isinstance(result, JobResult)
    table = Table(
        title=f"churn {result.week}: {result.total_seconds:.1f} s of a {result.budget_seconds:,.0f} s budget"
    )
    table.add_column("step")
    table.add_column("wall s", justify="right")
    table.add_column("CPU s", justify="right")
    table.add_column("share", justify="right")
    total = result.total_seconds or 1.0
    for step, seconds in result.timings.items():
        table.add_row(
            step, f"{seconds:.2f}", f"{result.cpu_seconds.get(step, 0.0):.2f}", f"{seconds / total:.0%}"
        )
    console = Console(width=120)
    console.print(table)
    storage = result.storage or {}
    auc = result.holdout_roc_auc
    lines = [
        f"transactions {result.counts.get('used', 0):,} (skipped: "
        + ", ".join(f"{key} {value:,}" for key, value in result.counts.items() if key != "used")
        + ")",
        f"customers profiled {result.customers_profiled:,}, scored {result.customers_scored:,}, "
        f"at risk {result.at_risk:,}, alerts {result.alerts:,}",
        f"model {result.model_name or '(none yet: not enough labelled weeks)'}"
        + (f" v{result.model_version}" if result.model_version else "")
        + (f", last backtest ROC AUC {auc:.3f}" if auc is not None else ""),
    ]
    if storage:
        lines.append(
            f"storage: raw {storage['raw_bytes']:,} B, summaries {storage['summary_bytes']:,} B "
            f"({storage['reduction']:.1f}x smaller)"
        )
    if published:
        lines.append("published: " + ", ".join(f"{topic} {count:,}" for topic, count in published.items()))
    lines.append(f"outputs in {result.output_dir} (report.html, at_risk.csv, at_risk.parquet)")
    for line in lines:
        console.print(line)


def add_schedule_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--poll-seconds", type=float, default=10.0, help="how often to look at how far event time has got"
    )
    parser.add_argument("--once", action="store_true", help="run the weeks due now, then exit")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--first-week", type=week_argument, help="skip weeks before this one")
    parser.add_argument("--output-dir", help="the job's directory (default: churn.output_dir)")
    parser.add_argument(
        "--no-publish", action="store_true", help="write the files only, nothing to the topics"
    )
    add_common_options(parser)


def run_schedule(args: argparse.Namespace) -> int:
    import logging
    import signal
    import threading

    from consumers.churn.job import ChurnJob
    from consumers.churn.publish import PublishFailed, is_published
    from consumers.churn.schedule import WeeklySchedule
    from consumers.churn.service import run_week
    from consumers.churn.settings import ChurnSettings
    from consumers.churn.weeks import IsoWeek
    from streaming.cli.common import bootstrap_for
    from streaming.config import Settings
    from streaming.kafka import edge_timestamps

    log = logging.getLogger("consumers.churn.schedule")
    settings = _job_settings(args)
    assert isinstance(settings, Settings)
    config = settings.section("churn", ChurnSettings)
    bootstrap = bootstrap_for(settings)
    job = ChurnJob(config)
    topic = settings.topic_name("transactions")
    publish = not args.no_publish

    def done(week: IsoWeek) -> bool:
        return job.has_run(week) and (is_published(job.root, week) or not publish)

    def run_one(week: IsoWeek) -> None:
        try:
            run = run_week(settings, bootstrap, week, job=job, publish=publish)
        except PublishFailed as error:
            log.warning("churn %s: %s; the week runs again", week, error)
            return
        result = run.result
        assert result is not None
        log.info(
            "churn %s: %.1f s; %d customers scored, %d at risk, %d alerts; model %s; report %s/report.html",
            week,
            result.total_seconds,
            result.customers_scored,
            result.at_risk,
            result.alerts,
            result.model_name or "none yet",
            result.output_dir,
        )

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    schedule = WeeklySchedule(
        lambda: edge_timestamps(settings, bootstrap, topic),
        done,
        config.allowed_lateness_seconds,
        args.first_week,
    )
    log.info("churn schedule: following %s; a week runs once event time is %g s past its end", topic,
             config.allowed_lateness_seconds)  # fmt: skip
    ran = schedule.run(run_one, stop, args.poll_seconds, args.duration, once=args.once)
    log.info("churn schedule: stopped after %d weekly runs", ran)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """`streaming churn evaluate` as a plain argparse tree (the registry builds the real CLI)."""
    churn = subparsers.add_parser("churn", help="customer churn: weekly job, backtest")
    commands = churn.add_subparsers(dest="churn_command", metavar="COMMAND", required=True)
    evaluate = commands.add_parser(
        "evaluate", help="temporal backtest of churn strategies on a transaction log"
    )
    add_evaluate_arguments(evaluate)
    evaluate.set_defaults(handler=run_evaluate)
