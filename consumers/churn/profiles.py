"""Each customer's latest profile: RFM over the last K weeks, trends, preferred categories.

Published to the compacted `customer-profiles` topic (keyed by customer id) as `contracts.CustomerProfile`,
where other services (the recommender) read RFM features without touching transactions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from consumers.churn.weeks import WEEK_SECONDS, IsoWeek, week_indices
from contracts import CustomerProfile

PROFILE_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "week",
    "recency_days",
    "frequency",
    "monetary_value",
    "average_transaction",
    "refund_count",
    "active_weeks",
    "tenure_weeks",
    "frequency_trend",
    "monetary_trend",
    "preferred_categories",
    "last_purchase_time",
)


def build_profiles(
    summaries: pd.DataFrame,
    categories: pd.DataFrame,
    week: IsoWeek,
    window_weeks: int = 13,
    top_categories: int = 3,
) -> pd.DataFrame:
    """One profile per customer with any transaction in the `window_weeks` weeks up to `week`.

    Parameters
    ----------
    summaries
        Weekly summaries up to `week` (rows after it are ignored); older rows count for tenure.
    categories
        Weekly purchases per customer and category (`SummaryArchive` table `categories`).
    week
        The profile's week.
    window_weeks
        K, the RFM window.
    top_categories
        How many preferred categories (by spend in the window) to keep.

    >>> week = IsoWeek(2026, 48)
    >>> summaries = pd.DataFrame({"customer_id": ["u-1", "u-1"], "purchase_count": [3, 1],
    ...     "week_start": [(week - 5).start_seconds, week.start_seconds], "purchase_total": [60.0, 20.0],
    ...     "refund_count": [0, 1], "last_purchase_time": [(week - 5).start_seconds + 10.0,
    ...     week.start_seconds + 86_400.0]})
    >>> categories = pd.DataFrame({"week": ["2026-W48"], "customer_id": ["u-1"],
    ...     "merchant_category": ["grocery"], "purchase_count": [1], "purchase_total": [20.0]})
    >>> profile = build_profiles(summaries, categories, week).iloc[0].to_dict()
    >>> [profile[name] for name in ("frequency", "monetary_value", "recency_days", "preferred_categories")]
    [4, 80.0, 6.0, ['grocery']]
    """
    end = week.end_seconds
    visible = summaries[summaries["week_start"] + WEEK_SECONDS <= end]
    age = (week.start_seconds - visible["week_start"].to_numpy()) // WEEK_SECONDS
    purchases = visible["purchase_count"].to_numpy(dtype="float64")
    totals = visible["purchase_total"].to_numpy(dtype="float64")
    inside = age < window_weeks
    work = pd.DataFrame(
        {
            "customer_id": visible["customer_id"].to_numpy(),
            "frequency": np.where(inside, purchases, 0.0),
            "monetary_value": np.where(inside, totals, 0.0),
            "refund_count": np.where(inside, visible["refund_count"].to_numpy(dtype="float64"), 0.0),
            "active_weeks": (inside & (purchases > 0)).astype("float64"),
            "in_window": inside.astype("float64"),
            "recent_frequency": np.where(age < 4, purchases, 0.0),
            "previous_frequency": np.where((age >= 4) & (age < 8), purchases, 0.0),
            "recent_monetary": np.where(age < 4, totals, 0.0),
            "previous_monetary": np.where((age >= 4) & (age < 8), totals, 0.0),
            "last_purchase_time": visible["last_purchase_time"].to_numpy(dtype="float64"),
            "oldest_age": age.astype("float64"),
        }
    )
    grouped = work.groupby("customer_id", sort=True)
    sums = grouped[
        [
            "frequency",
            "monetary_value",
            "refund_count",
            "active_weeks",
            "in_window",
            "recent_frequency",
            "previous_frequency",
            "recent_monetary",
            "previous_monetary",
        ]
    ].sum()
    sums["last_purchase_time"] = grouped["last_purchase_time"].max()
    sums["oldest_age"] = grouped["oldest_age"].max()
    table = sums[sums["in_window"] > 0]
    frequency = table["frequency"].to_numpy()
    monetary = table["monetary_value"].to_numpy()
    last = table["last_purchase_time"].to_numpy()
    profiles = pd.DataFrame(index=table.index)
    profiles["week"] = str(week)
    profiles["recency_days"] = np.where(np.isfinite(last), (end - last) / 86_400.0, np.nan)
    profiles["frequency"] = frequency.astype("int64")
    profiles["monetary_value"] = monetary
    profiles["average_transaction"] = np.divide(
        monetary, frequency, out=np.zeros_like(monetary), where=frequency > 0
    )
    profiles["refund_count"] = table["refund_count"].to_numpy().astype("int64")
    profiles["active_weeks"] = table["active_weeks"].to_numpy().astype("int64")
    profiles["tenure_weeks"] = (table["oldest_age"].to_numpy() + 1).astype("int64")
    previous = table["previous_frequency"].to_numpy()
    profiles["frequency_trend"] = (table["recent_frequency"].to_numpy() - previous) / (previous + 1.0)
    previous_monetary = table["previous_monetary"].to_numpy()
    scale = previous_monetary + np.maximum(profiles["average_transaction"].to_numpy(), 1.0)
    profiles["monetary_trend"] = (table["recent_monetary"].to_numpy() - previous_monetary) / scale
    profiles["last_purchase_time"] = last
    profiles["preferred_categories"] = (
        _preferred(categories, week, window_weeks, top_categories)
        .reindex(profiles.index)
        .apply(lambda value: value if isinstance(value, list) else [])
    )
    profiles.index.name = "customer_id"
    return profiles.reset_index()[list(PROFILE_COLUMNS)]


def _preferred(categories: pd.DataFrame, week: IsoWeek, window_weeks: int, top: int) -> pd.Series:
    """Each customer's `top` categories by spend in the window (ties by name), as lists."""
    if categories.empty:
        return pd.Series(dtype=object)
    first = (week - (window_weeks - 1)).index
    indices = week_indices(categories["week"])
    window = categories[(indices >= first) & (indices <= week.index)]
    spend = window.groupby(["customer_id", "merchant_category"])["purchase_total"].sum().reset_index()
    spend = spend.sort_values(
        by=["customer_id", "purchase_total", "merchant_category"],
        ascending=[True, False, True],
        kind="stable",
    )
    spend = spend.groupby("customer_id", sort=False).head(top)
    if spend.empty:
        return pd.Series(dtype=object)
    customers = spend["customer_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, customers[1:] != customers[:-1]])
    lists = [part.tolist() for part in np.split(spend["merchant_category"].to_numpy(), starts[1:])]
    return pd.Series(lists, index=pd.Index(customers[starts], dtype="str"), dtype=object)


def profile_records(profiles: pd.DataFrame, week: IsoWeek, window_weeks: int) -> list[CustomerProfile]:
    """The profiles as `CustomerProfile` events for the compacted topic."""
    records = []
    end = float(week.end_seconds)
    rows: list[dict[Any, Any]] = profiles.to_dict("records")
    for row in rows:
        recency = None if pd.isna(row["recency_days"]) else round(float(row["recency_days"]), 4)
        last = None if pd.isna(row["last_purchase_time"]) else float(row["last_purchase_time"])
        records.append(
            CustomerProfile(
                customer_id=str(row["customer_id"]),
                week=str(week),
                event_time=end,
                window_weeks=window_weeks,
                recency_days=recency,
                frequency=int(row["frequency"]),
                monetary_value=round(float(row["monetary_value"]), 2),
                average_transaction=round(float(row["average_transaction"]), 2),
                refund_count=int(row["refund_count"]),
                active_weeks=int(row["active_weeks"]),
                tenure_weeks=int(row["tenure_weeks"]),
                frequency_trend=round(float(row["frequency_trend"]), 4),
                monetary_trend=round(float(row["monetary_trend"]), 4),
                preferred_categories=[str(name) for name in row["preferred_categories"]][:16],
                last_purchase_time=last,
            )
        )
    return records
