"""Churn labels from behaviour: a customer churned after a cut-off when it buys nothing in the next H weeks.

The simulator's ground truth (`customer_churned` labels) is for evaluation only; a real business knows only
behaviour, so the job defines churn this way. A cut-off's labels are known once its H following weeks
are complete, so training at week W uses cut-offs up to W - H.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from consumers.churn.features import build_features
from consumers.churn.weeks import WEEK_SECONDS, IsoWeek, week_range

LABEL_COLUMN = "churned"
CUTOFF_COLUMN = "cutoff"


def churn_labels(
    summaries: pd.DataFrame,
    cutoff: IsoWeek,
    customers: pd.Index,
    horizon_weeks: int = 8,
    last_complete_week: IsoWeek | None = None,
) -> pd.Series:
    """True for each of `customers` with no purchase in the `horizon_weeks` weeks after `cutoff`.

    Parameters
    ----------
    summaries
        Weekly summaries (`customer_id`, `week_start`, `purchase_count`) covering the horizon.
    cutoff
        The cut-off week.
    customers
        The customers to label (those with features at the cut-off).
    horizon_weeks
        H, the weeks without purchase that make a churner.
    last_complete_week
        The last week the summaries hold completely; a horizon past it is an error, not a churn.

    >>> week = IsoWeek(2026, 40)
    >>> summaries = pd.DataFrame({"customer_id": ["u-1", "u-2"], "purchase_count": [3, 1],
    ...     "week_start": [(week + 2).start_seconds, (week + 9).start_seconds]})
    >>> churn_labels(summaries, week, pd.Index(["u-1", "u-2", "u-3"]), 8, week + 9).tolist()
    [False, True, True]
    """
    if horizon_weeks < 1:
        raise ValueError("horizon_weeks must be at least 1")
    if last_complete_week is not None and cutoff + horizon_weeks > last_complete_week:
        raise ValueError(
            f"the labels of cut-off {cutoff} need the weeks up to {cutoff + horizon_weeks}, "
            f"but the data ends with {last_complete_week}"
        )
    start = cutoff.end_seconds
    end = start + horizon_weeks * WEEK_SECONDS
    horizon = summaries[
        (summaries["week_start"] >= start)
        & (summaries["week_start"] < end)
        & (summaries["purchase_count"] > 0)
    ]
    bought = pd.Index(horizon["customer_id"].unique())
    return pd.Series(~is_member(customers, bought), index=customers, name=LABEL_COLUMN)


def is_member(values: pd.Index | pd.Series, candidates: pd.Index | pd.Series) -> np.ndarray:
    """For each value, whether it is among `candidates` (strings; pyarrow's hash join, as pandas' `isin` on
    Arrow strings loops in Python).

    >>> is_member(pd.Index(["a", "b", "c"]), pd.Index(["c", "a"])).tolist()
    [True, False, True]
    """
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    left = pa.array(pd.Series(values, copy=False).astype("str"))
    right = pa.array(pd.Series(candidates, copy=False).astype("str"))
    return np.asarray(pc.is_in(left, value_set=right).fill_null(False), dtype=bool)


def labelled_cutoffs(
    first_week: IsoWeek, last_complete_week: IsoWeek, horizon_weeks: int, warmup_weeks: int
) -> list[IsoWeek]:
    """Cut-offs with `warmup_weeks` of history before them (counting their own week) and a complete horizon.

    >>> [str(w) for w in labelled_cutoffs(IsoWeek(2026, 1), IsoWeek(2026, 16), 8, 4)]
    ['2026-W04', '2026-W05', '2026-W06', '2026-W07', '2026-W08']
    """
    first = first_week + (warmup_weeks - 1)
    last = last_complete_week - horizon_weeks
    return week_range(first, last) if first <= last else []


def labelled_examples(
    summaries: pd.DataFrame,
    cutoffs: list[IsoWeek],
    horizon_weeks: int,
    last_complete_week: IsoWeek,
    active_weeks: int = 13,
    history_weeks: int = 52,
) -> pd.DataFrame:
    """Features and label of every customer at each cut-off: one row per (cut-off, customer).

    Columns: `cutoff` (week text), `customer_id`, the features, `churned`. Rows are ordered by cut-off,
    then customer, so the same summaries give the same frame.
    """
    frames = []
    for cutoff in cutoffs:
        features = build_features(summaries, cutoff, active_weeks=active_weeks, history_weeks=history_weeks)
        labels = churn_labels(summaries, cutoff, features.index, horizon_weeks, last_complete_week)
        frame = features.assign(**{LABEL_COLUMN: labels.to_numpy()}).reset_index()
        frame.insert(0, CUTOFF_COLUMN, str(cutoff))
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=[CUTOFF_COLUMN, "customer_id", LABEL_COLUMN])
    return pd.concat(frames, ignore_index=True)
