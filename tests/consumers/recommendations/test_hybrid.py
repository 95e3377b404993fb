"""The hybrid: better than popularity at the hidden tastes, cold start served, purchases not repeated."""

from __future__ import annotations

import numpy as np

from consumers.recommendations.catalogue import Catalogue, ItemInfo
from consumers.recommendations.hybrid import HybridRecommender
from consumers.recommendations.settings import BlendWeights, RecommendationSettings
from tests.consumers.recommendations.simulated import START, cached_simulation, trained_learner


def test_recommendations_match_hidden_tastes_better_than_popularity() -> None:
    simulation = cached_simulation()
    learner = trained_learner(simulation)
    recommender = learner.recommender
    world = simulation.world
    customers = [c for c in world.customer_ids[:400] if recommender.store.knows(c) is not None]
    popular = [recommender.catalogue.ids[i] for i in recommender.popularity.top(10).tolist()]
    ours, theirs = [], []
    for customer, found in zip(customers, recommender.recommend_many(customers, 10), strict=True):
        ours.append(world.utility(customer, [entry.item_id for entry in found.items]).mean())
        theirs.append(world.utility(customer, popular).mean())
    assert len(customers) > 200
    assert np.mean(ours) > np.mean(theirs) + 1.0
    assert np.mean(np.array(ours) > np.array(theirs)) > 0.8


def test_recommendations_predict_future_purchases_better_than_popularity() -> None:
    simulation = cached_simulation()
    cut = 24_000
    learner = trained_learner(simulation, stop_at=cut)
    recommender = learner.recommender
    future = [event for event in simulation.events[cut:] if event.event_type == "purchase"]
    customers = sorted(
        {event.customer_id for event in future if recommender.store.knows(event.customer_id) is not None}
    )
    bought: dict[str, set[str]] = {}
    for event in future:
        bought.setdefault(event.customer_id, set()).add(event.product_id)
    lists = dict(zip(customers, recommender.recommend_many(customers, 10), strict=True))
    popular = {recommender.catalogue.ids[i] for i in recommender.popularity.top(10).tolist()}
    hits = sum(len(bought[c] & {e.item_id for e in lists[c].items}) for c in customers)
    popular_hits = sum(len(bought[c] & popular) for c in customers)
    assert hits > 1.5 * popular_hits


def _small() -> HybridRecommender:
    items = [ItemInfo(f"b-{n}", "books", "books/fiction", "Ink", 10.0, f"crime novel {n}") for n in range(4)]
    items += [ItemInfo(f"t-{n}", "toys", "toys/games", "Play", 20.0, f"board game {n}") for n in range(4)]
    items += [
        ItemInfo(f"g-{n}", "grocery", "grocery/drinks", "Bean", 5.0, f"roasted coffee {n}") for n in range(2)
    ]
    catalogue = Catalogue(items, repeat_purchase_categories=["grocery"])
    settings = RecommendationSettings(min_interactions_collaborative=3, affinity_half_life_seconds=None)
    recommender = HybridRecommender.empty(catalogue, settings)
    index = catalogue.index
    # Toys are popular overall; books less so.
    for customer in range(20):
        for item in ("t-0", "t-1", "t-2"):
            recommender.learn(f"fan-{customer}", index.add(item), 1.0, START)
    for customer in range(5):
        for item in ("b-0", "b-1", "b-2"):
            recommender.learn(f"reader-{customer}", index.add(item), 1.0, START)
    return recommender


def test_a_new_customer_gets_popular_items_flagged_as_cold_start() -> None:
    recommender = _small()
    found = recommender.recommend("nobody", 3)
    assert found.cold_start and found.extra["strategy"] == "popular"
    assert [entry.item_id for entry in found.items] == ["t-0", "t-1", "t-2"]
    assert {entry.source for entry in found.items} == {"popular"}


def test_a_customer_with_one_event_gets_popular_items_of_their_first_category() -> None:
    recommender = _small()
    recommender.learn("newcomer", recommender.catalogue.index.add("b-3"), 1.0, START)
    found = recommender.recommend("newcomer", 3)
    assert found.cold_start and found.extra["strategy"] == "first_categories"
    assert [entry.item_id for entry in found.items] == ["b-0", "b-1", "b-2"]


def test_a_profile_or_a_segment_guides_an_unknown_customer() -> None:
    recommender = _small()
    recommender.customer_profiles["from-payments"] = {"preferred_categories": ["books"], "frequency": 3}
    found = recommender.recommend("from-payments", 2)
    assert found.extra["strategy"] == "profile_categories"
    assert [entry.item_id for entry in found.items] == ["b-0", "b-1"]
    recommender.customer_segments["segmented"] = 4
    recommender.popularity.set_segments({4: [recommender.catalogue.index.add("g-1")]})
    found = recommender.recommend("segmented", 2)
    assert found.extra["strategy"] == "segment" and found.items[0].item_id == "g-1"
    assert found.items[0].source == "segment"


def test_purchased_non_repeat_items_are_excluded_but_groceries_come_back() -> None:
    recommender = _small()
    index = recommender.catalogue.index
    for item in ("t-0", "g-0", "b-0"):
        recommender.learn("buyer", index.add(item), 5.0, START, purchase=True)
    recommender.cooccurrence.similarity(force=True)
    found = [entry.item_id for entry in recommender.recommend("buyer", 10).items]
    assert "t-0" not in found and "b-0" not in found
    assert "g-0" in found
    many = [entry.item_id for entry in recommender.recommend_many(["buyer"], 10)[0].items]
    assert "t-0" not in many and "b-0" not in many and "g-0" in many
    assert many[:3] == found[:3]  # further down, near-equal scores may tie differently


def test_a_new_product_gets_its_content_neighbours() -> None:
    recommender = _small()
    similar = recommender.similar_items("b-3", 3)  # nobody touched b-3
    assert similar is not None and similar.cold_start
    assert [entry.item_id for entry in similar.items][:3] == ["b-0", "b-1", "b-2"]
    assert {entry.source for entry in similar.items} == {"content"}
    recommender.cooccurrence.similarity(force=True)
    touched = recommender.similar_items("t-0", 2)
    assert touched is not None and not touched.cold_start
    assert {entry.item_id for entry in touched.items} == {"t-1", "t-2"}
    assert recommender.similar_items("unknown", 3) is None
    assert recommender.knows_item("t-0") and not recommender.knows_item("unknown")


def test_the_same_list_gets_the_same_recommendation_id() -> None:
    recommender = _small()
    first, second = recommender.recommend("reader-0", 3), recommender.recommend("reader-0", 3)
    assert (
        first.recommendation_id
        == second.recommendation_id
        != recommender.recommend("fan-0", 3).recommendation_id
    )


def test_blend_weights_select_the_parts() -> None:
    simulation = cached_simulation()
    learner = trained_learner(simulation, stop_at=10_000)
    recommender = learner.recommender
    store = recommender.store
    active = [
        c
        for c in simulation.world.customer_ids
        if (index := store.knows(c)) is not None and store.interest_events[index] > 5
    ]
    customer = active[0]
    recommender.weights = BlendWeights(factorization=0, cooccurrence=0, content=0, popularity=1)
    popular = [entry.item_id for entry in recommender.recommend(customer, 5).items]
    recommender.weights = BlendWeights(factorization=1, cooccurrence=1, content=0.2, popularity=0)
    blended = [entry.item_id for entry in recommender.recommend(customer, 5).items]
    assert popular != blended
