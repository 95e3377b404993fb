"""Data the churn tests make for themselves: random transaction chunks and a simulated payment log."""

from __future__ import annotations

import functools

import numpy as np
import orjson
import pandas as pd

from consumers.churn.weeks import IsoWeek
from producers.customers import CustomerLifecycleSettings
from producers.payments import PaymentWorld

#: The simulated log starts on Monday 2026-01-05, the start of ISO week 2026-W02.
START_WEEK = IsoWeek(2026, 2)


def random_transactions(week: IsoWeek, customers: int, rows: int, seed: int) -> pd.DataFrame:
    """Random transactions inside `week`, with several cards per customer and refunds."""
    rng = np.random.default_rng(seed)
    customer = rng.integers(0, customers, rows)
    card = customer * 3 + rng.integers(0, 3, rows)
    return pd.DataFrame(
        {
            "customer_id": pd.Series([f"u-{value:05d}" for value in customer], dtype="str"),
            "card_id": [f"c-{value:06d}" for value in card],
            "event_time": week.start_seconds + rng.uniform(0, 7 * 86_400 - 1e-3, rows),
            "amount": np.round(rng.lognormal(3.0, 1.0, rows), 2) + 0.01,
            "is_refund": rng.random(rows) < 0.05,
            "merchant_id": [f"m-{value:03d}" for value in rng.integers(0, 60, rows)],
            "merchant_category": rng.choice(["grocery", "fuel", "travel", "clothing", "pharmacy"], rows),
            "channel": rng.choice(["pos", "online", "atm", "contactless"], rows),
        }
    )


@functools.lru_cache(maxsize=4)
def simulated_log(weeks: int, cards: int, seed: int, per_card_day: float = 1.0) -> pd.DataFrame:
    """`weeks` weeks of simulated payments from `START_WEEK` on, as a transaction log frame."""
    world = PaymentWorld(
        cards=cards,
        merchants=150,
        seed=seed,
        start_time=float(START_WEEK.start_seconds),
        fraud_rate=0.0,
        transactions_per_card_day=per_card_day,
        lifecycle=CustomerLifecycleSettings(weekly_churn_hazard=0.02),
    )
    end = (START_WEEK + weeks).start_seconds
    rows: list[dict] = []
    while world.now < end:
        rows.extend(orjson.loads(r.value) for r in world.generate(None) if r.topic == "transactions")
    frame = pd.DataFrame(rows)
    frame = frame[frame["event_time"] < end].reset_index(drop=True)
    frame["is_refund"] = frame["transaction_type"] == "refund"
    return frame[
        [
            "customer_id",
            "card_id",
            "event_time",
            "amount",
            "is_refund",
            "merchant_id",
            "merchant_category",
            "channel",
        ]
    ]
