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
    # Sums per customer with bincount over factorised ids: one float array per feature, never a wide
    # frame of every row, which keeps a million customers x 13 weeks in memory and fast.
    codes, customers = pd.factorize(visible["customer_id"], sort=True)
    count = len(customers)

    def total(values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        weights = values if mask is None else np.where(mask, values, 0.0)
        return np.bincount(codes, weights=weights, minlength=count)

    inside_13, inside_4 = age < 13, age < 4
    bought = purchases > 0
    table: dict[str, np.ndarray] = {}
    for weeks in (1, 4, 8, 13):
        table[f"f{weeks}"] = total(purchases, age < weeks)
        table[f"m{weeks}"] = total(totals, age < weeks)
    table["active_window"] = total(purchases, age < active_weeks)
    table["previous_4_of_5"] = total(purchases, (age >= 1) & (age < 5))
    table["active_weeks_13w"] = total((inside_13 & bought).astype("float64"))
    table["active_weeks_4w"] = total((inside_4 & bought).astype("float64"))
    table["active_days_4w"] = total(visible["active_days"].to_numpy(dtype="float64"), inside_4)
    table["refunds_13w"] = total(visible["refund_count"].to_numpy(dtype="float64"), inside_13)
    table["online_13w"] = total(visible["channel_online"].to_numpy(dtype="float64"), inside_13)
    merchants = visible["distinct_merchants"].to_numpy(dtype="float64")
    table["merchants_4w"] = total(merchants, inside_4)
    table["merchants_13w"] = total(merchants, inside_13)
    last_purchase = np.full(count, -np.inf)
    np.fmax.at(last_purchase, codes, visible["last_purchase_time"].to_numpy(dtype="float64"))
    table["last_purchase_time"] = last_purchase
    oldest = np.full(count, -1.0)
    np.maximum.at(oldest, codes, np.where(bought, age, -1).astype("float64"))
    table["oldest_age"] = oldest
    keep = table["active_window"] > 0
    table = {name: values[keep] for name, values in table.items()}
    index = pd.Index(np.asarray(customers)[keep], name="customer_id", dtype="str")
    f1, f4, f8, f13 = (table[f"f{weeks}"] for weeks in (1, 4, 8, 13))
    m4, m8, m13 = (table[f"m{weeks}"] for weeks in (4, 8, 13))
    average_13 = np.divide(m13, f13, out=np.zeros_like(m13), where=f13 > 0)
    average_4 = np.divide(m4, f4, out=average_13.copy(), where=f4 > 0)
    weeks_4 = table["active_weeks_4w"]
    weeks_13 = table["active_weeks_13w"]
    per_week_4 = np.divide(table["merchants_4w"], weeks_4, out=np.zeros_like(f4), where=weeks_4 > 0)
    per_week_13 = np.divide(table["merchants_13w"], weeks_13, out=np.zeros_like(f4), where=weeks_13 > 0)
    refunds = table["refunds_13w"]
    features = pd.DataFrame(index=index)
    features["recency_days"] = (end - table["last_purchase_time"]) / 86_400.0
    observed_days = 7.0 * np.minimum(13.0, table["oldest_age"] + 1.0)
    mean_gap_days = observed_days / np.maximum(f13, 1.0)
    features["recency_in_gaps"] = features["recency_days"] / mean_gap_days
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
    features["last_week_change"] = _trend(f1, table["previous_4_of_5"] / 4.0)
    features["active_weeks_13w"] = weeks_13
    features["active_days_4w"] = table["active_days_4w"]
    features["refund_share_13w"] = refunds / (f13 + refunds)
    features["merchants_per_week_4w"] = per_week_4
    features["merchant_trend"] = np.divide(
        per_week_4 - per_week_13, per_week_13, out=np.zeros_like(f4), where=per_week_13 > 0
    )
    features["online_share_13w"] = np.divide(
        table["online_13w"], f13 + refunds, out=np.zeros_like(f4), where=(f13 + refunds) > 0
    )
    features["tenure_weeks"] = table["oldest_age"] + 1.0
    features.index.name = "customer_id"
    return features[list(FEATURE_COLUMNS)]
