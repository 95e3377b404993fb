"""Cleaning catches the bad events the simulator injects, and only those."""

from __future__ import annotations

from collections import Counter

from consumers.recommendations.cleaning import EventCleaner
from consumers.recommendations.learner import IncrementalLearner
from consumers.recommendations.settings import RecommendationSettings
from contracts.shop import Product, ShopEvent
from tests.consumers.recommendations.simulated import START, simulate


def test_the_learner_drops_exactly_the_injected_events_by_reason() -> None:
    simulation = simulate(
        events=20_000,
        products=200,
        customers=300,
        faults=True,
        duplicate_fraction=0.01,
        outdated_fraction=0.005,
        incorrect_fraction=0.005,
    )
    learner = IncrementalLearner(RecommendationSettings(), background=False)
    outcome: Counter[str] = Counter()
    for item in simulation.order:
        if isinstance(item, Product):
            learner.add_product(item)
        else:
            outcome[learner.learn(item) or "learned"] += 1
    injected = simulation.world.injected
    assert injected["duplicate"] > 50 and injected["outdated"] > 20
    assert {reason: outcome[reason] for reason in injected} == dict(injected)
    assert outcome["learned"] == len(simulation.events) - sum(injected.values())
    assert dict(learner.cleaner.dropped) == dict(injected)


def _event(event_id: str, time: float, product: str = "p-1", price: float | None = 10.0) -> ShopEvent:
    return ShopEvent(
        event_id=event_id,
        customer_id="u-1",
        session_id="s",
        product_id=product,
        event_type="view",
        price=price,
        event_time=time,
    )


def test_each_reason_on_its_own() -> None:
    prices = {"p-1": 10.0}
    cleaner = EventCleaner(
        prices.get, max_age_seconds=100.0, max_future_seconds=50.0, price_tolerance_ratio=5.0
    )
    assert cleaner.check(_event("a", START)) is None
    assert cleaner.check(_event("a", START)) == "duplicate"
    assert cleaner.check(_event("b", START - 101)) == "outdated"
    assert cleaner.check(_event("c", START + 51)) == "future"
    assert cleaner.check(_event("d", START, product="p-2")) == "unknown_product"
    assert cleaner.check(_event("e", START, price=60.0)) == "price_mismatch"
    assert cleaner.check(_event("f", START, price=1.0)) == "price_mismatch"
    assert cleaner.check(_event("g", START, price=None)) is None
    # A rejected event may come back corrected: its id was not remembered.
    assert cleaner.check(_event("e", START, price=11.0)) is None
    assert cleaner.accepted == 3
    assert dict(cleaner.dropped) == {
        "duplicate": 1,
        "outdated": 1,
        "future": 1,
        "unknown_product": 1,
        "price_mismatch": 2,
    }


def test_a_stale_first_event_does_not_reject_the_whole_stream() -> None:
    cleaner = EventCleaner({"p-1": 10.0}.get, max_age_seconds=100.0, max_future_seconds=50.0)
    assert cleaner.check(_event("old", START - 10_000)) is None
    results = [
        cleaner.check(_event(f"n{n}", START + n)) for n in range(EventCleaner.FUTURE_STREAK_RESET + 10)
    ]
    assert results[0] == "future"
    assert results[-1] is None and cleaner.newest_time >= START


def test_the_duplicate_window_is_bounded() -> None:
    cleaner = EventCleaner({"p-1": 10.0}.get, window_events=2)
    for name in ("a", "b", "c"):
        assert cleaner.check(_event(name, START)) is None
    assert cleaner.check(_event("a", START)) is None  # forgotten: the window holds only b and c
    assert cleaner.check(_event("c", START)) == "duplicate"
