"""ALS with fold-ins (implicit), and River's reco models as measured alternatives."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from consumers.recommendations.factorization import ImplicitFactorization, RiverFactorization


def _blocks(users: int = 60, items: int = 40, seed: int = 0) -> sp.csr_matrix:
    """Two groups of users, each interacting with its own half of the items."""
    rng = np.random.default_rng(seed)
    dense = np.zeros((users, items), dtype=np.float32)
    for user in range(users):
        half = user % 2
        chosen = rng.choice(
            np.arange(half * items // 2, (half + 1) * items // 2), size=min(8, items // 2), replace=False
        )
        dense[user, chosen] = 1.0
    return sp.csr_matrix(dense)


def test_a_fit_separates_the_groups() -> None:
    matrix = _blocks()
    model = ImplicitFactorization(factors=4, iterations=15, seed=1).fit(matrix)
    scores = model.scores(0, 40)
    assert scores[:20].mean() > scores[20:].mean() + 0.1
    assert model.scores_many(np.array([0, 1]), 40).shape == (2, 40)


def test_fold_in_of_a_new_customer_and_of_a_new_item() -> None:
    matrix = _blocks()
    model = ImplicitFactorization(factors=4, iterations=15, seed=1).fit(matrix)
    newcomer = sp.csr_matrix((np.ones(3, dtype=np.float32), ([0, 0, 0], [21, 25, 30])), shape=(1, 40))
    model.fold_in(np.array([70]), newcomer)
    scores = model.scores(70, 40)
    assert scores[20:].mean() > scores[:20].mean()
    assert model.user_vector(65) is None  # users between the old end and 70 have no factors yet
    # A new item touched by the second group's users gets a factor close to that group's items.
    users = np.arange(1, 60, 2)
    column = sp.csr_matrix(
        (np.ones(len(users), dtype=np.float32), (np.zeros(len(users), dtype=int), users)), shape=(1, 71)
    )
    model.add_items(np.array([40]), column)
    assert model.scores(1, 41)[40] > model.scores(0, 41)[40]


def test_from_factors_answers_without_a_fit() -> None:
    model = ImplicitFactorization.from_factors(np.eye(2, dtype=np.float32), np.eye(2, dtype=np.float32))
    assert model.scores(1, 2).tolist() == [0.0, 1.0]
    assert not model.fitted


def test_the_river_alternative_learns_something() -> None:
    model = RiverFactorization("biased", factors=4, negatives=2, seed=0)
    matrix = _blocks(users=20, items=10)
    for _ in range(5):
        for user, item in zip(*matrix.nonzero(), strict=True):
            model.learn_one(int(user), int(item), items=10)
    scores = np.array([model.scores(user, 10) for user in range(0, 20, 2)])
    assert scores[:, :5].mean() > scores[:, 5:].mean()
