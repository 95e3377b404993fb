"""Labels from the H weeks after a cut-off; oversampling touches training rows only."""

from __future__ import annotations

import pandas as pd
import pandas.testing as pdt
import pytest

from consumers.churn.evaluate import weekly_summaries
from consumers.churn.labels import churn_labels, labelled_cutoffs, labelled_examples
from consumers.churn.sampling import EvaluationRows, TrainingRows, oversample, split_by_cutoff
from consumers.churn.weeks import IsoWeek
from tests.consumers.churn.support import START_WEEK, simulated_log


def test_churn_is_no_purchase_in_the_horizon_and_h_is_configurable() -> None:
    week = IsoWeek(2026, 10)
    summaries = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "week_start": [
                (week + 1).start_seconds,
                (week + 3).start_seconds,
                (week + 5).start_seconds,
                week.start_seconds,
            ],
            "purchase_count": [2, 1, 4, 9],
        }
    )
    customers = pd.Index(["a", "b", "c", "d", "e"])
    assert churn_labels(summaries, week, customers, 8, week + 8).tolist() == [False, False, False, True, True]
    assert churn_labels(summaries, week, customers, 4, week + 8).tolist() == [False, False, True, True, True]
    # Refund-only weeks are not purchases.
    refund_only = summaries.assign(purchase_count=[0, 0, 0, 0])
    assert churn_labels(refund_only, week, customers, 8).all()
    with pytest.raises(ValueError, match="need the weeks up to"):
        churn_labels(summaries, week, customers, 8, week + 7)
    assert labelled_cutoffs(week, week + 9, 8, 1) == [week, week + 1]


def _examples() -> pd.DataFrame:
    log = simulated_log(weeks=30, cards=800, seed=1)  # shared with the backtest tests
    log = log[log["event_time"] < (START_WEEK + 20).start_seconds]
    summaries = weekly_summaries(log)
    cutoffs = labelled_cutoffs(START_WEEK, START_WEEK + 19, 4, 4)
    return labelled_examples(summaries, cutoffs, 4, START_WEEK + 19, active_weeks=4)


def test_oversampling_touches_training_rows_only() -> None:
    examples = _examples()
    evaluation_cutoff = START_WEEK + 15
    training, evaluation = split_by_cutoff(examples, evaluation_cutoff, horizon_weeks=4)
    assert set(training.frame["cutoff"]) and max(training.frame["cutoff"]) <= str(evaluation_cutoff - 4)
    kept = evaluation.frame.copy()
    positives_before = int(training.labels.sum())
    balanced = oversample(training, target_share=0.4, seed=3)
    assert balanced.positive_share == pytest.approx(0.4, abs=0.01) and balanced.duplicates > 0
    # The originals are all still there, unchanged, and every added row copies a training churner.
    pdt.assert_frame_equal(balanced.frame.iloc[: len(training)], training.frame)
    added = balanced.frame.iloc[len(training) :]
    assert added["churned"].all() and len(added) == balanced.duplicates
    originals = set(map(tuple, training.frame[training.labels].astype(str).to_numpy()))
    assert set(map(tuple, added.astype(str).to_numpy())) <= originals
    assert int(training.labels.sum()) == positives_before  # the input is not modified
    pdt.assert_frame_equal(evaluation.frame, kept)
    with pytest.raises(TypeError, match="never evaluation rows"):
        oversample(evaluation)  # type: ignore[arg-type]
    assert oversample(balanced, target_share=0.3) is balanced  # already above: unchanged
    assert len(EvaluationRows(kept)) == len(kept) and isinstance(training, TrainingRows)
