"""The co-occurrence model: incremental counts equal batch counts; pruning; rebuild hand-off."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from consumers.recommendations.cooccurrence import CooccurrenceModel, top_per_row


def _histories(seed: int = 0) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [sorted(set(rng.integers(0, 30, size=int(rng.integers(1, 8))).tolist())) for _ in range(200)]


def _learned(histories: list[list[int]], **options: object) -> CooccurrenceModel:
    model = CooccurrenceModel(**options)  # type: ignore[arg-type]
    for history in histories:
        seen: list[int] = []
        for item in history:
            model.learn_pair(item, list(seen))
            seen.append(item)
    return model


def test_incremental_counts_equal_the_batch_computation() -> None:
    histories = _histories()
    model = _learned(histories, similar_items_kept=100)
    users = sp.csr_matrix(
        (
            np.ones(sum(map(len, histories))),
            ([u for u, h in enumerate(histories) for _ in h], [i for h in histories for i in h]),
        ),
        shape=(len(histories), 30),
    )
    batch = (users.T @ users).toarray()
    counts = model.counts().toarray()
    np.testing.assert_allclose(counts, batch - np.diag(np.diag(batch)))
    np.testing.assert_allclose(model.item_counts[:30], np.diag(batch))
    similarity = model.similarity(force=True).toarray()
    diagonal = np.diag(batch)
    off = ~np.eye(30, dtype=bool) & (batch > 0)
    expected = batch / (diagonal[:, None] + diagonal[None, :] - batch)
    np.testing.assert_allclose(similarity[off], expected[off])


def test_pruning_keeps_the_most_similar_items_per_row() -> None:
    matrix = sp.csr_matrix(np.array([[0.9, 0.1, 0.5, 0.7], [0.0, 0.0, 0.0, 0.3]]))
    pruned = top_per_row(matrix, 2).toarray()
    assert pruned.tolist() == [[0.9, 0.0, 0.0, 0.7], [0.0, 0.0, 0.0, 0.3]]
    model = _learned(_histories(), similar_items_kept=3)
    assert np.diff(model.similarity(force=True).indptr).max() <= 4  # three others and the item itself


def test_a_rebuild_off_the_lock_equals_a_forced_one() -> None:
    histories = _histories(seed=3)
    reference = _learned(histories)
    expected = reference.similarity(force=True).toarray()
    model = _learned(histories[:100])
    model.similarity(force=True)
    rest = _learned([])  # the second half learned by the same model
    del rest
    for history in histories[100:]:
        seen: list[int] = []
        for item in history:
            model.learn_pair(item, list(seen))
            seen.append(item)
    counts, similarity = model.rebuilt(model.take_increments())
    model.install(counts, similarity)
    np.testing.assert_allclose(model.similarity().toarray(), expected)


def test_scores_weight_similar_items_by_affinity() -> None:
    model = _learned([[0, 1], [0, 1], [2, 3]])
    scores = model.scores(np.array([0]), np.array([2.0]), 5)
    assert scores[1] > 0 and scores[2] == 0 and scores[3] == 0 and scores[4] == 0
    assert model.similar_items(0, 5)[0].tolist() == [1]
    assert model.similar_items(99, 5)[0].size == 0
