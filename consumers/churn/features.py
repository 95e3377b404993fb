"""Features of each customer at a cut-off, from weekly summaries up to the cut-off only.

A cut-off is the end of an ISO week. `build_features` first keeps the summary rows of weeks that END at or
before the cut-off and drops everything else; every feature is computed from those rows alone. So adding
data after the cut-off cannot change a feature (the leakage test checks this), and the same summaries
always give the same features.

Features (windows of 4, 8 and 13 weeks end at the cut-off):

- recency: `recency_days`, days from the last purchase to the cut-off, and `recency_in_gaps`, the same in
  units of the customer's own mean gap between purchases (a daily shopper gone for a week is more alarming
  than a monthly one);
- frequency: `frequency_4w`, `frequency_8w`, `frequency_13w`, purchases in the window;
- monetary value: `monetary_4w`, `monetary_8w`, `monetary_13w`, purchase totals in the window;
- average transaction: `average_transaction_13w` and its trend `basket_trend` (4 weeks vs 13);
- trends week over week: `frequency_trend`, `monetary_trend` (last 4 weeks vs the 4 before),
  `last_week_change` (the cut-off week vs the mean of the 4 before it);
- behaviour: `active_weeks_13w`, `active_days_4w`, `refund_share_13w`, `merchants_per_week_4w`,
  `merchant_trend`, `online_share_13w`;
- tenure: `tenure_weeks`, weeks since the customer's first week in the summaries (capped by the history
  read, `history_weeks`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from consumers.churn.weeks import WEEK_SECONDS, IsoWeek

WINDOWS_WEEKS: tuple[int, ...] = (4, 8, 13)
FEATURE_COLUMNS: tuple[str, ...] = (
    "recency_days",
    "recency_in_gaps",
    "frequency_4w",
    "frequency_8w",
    "frequency_13w",
    "monetary_4w",
    "monetary_8w",
    "monetary_13w",
    "average_transaction_13w",
    "basket_trend",
    "frequency_trend",
    "monetary_trend",
    "last_week_change",
    "active_weeks_13w",
    "active_days_4w",
    "refund_share_13w",
    "merchants_per_week_4w",
    "merchant_trend",
    "online_share_13w",
    "tenure_weeks",
)
#: The classic RFM trio, for the logistic regression.
RFM_COLUMNS: tuple[str, ...] = ("recency_days", "frequency_13w", "monetary_13w")
#: Summary columns the features read (the archive reads only these).
SUMMARY_INPUTS: list[str] = [
    "customer_id",
    "week_start",
    "purchase_count",
    "purchase_total",
    "refund_count",
    "distinct_merchants",
    "active_days",
    "channel_online",
    "last_purchase_time",
]


def _trend(recent: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Relative change, damped by +1 so tiny counts do not explode: 0 = unchanged, -1 = stopped."""
    return (recent - previous) / (previous + 1.0)


