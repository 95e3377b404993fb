"""Weekly summaries: equal to a direct pandas computation, whatever the chunking or partition split."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from consumers.churn.summaries import (
    SUMMARY_COLUMNS,
    WeeklyPartial,
    WeeklySummaryBuilder,
    iter_frame_chunks,
    summarize_week,
    transactions_frame,
)
from consumers.churn.weeks import IsoWeek
from tests.consumers.churn.support import random_transactions

WEEK = IsoWeek(2026, 48)


def _expected(frame: pd.DataFrame) -> pd.DataFrame:
    """The summaries computed directly, one customer at a time, with no partial state."""
    rows = []
    for customer, group in frame.groupby("customer_id"):
        bought = group[~group["is_refund"]]
        refunds = group[group["is_refund"]]
        row = {
            "week": str(WEEK),
            "week_start": WEEK.start_seconds,
            "customer_id": customer,
            "purchase_count": len(bought),
            "purchase_total": bought["amount"].sum(),
            "purchase_mean": bought["amount"].mean() if len(bought) else 0.0,
            "purchase_max": bought["amount"].max() if len(bought) else 0.0,
            "refund_count": len(refunds),
            "refund_total": refunds["amount"].sum(),
            "distinct_merchants": bought["merchant_id"].nunique(),
            "distinct_categories": bought["merchant_category"].nunique(),
            "active_days": (bought["event_time"] // 86_400).nunique(),
        }
        for channel in ("pos", "online", "atm", "contactless", "other"):
            row[f"channel_{channel}"] = int((group["channel"] == channel).sum())
        row["first_time"] = group["event_time"].min()
        row["last_time"] = group["event_time"].max()
        row["last_purchase_time"] = bought["event_time"].max() if len(bought) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)[list(SUMMARY_COLUMNS)]


def _assert_same(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    pdt.assert_frame_equal(
        actual.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False, rtol=1e-9
    )


def test_summaries_equal_a_direct_pandas_computation() -> None:
    frame = random_transactions(WEEK, customers=300, rows=6_000, seed=1)
    actual = summarize_week(WEEK, iter_frame_chunks(frame, 1_000))
    _assert_same(actual, _expected(frame))
    assert (actual["refund_count"] > 0).any() and (actual["distinct_merchants"] > 1).any()


@pytest.mark.parametrize("chunk_rows", [7, 97, 5_000])
def test_the_chunking_changes_nothing(chunk_rows: int) -> None:
    frame = random_transactions(WEEK, customers=40, rows=300, seed=2)
    builder = WeeklySummaryBuilder(WEEK, compact_rows=50)  # forces many compactions
    _assert_same(
        builder.add_all(iter_frame_chunks(frame, chunk_rows)).partial().summaries(), _expected(frame)
    )


@pytest.mark.parametrize("partitions", [2, 3, 8])
def test_partials_from_card_partitions_merge_into_exactly_the_whole_week(
    partitions: int, tmp_path: Path
) -> None:
    frame = random_transactions(WEEK, customers=200, rows=4_000, seed=3)
    # As Kafka does, a card's transactions go to one partition; a customer's cards spread over several.
    partition = frame["card_id"].map(lambda card: zlib.crc32(card.encode()) % partitions)
    assert frame.groupby("customer_id")["card_id"].nunique().max() > 1
    parts = []
    for number in range(partitions):
        part = (
            WeeklySummaryBuilder(WEEK).add_all(iter_frame_chunks(frame[partition == number], 300)).partial()
        )
        part.write(tmp_path / f"part-{number}")  # as a worker would hand it to the merge step
        parts.append(WeeklyPartial.read(tmp_path / f"part-{number}"))
    merged = WeeklyPartial.concat(parts)
    whole = WeeklySummaryBuilder(WEEK).add(frame).partial()
    # Bit for bit: amounts add up in cents, so the split changes no digit.
    pdt.assert_frame_equal(merged.summaries(), whole.summaries(), check_exact=True)
    _assert_same(merged.summaries(), _expected(frame))
    pdt.assert_frame_equal(merged.category_totals(), whole.category_totals(), check_dtype=False)
    assert merged.counts == whole.counts
    # Pairwise merges in any order agree too.
    pairwise = parts[-1]
    for part in parts[-2::-1]:
        pairwise = part.merge(pairwise)
    _assert_same(pairwise.summaries(), whole.summaries())


def test_rows_outside_the_week_without_customer_or_with_bad_amounts_are_counted_and_skipped() -> None:
    frame = random_transactions(WEEK, customers=10, rows=100, seed=4)
    bad = pd.DataFrame(
        {
            "customer_id": pd.Series(["", None, "u-00001", "u-00001", "u-00002", "  "], dtype="str"),
            "event_time": [WEEK.start_seconds + 5.0] * 2
            + [WEEK.end_seconds, WEEK.start_seconds - 1.0]
            + [WEEK.start_seconds + 9.0] * 2,
            "amount": [1.0, 1.0, 1.0, 1.0, float("nan"), 2.0],
        }
    )
    builder = WeeklySummaryBuilder(WEEK).add(frame).add(bad)
    assert (builder.counts.used, builder.counts.outside_week) == (100, 2)
    assert (builder.counts.without_customer, builder.counts.not_positive) == (3, 1)
    _assert_same(builder.partial().summaries(), _expected(frame))


def test_category_totals_and_optional_columns() -> None:
    frame = random_transactions(WEEK, customers=20, rows=400, seed=5)
    totals = WeeklySummaryBuilder(WEEK).add(frame).partial().category_totals()
    bought = frame[~frame["is_refund"]]
    expected = bought.groupby(["customer_id", "merchant_category"])["amount"].agg(["size", "sum"])
    assert totals["purchase_count"].sum() == len(bought)
    assert totals["purchase_total"].sum() == pytest.approx(expected["sum"].sum())
    minimal = frame[["customer_id", "event_time", "amount"]]
    summary = summarize_week(WEEK, [minimal])
    assert (summary["distinct_merchants"] == 1).all() and (summary["refund_count"] == 0).all()
    assert (summary["channel_other"] == summary["purchase_count"]).all()
    with pytest.raises(ValueError, match="lacks column"):
        summarize_week(WEEK, [frame.drop(columns=["amount"])])


def test_frames_from_transaction_events() -> None:
    from contracts import Transaction

    events = [
        Transaction(
            transaction_id=f"t-{i}",
            card_id="c-1",
            customer_id="u-1",
            merchant_id="m-1",
            merchant_category="grocery",
            amount=10.0 + i,
            event_time=WEEK.start_seconds + i,
            latitude=0.0,
            longitude=0.0,
            device_id="d-1",
            transaction_type="refund" if i == 2 else "purchase",
        )
        for i in range(3)
    ]
    summary = summarize_week(WEEK, [transactions_frame(events)])
    assert summary.iloc[0]["purchase_count"] == 2 and summary.iloc[0]["refund_total"] == 12.0
