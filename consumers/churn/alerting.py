"""Which high-value customers get a `churn` alert this week.

A customer is alerted when its probability is at or above the threshold, it is high-value (monetary value
at least `min_monetary_value` and in the top `1 - value_quantile` of the customers scored), and either it
was not alerted in the previous week's state or its probability rose by at least `rise` since the alert it
got. The state carries each alerted customer's last alerted probability while it stays above the
threshold; a customer who drops below it leaves the state, so crossing the threshold again alerts again.

Alerts are `contracts.Alert` with kind `churn`, a stable id per customer and week (re-runs give the same
ids, so subscribers deduplicate), and times at the week's end (re-runs give equal alerts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from consumers.churn.labels import is_member
from consumers.churn.weeks import IsoWeek
from contracts import Alert, stable_alert_id

STATE_COLUMNS: tuple[str, ...] = ("customer_id", "alerted_probability", "alerted_week")


def empty_state() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series(dtype="str"),
            "alerted_probability": pd.Series(dtype="float64"),
            "alerted_week": pd.Series(dtype="str"),
        }
    )


@dataclass(frozen=True)
class ChurnAlertPolicy:
    """The alert rule.

    Parameters
    ----------
    threshold
        Probability from which a customer is at risk enough to alert.
    min_monetary_value
        Least monetary value of an alerted customer.
    value_quantile
        An alerted customer's monetary value is at least this quantile of the scored customers'.
    rise
        How much a previously alerted customer's probability must have risen to be alerted again.

    >>> policy = ChurnAlertPolicy(threshold=0.5, value_quantile=0.0, rise=0.1)
    >>> week = IsoWeek(2026, 48)
    >>> scores = pd.DataFrame({"customer_id": ["u-1", "u-2"], "probability": [0.7, 0.3],
    ...     "monetary_value": [500.0, 900.0], "expected_lost_value": [350.0, 270.0],
    ...     "risk_band": ["high", "low"],
    ...     "top_reasons": [["recency_days=30 (typical 3)"], []]})
    >>> alerted, state = policy.select(scores, None, week)
    >>> alerted["customer_id"].tolist()
    ['u-1']
    >>> again, _ = policy.select(scores.assign(probability=[0.75, 0.3]), state, week + 1)
    >>> again.empty  # risk rose by 0.05 only
    True
    """

    threshold: float = 0.5
    min_monetary_value: float = 0.0
    value_quantile: float = 0.8
    rise: float = 0.05

    def select(
        self, scores: pd.DataFrame, previous_state: pd.DataFrame | None, week: IsoWeek
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(the rows of `scores` to alert, the state to keep for next week)."""
        state = previous_state if previous_state is not None else empty_state()
        value_floor = self.min_monetary_value
        if len(scores) and self.value_quantile > 0:
            value_floor = max(value_floor, float(np.quantile(scores["monetary_value"], self.value_quantile)))
        at_risk = scores["probability"] >= self.threshold
        valuable = scores["monetary_value"] >= value_floor
        last = scores["customer_id"].map(state.set_index("customer_id")["alerted_probability"])
        rose = last.isna() | (scores["probability"] >= last + self.rise - 1e-12)
        chosen = at_risk & valuable & rose
        alerted = scores[chosen].reset_index(drop=True)
        # Alerted now: their new probability. Still at risk but not re-alerted: their old entry stays.
        kept = state[is_member(state["customer_id"], scores.loc[at_risk & ~chosen, "customer_id"])]
        fresh = pd.DataFrame(
            {
                "customer_id": alerted["customer_id"].astype("str"),
                "alerted_probability": alerted["probability"].astype("float64"),
                "alerted_week": str(week),
            }
        )
        new_state = pd.concat(
            [frame for frame in (kept, fresh) if len(frame)] or [empty_state()], ignore_index=True
        )
        new_state = new_state.sort_values("customer_id", kind="stable", ignore_index=True)[
            list(STATE_COLUMNS)
        ]
        return alerted, new_state

    def alerts(
        self, alerted: pd.DataFrame, week: IsoWeek, model_name: str, model_version: int
    ) -> list[Alert]:
        """`contracts.Alert`s (kind `churn`) for the selected rows."""
        moment = float(week.end_seconds)
        result = []
        rows: list[dict[Any, Any]] = alerted.to_dict("records")
        for row in rows:
            probability, lost = float(row["probability"]), float(row["expected_lost_value"])
            reasons = "; ".join(row["top_reasons"])
            result.append(
                Alert(
                    alert_id=stable_alert_id("churn", str(row["customer_id"]), str(week)),
                    kind="churn",
                    entity_id=str(row["customer_id"]),
                    severity="critical" if probability >= max(0.8, self.threshold) else "warning",
                    score=probability,
                    threshold=self.threshold,
                    model_name=model_name,
                    model_version=model_version,
                    explanation=f"churn risk {probability:.0%}, expected lost value {lost:,.2f}"
                    + (f": {reasons}" if reasons else ""),
                    event_time=moment,
                    created_at=moment,
                    attributes={
                        "week": str(week),
                        "monetary_value": f"{float(row['monetary_value']):.2f}",
                        "expected_lost_value": f"{lost:.2f}",
                        "risk_band": str(row["risk_band"]),
                    },
                )
            )
        return result
