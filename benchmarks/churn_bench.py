"""The weekly churn job's pure steps at scale, and the Transform step in pandas, DuckDB and pyarrow.

    .venv/bin/python benchmarks/churn_bench.py --customers 1000000 --transactions 20000000
    .venv/bin/python benchmarks/churn_bench.py --customers 20000 --transactions 400000   # a quick check

1. Data: the week's transactions are generated with numpy into a zstd Parquet file (a customer's cards
   are not modelled: customer ids directly); past weeks are written straight into the job's archive as
   synthetic weekly summaries (activity levels spread over customers, a few per cent stopping each week),
   enough weeks for the training cut-offs and the holdout.
2. The job: `ChurnJob.run` on the week, reading the Parquet file in chunks (extract), summarising,
   profiling, training (holdout + model + River update), scoring, alerting, reporting, committing.
   Reported: wall seconds per step and its share, CPU seconds per million transactions, peak RSS.
3. Transform side by side on the same Parquet file: the chunked builder the job uses (ids coded as
   integers, pairs merged by sorting; pandas in and out), one DuckDB SQL aggregation, and pyarrow's
   `Table.group_by`, with their results checked against each other.

Prints one JSON document. Generated data goes to a temporary directory (or --work-dir), removed at the end.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from consumers.churn.archive import SummaryArchive
from consumers.churn.job import ChurnJob, MemorySinks, ParquetSource
from consumers.churn.settings import ChurnSettings
from consumers.churn.summaries import CHANNELS, SUMMARY_COLUMNS, WeeklySummaryBuilder
from consumers.churn.weeks import IsoWeek

WEEK = IsoWeek(2026, 48)
CATEGORIES = ("grocery", "restaurant", "fuel", "transport", "pharmacy", "clothing", "online_retail", "travel")


def _ids(prefix: str, values: np.ndarray, width: int) -> pa.Array:
    text = pc.utf8_lpad(pc.cast(pa.array(values), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), text, "")


def generate_week(path: Path, customers: int, transactions: int, seed: int) -> float:
    """The week's transactions as Parquet; returns the seconds it took."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    activity = rng.lognormal(0.0, 1.0, customers)
    writer: pq.ParquetWriter | None = None
    block = 2_000_000
    probabilities = activity / activity.sum()
    for start in range(0, transactions, block):
        rows = min(block, transactions - start)
        customer = rng.choice(customers, size=rows, p=probabilities)
        table = pa.table(
            {
                "customer_id": _ids("u-", customer, 7),
                "event_time": WEEK.start_seconds + rng.uniform(0, 7 * 86_400 - 1e-3, rows),
                "amount": np.round(rng.lognormal(3.3, 0.8, rows), 2) + 0.01,
                "is_refund": rng.random(rows) < 0.02,
                "merchant_id": _ids("mer-", rng.integers(0, 20_000, rows), 5),
                "merchant_category": pa.array(np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), rows)]),
                "channel": pa.array(np.array(CHANNELS[:4])[rng.integers(0, 4, rows)]),
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="zstd")
        writer.write_table(table)
    if writer is not None:
        writer.close()
    return time.perf_counter() - started


