"""Customer lifecycles in the payment simulation: hazard, pre-churn decline, reactivation, seasons, growth."""

from __future__ import annotations

import numpy as np
import orjson
import pandas as pd
import pytest

from contracts import Label
from producers.customers import (
    ACTIVE,
    WEEK_SECONDS,
    CustomerBase,
    CustomerLifecycleSettings,
    week_start_at_or_before,
)
from producers.payments import CATEGORIES, PaymentWorld
from streaming.schemas import Codec

START = 1_767_571_200.0  # Monday 2026-01-05 00:00 UTC


def _simulate(world: PaymentWorld, weeks: int) -> tuple[pd.DataFrame, list[Label]]:
    codec = Codec(Label)
    rows: list[dict] = []
    labels: list[Label] = []
    end = START + weeks * WEEK_SECONDS
    while world.now < end:
        for record in world.generate(None):
            if record.topic == "transactions":
                rows.append(orjson.loads(record.value))
            else:
                labels.append(codec.decode(record.value))
    frame = pd.DataFrame(rows)
    frame = frame[frame["event_time"] < end]
    frame["week"] = ((frame["event_time"] - START) // WEEK_SECONDS).astype(int)
    return frame, labels


def _base(cards: int, **settings: float) -> CustomerBase:
    names = [category[0] for category in CATEGORIES]
    return CustomerBase(
        CustomerLifecycleSettings(**settings),  # type: ignore[arg-type]
        cards=cards,
        seed=5,
        start_time=START,
        merchants_by_city=[list(range(len(names)))],
        merchant_categories=names,
        category_shares={category[0]: category[2] for category in CATEGORIES},
        city_count=1,
        transactions_per_card_day=2.0,
    )


def test_weekly_churn_hazard_is_low_and_as_configured() -> None:
    assert CustomerLifecycleSettings().weekly_churn_hazard <= 0.05
    base = _base(cards=30_000, weekly_churn_hazard=0.02, weekly_growth_rate=0.0)
    rates = []
    for _ in range(15):
        active, onsets_before = int(np.count_nonzero(base.status == ACTIVE)), len(base.onsets)
        base.advance(base.next_boundary)
        rates.append((len(base.onsets) - onsets_before) / active)
    assert np.mean(rates[:3]) == pytest.approx(0.02, rel=0.12)
    # Hazards differ between customers and the likeliest leave first, so the survivors' rate drifts down.
    assert 0.6 * 0.02 < np.mean(rates[-3:]) < np.mean(rates[:3])
    # Every onset is followed, a few weeks later, by the churn itself.
    churned = {customer for customer, _time in base.churn_events}
    early = [customer for customer, time in base.onsets if time <= START + 5 * WEEK_SECONDS]
    assert early and all(customer in churned for customer in early)


def test_churners_decline_before_they_stop() -> None:
    world = PaymentWorld(
        cards=1_500,
        merchants=300,
        seed=3,
        start_time=START,
        fraud_rate=0.0,
        transactions_per_card_day=1.5,
        lifecycle=CustomerLifecycleSettings(
            weekly_churn_hazard=0.02, weekly_reactivation_probability=0.0, seasonal_share=0.0
        ),
    )
    frame, labels = _simulate(world, weeks=22)
    index = {customer: position for position, customer in enumerate(world.customer_ids)}
    onsets = {world.customer_ids[customer]: time for customer, time in world.customers.onsets}
    churns = {label.entity_id: label.event_time for label in labels}
    assert churns, "no churn in 22 weeks"
    visits, baskets, merchants, refunds_before, refunds_during = [], [], [], [], []
    grouped = dict(tuple(frame.groupby("customer_id")))
    studied = 0
    for customer, churn_time in churns.items():
        onset = onsets[customer]
        if onset < START + 5 * WEEK_SECONDS or customer not in grouped:
            continue  # no clean baseline before the decline
        rows = grouped[customer]
        bought = rows[rows["transaction_type"] == "purchase"]
        baseline = bought[(bought["event_time"] >= onset - 4 * WEEK_SECONDS) & (bought["event_time"] < onset)]
        late = bought[
            (bought["event_time"] >= churn_time - 2 * WEEK_SECONDS) & (bought["event_time"] < churn_time)
        ]
        if len(baseline) < 8:
            continue
        studied += 1
        visits.append((len(late) / 2.0) / (len(baseline) / 4.0))
        if len(late):
            baskets.append(late["amount"].mean() / baseline["amount"].mean())
            merchants.append(late["merchant_id"].nunique() / 2.0 - baseline["merchant_id"].nunique() / 4.0)
        before = rows[(rows["event_time"] >= onset - 4 * WEEK_SECONDS) & (rows["event_time"] < onset)]
        during = rows[(rows["event_time"] >= onset) & (rows["event_time"] < churn_time)]
        refunds_before.append(((before["transaction_type"] == "refund").sum(), len(before)))
        refunds_during.append(((during["transaction_type"] == "refund").sum(), len(during)))
        # After the churn date the customer buys nothing (no reactivation in this world).
        assert (bought["event_time"] >= churn_time).sum() == 0, customer
        assert index[customer] >= 0
    assert studied >= 15, studied
    assert np.median(visits) < 0.6
    assert np.median(baskets) < 0.9
    assert np.median(merchants) < 0
    share_before = sum(r for r, _ in refunds_before) / sum(n for _, n in refunds_before)
    share_during = sum(r for r, _ in refunds_during) / sum(n for _, n in refunds_during)
    assert share_during > 2 * share_before


def test_some_churned_customers_come_back() -> None:
    world = PaymentWorld(
        cards=800,
        merchants=200,
        seed=4,
        start_time=START,
        fraud_rate=0.0,
        transactions_per_card_day=1.0,
        lifecycle=CustomerLifecycleSettings(weekly_churn_hazard=0.03, weekly_reactivation_probability=0.25),
    )
    frame, labels = _simulate(world, weeks=16)
    purchases = frame[frame["transaction_type"] == "purchase"]
    last_churn = {}
    for label in labels:
        last_churn[label.entity_id] = min(label.event_time, last_churn.get(label.entity_id, np.inf))
    came_back = {
        customer
        for customer, time in last_churn.items()
        if (purchases[purchases["customer_id"] == customer]["event_time"] > time + WEEK_SECONDS).any()
    }
    reactivated = {world.customer_ids[customer] for customer, _time in world.customers.reactivations}
    assert came_back and came_back <= reactivated
    assert len(came_back) < len(last_churn)  # some, not all


def test_seasonal_customers_buy_mostly_in_their_season() -> None:
    world = PaymentWorld(
        cards=1_200,
        merchants=200,
        seed=6,
        start_time=START,
        fraud_rate=0.0,
        transactions_per_card_day=1.0,
        lifecycle=CustomerLifecycleSettings(seasonal_share=0.3, season_weeks=8, weekly_churn_hazard=0.0),
    )
    frame, _labels = _simulate(world, weeks=26)
    base = world.customers
    seasonal = {base.customer_ids[i]: int(base.season_start_week[i]) for i in np.flatnonzero(base.seasonal)}
    rows = frame[frame["customer_id"].isin(seasonal) & (frame["transaction_type"] == "purchase")]
    week_of_year = ((week_start_at_or_before(START) - 4 * 86_400.0) // WEEK_SECONDS + rows["week"]) % 52
    start = rows["customer_id"].map(seasonal)
    in_season = ((week_of_year - start) % 52) < 8
    assert len(rows) > 100
    assert in_season.mean() > 0.6  # 8 of 26 weeks in season at most, yet most purchases fall there


def test_new_customers_keep_arriving() -> None:
    world = PaymentWorld(
        cards=500,
        merchants=100,
        seed=7,
        start_time=START,
        fraud_rate=0.0,
        transactions_per_card_day=1.0,
        lifecycle=CustomerLifecycleSettings(weekly_growth_rate=0.05),
    )
    initial_customers, initial_cards = world.customers.customer_count, len(world.card_ids)
    assert initial_cards == 500
    frame, _labels = _simulate(world, weeks=10)
    assert world.customers.customer_count > initial_customers * 1.3
    assert len(world.card_ids) > initial_cards
    newcomers = set(world.customer_ids[initial_customers:])
    assert newcomers & set(frame["customer_id"])
    weekly_customers = frame.groupby("week")["customer_id"].nunique()
    assert weekly_customers.iloc[-1] > weekly_customers.iloc[0]


def test_every_payment_names_the_customer_holding_the_card_and_refunds_follow_purchases() -> None:
    world = PaymentWorld(cards=300, merchants=80, seed=8, start_time=START, fraud_rate=0.01)
    frame, labels = _simulate(world, weeks=3)
    owners = {card: world.customers.customer_of(i) for i, card in enumerate(world.card_ids)}
    assert (frame["card_id"].map(owners) == frame["customer_id"]).all()
    refunds = frame[frame["transaction_type"] == "refund"]
    purchases = frame[frame["transaction_type"] == "purchase"]
    assert len(refunds) > 0 and (refunds["amount"] > 0).all()
    matched = refunds.merge(purchases, on=["card_id", "merchant_id", "amount"], suffixes=("", "_purchase"))
    matched = matched[matched["event_time_purchase"] < matched["event_time"]]
    assert set(matched["transaction_id"]) == set(refunds["transaction_id"])
    for label in labels:
        if label.kind == "customer_churned":
            assert label.entity_id.startswith("u-")
            assert label.reported_time - label.event_time == pytest.approx(8 * WEEK_SECONDS)


def test_same_seed_same_customers_and_churns() -> None:
    def run(seed: int) -> tuple[list[bytes], list[str]]:
        world = PaymentWorld(
            cards=300,
            merchants=60,
            seed=seed,
            start_time=START,
            fraud_rate=0.0,
            transactions_per_card_day=0.5,
            lifecycle=CustomerLifecycleSettings(weekly_churn_hazard=0.05),
        )
        values: list[bytes] = []
        while world.now < START + 6 * WEEK_SECONDS:
            values.extend(record.value for record in world.generate(None))
        values.extend(record.value for record in world.finish())
        return values, list(world.customer_ids)

    first, second, other = run(11), run(11), run(12)
    assert first == second
    assert first[0] != other[0]
    assert any(b'"customer_churned"' in value for value in first[0])
