"""The incremental learner: fold-ins between refits, background refits that scoring never waits for."""

from __future__ import annotations

import threading

import numpy as np

from consumers.recommendations.learner import IncrementalLearner
from consumers.recommendations.settings import RecommendationSettings
from contracts.shop import Product, ShopEvent
from tests.consumers.recommendations.simulated import START, cached_simulation, trained_learner


def _feed(learner: IncrementalLearner, items: tuple[Product | ShopEvent, ...]) -> None:
    for item in items:
        if isinstance(item, Product):
            learner.add_product(item)
        else:
            learner.learn(item)


def test_scoring_goes_on_while_a_background_refit_runs() -> None:
    simulation = cached_simulation()
    settings = RecommendationSettings(refit_events=10**9, fold_in_events=500)
    learner = IncrementalLearner(settings, background=True)
    _feed(learner, simulation.order[:15_000])
    learner.refit(wait=True)
    version = learner.recommender.model_version
    release = threading.Event()
    started = threading.Event()
    original = learner._fit

    def slow_fit(*arguments: object) -> object:
        started.set()
        assert release.wait(60)
        return original(*arguments)  # type: ignore[arg-type]

    learner._fit = slow_fit  # type: ignore[method-assign, assignment]
    learner.refit(wait=False)
    assert started.wait(60)
    customer = simulation.events[100].customer_id
    answered = learner.recommender.recommend(customer, 10)  # the refit is blocked: this must not wait for it
    assert len(answered.items) == 10 and answered.model_version == version
    _feed(learner, simulation.order[15_000:16_000])  # learning goes on too
    release.set()
    assert learner.wait(60)
    assert learner.recommender.model_version == version + 1
    assert learner.refit_error is None


def test_fold_ins_give_new_customers_factors_between_refits() -> None:
    simulation = cached_simulation()
    settings = RecommendationSettings(
        refit_events=10**9, fold_in_events=200, min_interactions_collaborative=1
    )
    learner = trained_learner(simulation, settings, stop_at=10_000)
    known = len(learner.recommender.factorization.user_factors)
    refits = learner.refits
    later = [event for event in simulation.events[10_000:20_000]]
    for event in later:
        learner.learn(event)
    learner.fold_in()
    factors = learner.recommender.factorization.user_factors
    newcomers = {learner.recommender.store.customers.get(e.customer_id) for e in later} - set(range(known))
    assert newcomers and len(factors) > known
    assert all(np.any(factors[index]) for index in newcomers if index is not None)
    assert learner.refits == refits  # no refit for the second part: it was learned incrementally


def test_the_refit_history_is_bounded() -> None:
    simulation = cached_simulation()
    settings = RecommendationSettings(max_history_events=1_000, refit_events=10**9)
    learner = trained_learner(simulation, settings, stop_at=5_000)
    assert len(learner.event_log) == 1_000 and learner.event_log.total >= 4_900
    customers, _items, _weights, times = learner.event_log.columns()
    assert np.all(np.diff(times) >= 0) and len(customers) == 1_000


def test_impressions_are_valid_but_teach_nothing() -> None:
    learner = IncrementalLearner(RecommendationSettings(), background=False)
    learner.add_products(
        [
            Product(
                product_id=f"p-{n}",
                category="books",
                subcategory="books/x",
                brand="b",
                price=5.0,
                created_at=START,
            )
            for n in range(3)
        ]
    )
    impression = ShopEvent(
        event_id="i-1",
        customer_id="u-1",
        session_id="s",
        product_id="p-1",
        event_type="impression",
        event_time=START,
        recommendation_id="r-1",
        position=0,
    )
    assert learner.learn(impression) is None
    assert learner.recommender.store.knows("u-1") is None and learner.events_learned == 0
    assert learner.learn_many([impression]) == {"duplicate": 1}


def test_customer_profiles_arrive_one_record_at_a_time() -> None:
    learner = IncrementalLearner(RecommendationSettings(), background=False)
    learner.add_products(
        [
            Product(
                product_id=f"{kind}-{n}",
                category=kind,
                subcategory=f"{kind}/x",
                brand="b",
                price=5.0,
                created_at=START,
            )
            for kind in ("books", "toys")
            for n in range(3)
        ]
    )
    learner.update_customer_profile("u-9", {"preferred_categories": ["toys"], "monetary": 120.0})
    found = learner.recommender.recommend("u-9", 3)
    assert found.cold_start and {entry.item_id.split("-")[0] for entry in found.items} == {"toys"}
    learner.update_customer_profile("u-9", None)
    assert "u-9" not in learner.recommender.customer_profiles
