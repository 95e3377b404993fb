"""Content vectors: neighbours share attributes and words; new products get vectors at once; profiles."""

from __future__ import annotations

import numpy as np

from consumers.recommendations.catalogue import Catalogue, ItemInfo
from consumers.recommendations.content import ContentModel
from tests.consumers.recommendations.simulated import cached_simulation


def _catalogue() -> Catalogue:
    simulation = cached_simulation()
    return Catalogue(
        ItemInfo(p.product_id, p.category, p.subcategory, p.brand, p.price, p.description)
        for p in simulation.products[:300]
    )


def test_neighbours_are_mostly_of_the_same_subcategory() -> None:
    catalogue = _catalogue()
    model = ContentModel(dimensions=32, seed=0).fit(catalogue)
    assert model.vectors.shape == (300, 32)
    np.testing.assert_allclose(np.linalg.norm(model.vectors, axis=1), 1.0, rtol=1e-4)
    same = []
    for item in range(50):
        neighbours, _scores = model.similar_items(item, 5)
        same.append(
            np.mean([catalogue.info[n].subcategory == catalogue.info[item].subcategory for n in neighbours])
        )
    assert np.mean(same) > 0.8


def test_a_new_product_gets_a_vector_near_its_kind_without_a_refit() -> None:
    catalogue = _catalogue()
    model = ContentModel(dimensions=32, seed=0).fit(catalogue)
    template = catalogue.info[0]
    position = catalogue.upsert(
        ItemInfo(
            "p-new",
            template.category,
            template.subcategory,
            template.brand,
            template.price,
            template.description,
        )
    )
    model.update(catalogue, [position])
    neighbours, scores = model.similar_items(position, 3)
    assert 0 in neighbours.tolist() and scores[0] > 0.9


def test_profiles_weight_items_by_affinity_and_take_preferred_categories() -> None:
    catalogue = _catalogue()
    model = ContentModel(dimensions=32, seed=0).fit(catalogue)
    first, other = 0, next(i for i in range(300) if catalogue.info[i].category != catalogue.info[0].category)
    profile = model.profile(np.array([first, other]), np.array([10.0, 0.1]))
    assert profile is not None
    scores = model.scores(profile, 300)
    assert scores[first] > scores[other]
    assert model.profile(np.zeros(0, dtype=np.int64), np.zeros(0)) is None
    wanted = catalogue.info[other].category
    guided = model.profile(
        np.zeros(0, dtype=np.int64), np.zeros(0), catalogue, {"preferred_categories": [wanted]}
    )
    assert guided is not None
    ranked = np.argsort(-model.scores(guided, 300))[:10]
    assert all(catalogue.info[i].category == wanted for i in ranked)


def test_a_catalogue_without_text_or_prices_still_works() -> None:
    catalogue = Catalogue([ItemInfo("a", "x"), ItemInfo("b", "x"), ItemInfo("c", "y")])
    model = ContentModel(dimensions=8).fit(catalogue)
    assert model.similar_items(0, 1)[0].tolist() == [1]