def generate_history(
    archive: SummaryArchive, customers: int, weekly_transactions: int, weeks: int, seed: int
) -> float:
    """Synthetic summaries of the `weeks` weeks before WEEK, straight into the archive."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed + 1)
    rate = rng.lognormal(0.0, 1.0, customers)
    rate *= weekly_transactions / rate.sum()
    stop_week = np.where(rng.random(customers) < 0.3, rng.integers(0, weeks + 12, customers), 10**6)
    ids = np.asarray(_ids("u-", np.arange(customers), 7).to_pylist(), dtype=object)
    for offset in range(weeks, 0, -1):
        week = WEEK - offset
        position = weeks - offset
        declining = np.clip((stop_week - position) / 4.0, 0.0, 1.0)
        counts = rng.poisson(rate * np.where(position >= stop_week, 0.0, 0.3 + 0.7 * declining))
        active = np.flatnonzero(counts > 0)
        count = counts[active]
        mean = np.round(rng.lognormal(3.3, 0.5, len(active)), 2)
        total = np.round(mean * count, 2)
        first = week.start_seconds + rng.uniform(0, 3 * 86_400, len(active))
        last = week.start_seconds + rng.uniform(4 * 86_400, 7 * 86_400 - 1, len(active))
        summaries = pd.DataFrame(
            {
                "week": str(week),
                "week_start": np.int64(week.start_seconds),
                "customer_id": pd.array(ids[active], dtype="str"),
                "purchase_count": count.astype("int64"),
                "purchase_total": total,
                "purchase_mean": mean,
                "purchase_max": np.round(mean * 1.8, 2),
                "refund_count": rng.binomial(count, 0.02).astype("int64"),
                "refund_total": 0.0,
                "distinct_merchants": np.minimum(count, rng.integers(1, 6, len(active))).astype("int64"),
                "distinct_categories": np.minimum(count, rng.integers(1, 4, len(active))).astype("int64"),
                "active_days": np.minimum(count, rng.integers(1, 7, len(active))).astype("int64"),
                "channel_pos": count.astype("int64"),
                "channel_online": np.int64(0),
                "channel_atm": np.int64(0),
                "channel_contactless": np.int64(0),
                "channel_other": np.int64(0),
                "first_time": first,
                "last_time": last,
                "last_purchase_time": last,
            }
        )[list(SUMMARY_COLUMNS)]
        categories = pd.DataFrame(
            {
                "week": str(week),
                "customer_id": summaries["customer_id"],
                "merchant_category": np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), len(active))],
                "purchase_count": summaries["purchase_count"],
                "purchase_total": summaries["purchase_total"],
            }
        )
        archive.write_week(week, summaries, categories, raw_bytes=int(count.sum()) * 60)
    return time.perf_counter() - started


def transform_builder(path: Path, chunk_rows: int) -> pd.DataFrame:
    return (
        WeeklySummaryBuilder(WEEK).add_all(ParquetSource([path], chunk_rows).chunks()).partial().summaries()
    )


def transform_duckdb(path: Path) -> pd.DataFrame:
    import duckdb

    connection = duckdb.connect()
    connection.execute("SET threads TO 2")
    channels = ", ".join(f"count(*) FILTER (WHERE channel = '{name}') AS channel_{name}" for name in CHANNELS)
    query = f"""
        SELECT customer_id,
               count(*) FILTER (WHERE NOT is_refund) AS purchase_count,
               sum(round(amount * 100)) FILTER (WHERE NOT is_refund) / 100.0 AS purchase_total,
               max(amount) FILTER (WHERE NOT is_refund) AS purchase_max,
               count(*) FILTER (WHERE is_refund) AS refund_count,
               count(DISTINCT merchant_id) FILTER (WHERE NOT is_refund) AS distinct_merchants,
               count(DISTINCT merchant_category) FILTER (WHERE NOT is_refund) AS distinct_categories,
               count(DISTINCT floor(event_time / 86400)) FILTER (WHERE NOT is_refund) AS active_days,
               {channels},
               min(event_time) AS first_time,
               max(event_time) AS last_time,
               max(event_time) FILTER (WHERE NOT is_refund) AS last_purchase_time
        FROM read_parquet('{path}')
        WHERE event_time >= {WEEK.start_seconds} AND event_time < {WEEK.end_seconds}
        GROUP BY customer_id ORDER BY customer_id
    """
    frame = connection.execute(query).df()
    connection.close()
    return frame


def transform_arrow(path: Path) -> pd.DataFrame:
    table = pq.read_table(path)
    purchase = pc.invert(table["is_refund"])
    day = pc.floor(pc.divide(table["event_time"], 86_400.0))
    table = table.append_column("purchase", pc.cast(purchase, pa.int64()))
    table = table.append_column("refund", pc.cast(table["is_refund"], pa.int64()))
    table = table.append_column(
        "cents", pc.if_else(purchase, pc.round(pc.multiply(table["amount"], 100.0)), 0.0)
    )
    table = table.append_column("purchase_amount", pc.if_else(purchase, table["amount"], None))
    table = table.append_column("purchase_time", pc.if_else(purchase, table["event_time"], None))
    table = table.append_column("purchase_merchant", pc.if_else(purchase, table["merchant_id"], None))
    table = table.append_column("purchase_category", pc.if_else(purchase, table["merchant_category"], None))
    table = table.append_column("purchase_day", pc.if_else(purchase, day, None))
    for name in CHANNELS:
        table = table.append_column(f"channel_{name}", pc.cast(pc.equal(table["channel"], name), pa.int64()))
    grouped = table.group_by("customer_id").aggregate(
        [
            ("purchase", "sum"),
            ("cents", "sum"),
            ("purchase_amount", "max"),
            ("refund", "sum"),
            ("purchase_merchant", "count_distinct"),
            ("purchase_category", "count_distinct"),
            ("purchase_day", "count_distinct"),
            *[(f"channel_{name}", "sum") for name in CHANNELS],
            ("event_time", "min"),
            ("event_time", "max"),
            ("purchase_time", "max"),
        ]
    )
    return grouped.sort_by("customer_id").to_pandas()


def _timed(function: Any, *args: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = function(*args)
    return value, time.perf_counter() - wall, time.process_time() - cpu


def peak_rss_bytes() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--transactions", type=int, default=400_000)
    parser.add_argument(
        "--history-weeks", type=int, default=30, help="synthetic archived weeks before the week"
    )
    parser.add_argument("--chunk-rows", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--work-dir", type=Path, help="keep the generated data here (default: a temporary one)"
    )
    parser.add_argument(
        "--skip-compare", action="store_true", help="only the job, not the Transform comparison"
    )
    args = parser.parse_args(argv)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="churn-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        path = work / "week.parquet"
        generation = generate_week(path, args.customers, args.transactions, args.seed)
        settings = ChurnSettings(output_dir=str(work / "job"), seed=args.seed)
        job = ChurnJob(settings)
        history = generate_history(
            job.archive, args.customers, args.transactions, args.history_weeks, args.seed
        )
        rss_before_job = peak_rss_bytes()
        # The peak resident size only grows, so reading it after each step shows which step raised it.
        peak_after_step: dict[str, int] = {}
        job.step_hook = lambda step: peak_after_step.__setitem__(step, peak_rss_bytes())
        wall, cpu = time.perf_counter(), time.process_time()
        result = job.run(WEEK, ParquetSource([path], args.chunk_rows), MemorySinks())
        job_wall, job_cpu = time.perf_counter() - wall, time.process_time() - cpu
        total = sum(result.timings.values())
        document: dict[str, Any] = {
            "benchmark": "churn_bench",
            "customers": args.customers,
            "transactions": args.transactions,
            "history_weeks": args.history_weeks,
            "generation_seconds": {
                "week_parquet": round(generation, 2),
                "history_archive": round(history, 2),
            },
            "job": {
                "wall_seconds": round(job_wall, 2),
                "cpu_seconds": round(job_cpu, 2),
                "cpu_seconds_per_million_transactions": round(job_cpu / (args.transactions / 1e6), 2),
                "steps_seconds": {step: round(seconds, 2) for step, seconds in result.timings.items()},
                "steps_share": {step: round(seconds / total, 3) for step, seconds in result.timings.items()},
                "steps_cpu_seconds": {
                    step: round(seconds, 2) for step, seconds in result.cpu_seconds.items()
                },
                "train_parts_seconds": {
                    part: round(seconds, 2) for part, seconds in result.train_seconds.items()
                },
                "peak_rss_bytes_before_job": rss_before_job,
                "peak_rss_bytes": peak_rss_bytes(),
                "peak_rss_bytes_after_step": peak_after_step,
                "customers_scored": result.customers_scored,
                "training_rows": result.training_rows,
                "holdout_roc_auc": result.holdout_roc_auc,
                "full_retrain_cpu_seconds": result.full_retrain_cpu_seconds,
                "incremental_update_cpu_seconds": result.incremental_update_cpu_seconds,
                "storage": result.storage,
                "goal": "under 600 s and 4 GB peak at 1,000,000 customers and 20,000,000 transactions",
            },
        }
        if not args.skip_compare:
            compare: dict[str, Any] = {}
            frames = {}
            for name, function, extra in (
                ("job_builder", transform_builder, (args.chunk_rows,)),
                ("duckdb", transform_duckdb, ()),
                ("pyarrow", transform_arrow, ()),
            ):
                frame, seconds, cpu_seconds = _timed(function, path, *extra)
                frames[name] = frame
                compare[name] = {
                    "wall_seconds": round(seconds, 2),
                    "cpu_seconds": round(cpu_seconds, 2),
                    "customers": len(frame),
                }
            reference = frames["job_builder"].set_index("customer_id")
            for name in ("duckdb", "pyarrow"):
                other = frames[name].set_index("customer_id")
                count = other.iloc[:, 0].to_numpy(dtype="int64")
                compare[name]["matches_job_builder"] = bool(
                    len(other) == len(reference) and (count == reference["purchase_count"].to_numpy()).all()
                )
            document["transform_comparison"] = compare
        print(json.dumps(document, indent=2))
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