def build_features(
    summaries: pd.DataFrame, cutoff: IsoWeek, active_weeks: int = 13, history_weeks: int = 52
) -> pd.DataFrame:
    """One row per customer with a purchase in the `active_weeks` weeks up to the end of `cutoff`.

    Parameters
    ----------
    summaries
        Weekly summary rows (at least `SUMMARY_INPUTS`) of any weeks, before or after the cut-off.
    cutoff
        The last week whose data may be used.
    active_weeks
        Customers without a purchase in this many weeks up to the cut-off are left out.
    history_weeks
        How far back to look for tenure.

    Returns the features (`FEATURE_COLUMNS`) indexed by customer id, sorted.

    >>> week = IsoWeek(2026, 48)
    >>> summaries = pd.DataFrame({"customer_id": ["u-1", "u-1", "u-2"],
    ...     "week_start": [(week - 1).start_seconds, week.start_seconds, (week + 1).start_seconds],
    ...     "purchase_count": [4, 2, 9], "purchase_total": [80.0, 30.0, 99.0], "refund_count": [0, 1, 0],
    ...     "distinct_merchants": [3, 1, 2], "active_days": [3, 2, 5], "channel_online": [1, 0, 0],
    ...     "last_purchase_time": [(week - 1).start_seconds + 9e4, week.start_seconds + 86_400.0,
    ...                            (week + 1).start_seconds + 10.0]})
    >>> features = build_features(summaries, week)
    >>> features.index.tolist(), features.loc["u-1", ["frequency_4w", "recency_days"]].tolist()
    (['u-1'], [6.0, 6.0])
    """
    if not 1 <= active_weeks <= history_weeks or history_weeks < max(WINDOWS_WEEKS):
        raise ValueError("need 1 <= active_weeks <= history_weeks and history_weeks >= 13")
    end = cutoff.end_seconds
    # The only place data enters: rows of weeks ending at or before the cut-off, within the history read.
    visible = summaries[
        (summaries["week_start"] + WEEK_SECONDS <= end)
        & (summaries["week_start"] >= end - (history_weeks + 1) * WEEK_SECONDS)
    ]
    if len(visible) and (visible["last_purchase_time"].fillna(-np.inf) >= end).any():
        raise ValueError("a summary row has a purchase after the end of its week")
    age = ((cutoff.start_seconds - visible["week_start"].to_numpy()) // WEEK_SECONDS).astype("int64")
    purchases = visible["purchase_count"].to_numpy(dtype="float64")
    totals = visible["purchase_total"].to_numpy(dtype="float64")
    columns: dict[str, np.ndarray] = {"customer_id": visible["customer_id"].to_numpy()}
    for weeks in (1, 4, 8, 13):
        inside = age < weeks
        columns[f"f{weeks}"] = np.where(inside, purchases, 0.0)
        columns[f"m{weeks}"] = np.where(inside, totals, 0.0)
    inside_13 = age < 13
    inside_4 = age < 4
    columns["active_window"] = np.where(age < active_weeks, purchases, 0.0)
    columns["previous_4_of_5"] = np.where((age >= 1) & (age < 5), purchases, 0.0)
    columns["active_weeks_13w"] = (inside_13 & (purchases > 0)).astype("float64")
    columns["active_days_4w"] = np.where(inside_4, visible["active_days"].to_numpy(dtype="float64"), 0.0)
    columns["refunds_13w"] = np.where(inside_13, visible["refund_count"].to_numpy(dtype="float64"), 0.0)
    columns["online_13w"] = np.where(inside_13, visible["channel_online"].to_numpy(dtype="float64"), 0.0)
    merchants = visible["distinct_merchants"].to_numpy(dtype="float64")
    columns["merchants_4w"] = np.where(inside_4, merchants, 0.0)
    columns["merchants_13w"] = np.where(inside_13, merchants, 0.0)
    columns["active_weeks_4w"] = (inside_4 & (purchases > 0)).astype("float64")
    columns["last_purchase_time"] = visible["last_purchase_time"].to_numpy(dtype="float64")
    columns["oldest_age"] = np.where(purchases > 0, age, -1).astype("float64")
    work = pd.DataFrame(columns)
    grouped = work.groupby("customer_id", sort=True)
    sums = grouped[
        [name for name in columns if name not in ("customer_id", "last_purchase_time", "oldest_age")]
    ]
    table = sums.sum()
    table["last_purchase_time"] = grouped["last_purchase_time"].max()
    table["oldest_age"] = grouped["oldest_age"].max()
    table = table[table["active_window"] > 0]
    f1, f4, f8, f13 = (table[f"f{weeks}"].to_numpy() for weeks in (1, 4, 8, 13))
    m4, m8, m13 = (table[f"m{weeks}"].to_numpy() for weeks in (4, 8, 13))
    average_13 = np.divide(m13, f13, out=np.zeros_like(m13), where=f13 > 0)
    average_4 = np.divide(m4, f4, out=average_13.copy(), where=f4 > 0)
    weeks_4 = table["active_weeks_4w"].to_numpy()
    weeks_13 = table["active_weeks_13w"].to_numpy()
    per_week_4 = np.divide(
        table["merchants_4w"].to_numpy(), weeks_4, out=np.zeros_like(f4), where=weeks_4 > 0
    )
    per_week_13 = np.divide(
        table["merchants_13w"].to_numpy(), weeks_13, out=np.zeros_like(f4), where=weeks_13 > 0
    )
    refunds = table["refunds_13w"].to_numpy()
    features = pd.DataFrame(index=table.index)
    features["recency_days"] = (end - table["last_purchase_time"].to_numpy()) / 86_400.0
    observed_days = 7.0 * np.minimum(13.0, table["oldest_age"].to_numpy() + 1.0)
    mean_gap_days = observed_days / np.maximum(f13, 1.0)
    features["recency_in_gaps"] = features["recency_days"].to_numpy() / mean_gap_days
    features["frequency_4w"], features["frequency_8w"], features["frequency_13w"] = f4, f8, f13
    features["monetary_4w"], features["monetary_8w"], features["monetary_13w"] = m4, m8, m13
    features["average_transaction_13w"] = average_13
    features["basket_trend"] = np.divide(
        average_4 - average_13, average_13, out=np.zeros_like(f4), where=average_13 > 0
    )
    features["frequency_trend"] = _trend(f4, f8 - f4)
    features["monetary_trend"] = np.divide(
        m4 - (m8 - m4), (m8 - m4) + average_13, out=np.zeros_like(m4), where=(m8 - m4) + average_13 > 0
    )
    features["last_week_change"] = _trend(f1, table["previous_4_of_5"].to_numpy() / 4.0)
    features["active_weeks_13w"] = weeks_13
    features["active_days_4w"] = table["active_days_4w"].to_numpy()
    features["refund_share_13w"] = refunds / (f13 + refunds)
    features["merchants_per_week_4w"] = per_week_4
    features["merchant_trend"] = np.divide(
        per_week_4 - per_week_13, per_week_13, out=np.zeros_like(f4), where=per_week_13 > 0
    )
    features["online_share_13w"] = np.divide(
        table["online_13w"].to_numpy(), f13 + refunds, out=np.zeros_like(f4), where=(f13 + refunds) > 0
    )
    features["tenure_weeks"] = table["oldest_age"].to_numpy() + 1.0
    features.index.name = "customer_id"
    return features[list(FEATURE_COLUMNS)]
