"""Features at a cut-off: from the past only (adding later data changes nothing), and what they mean."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as pdt

from consumers.churn.evaluate import weekly_summaries
from consumers.churn.features import FEATURE_COLUMNS, build_features
from consumers.churn.labels import labelled_examples
from tests.consumers.churn.support import START_WEEK, simulated_log


def _summaries(weeks: int) -> pd.DataFrame:
    log = simulated_log(weeks=30, cards=800, seed=1)  # shared with the backtest tests
    log = log[log["event_time"] < (START_WEEK + 20).start_seconds]
    return weekly_summaries(log[log["event_time"] < (START_WEEK + weeks).start_seconds])


def test_a_feature_at_a_cutoff_is_unchanged_when_later_data_is_added() -> None:
    cutoff = START_WEEK + 11
    upto = _summaries(12)  # data ends with the cut-off week
    full = _summaries(20)  # eight more weeks
    assert len(full) > len(upto)
    before = build_features(upto, cutoff)
    after = build_features(full, cutoff)
    pdt.assert_frame_equal(before, after, check_exact=True)
    # The same holds through the training examples: only the labels look ahead.
    examples = labelled_examples(full, [cutoff - 2, cutoff], 8, START_WEEK + 19)
    again = labelled_examples(
        pd.concat([full, full.assign(week_start=full["week_start"] + 40 * 604_800)]),
        [cutoff - 2, cutoff],
        8,
        START_WEEK + 19,
    )
    pdt.assert_frame_equal(examples, again)


def test_garbage_after_the_cutoff_cannot_reach_the_features() -> None:
    cutoff = START_WEEK + 11
    summaries = _summaries(12)
    shift = 12 * 604_800  # every row lands after the cut-off week
    future = summaries.assign(
        week_start=summaries["week_start"] + shift,
        purchase_count=10_000,
        purchase_total=1e9,
        last_purchase_time=summaries["last_purchase_time"] + shift,
    )
    pdt.assert_frame_equal(
        build_features(summaries, cutoff), build_features(pd.concat([summaries, future]), cutoff)
    )


def test_features_mean_what_they_say() -> None:
    summaries = _summaries(14)
    cutoff = START_WEEK + 13
    features = build_features(summaries, cutoff, active_weeks=13)
    assert list(features.columns) == list(FEATURE_COLUMNS)
    assert features.index.is_monotonic_increasing and np.isfinite(features.to_numpy()).all()
    customer = features.index[0]
    rows = summaries[summaries["customer_id"] == customer]
    age = (cutoff.start_seconds - rows["week_start"]) // 604_800
    for weeks in (4, 8, 13):
        assert features.loc[customer, f"frequency_{weeks}w"] == rows.loc[age < weeks, "purchase_count"].sum()
        assert np.isclose(
            features.loc[customer, f"monetary_{weeks}w"], rows.loc[age < weeks, "purchase_total"].sum()
        )
    last = rows["last_purchase_time"].max()
    assert np.isclose(features.loc[customer, "recency_days"], (cutoff.end_seconds - last) / 86_400)
    assert (features["recency_days"] >= 0).all() and (features["tenure_weeks"] >= 1).all()
    assert (features["tenure_weeks"] <= 14).all()
    # Only customers with a purchase in the last K weeks are kept.
    recent = build_features(summaries, cutoff, active_weeks=2)
    assert set(recent.index) <= set(features.index) and (recent["recency_days"] <= 14).all()
