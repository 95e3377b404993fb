"""An item-item co-occurrence model in the style of SAR: counts of customers who touched both items, turned
into Jaccard similarities, scored against each customer's time-decayed affinities.

Updates are per event and cheap: a customer touching an item for the first time adds one count per item
already in their (bounded) history, appended to a buffer. The similarity matrix is rebuilt from the
counts every `rebuild_events` events, or when asked, with vectorised scipy code.
"""

from __future__ import annotations

from array import array

import numpy as np
import scipy.sparse as sp


def top_per_row(matrix: sp.csr_matrix, keep: int) -> sp.csr_matrix:
    """The `keep` largest entries of each row (ties broken by column), as a new CSR matrix.

    >>> dense = top_per_row(sp.csr_matrix(np.array([[0.1, 0.5, 0.3], [0.0, 0.2, 0.0]])), 2).toarray()
    >>> dense.tolist()
    [[0.0, 0.5, 0.3], [0.0, 0.2, 0.0]]
    """
    matrix = matrix.tocsr()
    counts = np.diff(matrix.indptr)
    if counts.size == 0 or counts.max(initial=0) <= keep:
        return matrix
    rows = np.repeat(np.arange(matrix.shape[0]), counts)
    order = np.lexsort((matrix.indices, -matrix.data, rows))
    rank = np.arange(len(order)) - np.repeat(matrix.indptr[:-1], counts)
    chosen = order[rank < keep]
    return sp.csr_matrix((matrix.data[chosen], (rows[chosen], matrix.indices[chosen])), shape=matrix.shape)


class CooccurrenceModel:
    """Co-occurrence counts and the similarity they give; scoring uses an `InteractionStore`'s affinities.

    Parameters
    ----------
    similar_items_kept
        Most similar items kept per item (pruning keeps the matrix and scoring small).
    rebuild_events
        New customer-item pairs after which `similarity()` rebuilds the matrix.
    similarity
        "jaccard" (SAR's default), "lift" or "counts".

    >>> model = CooccurrenceModel(similar_items_kept=10, rebuild_events=1)
    >>> for history, item in (([], 0), ([0], 1), ([], 0), ([0], 1), ([], 2)):
    ...     model.learn_pair(item, history)
    >>> model.similarity().toarray().round(2).tolist()
    [[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    >>> model.similar_items(0, 2)[0].tolist()
    [1]
    """

    def __init__(
        self, similar_items_kept: int = 100, rebuild_events: int = 20_000, similarity: str = "jaccard"
    ) -> None:
        if similarity not in ("jaccard", "lift", "counts"):
            raise ValueError(f"unknown similarity {similarity!r}: use jaccard, lift or counts")
        self.similar_items_kept = similar_items_kept
        self.rebuild_events = rebuild_events
        self.similarity_kind = similarity
        self.item_counts = np.zeros(1024, dtype=np.float64)  # customers per item: the diagonal
        self.items = 0
        self._rows = array("q")
        self._columns = array("q")
        self._counts = sp.csr_matrix((0, 0), dtype=np.float64)
        self._similarity: sp.csr_matrix | None = None
        self._pending_pairs = 0
        self.version = 0

    def learn_pair(self, item: int, history: list[int] | np.ndarray) -> None:
        """A customer touched `item` for the first time; `history` is their other items."""
        if item >= len(self.item_counts):
            grown = np.zeros(max(2 * len(self.item_counts), item + 1))
            grown[: len(self.item_counts)] = self.item_counts
            self.item_counts = grown
        if item >= self.items:
            self.items = item + 1
        self.item_counts[item] += 1.0
        size = len(history)
        if size:
            others = history if isinstance(history, list) else history.tolist()
            self._rows.extend([item] * size)
            self._columns.extend(others)
            self._rows.extend(others)
            self._columns.extend([item] * size)
        self._pending_pairs += 1

    def _compact(self) -> sp.csr_matrix:
        size = self.items
        counts = self._counts
        if counts.shape != (size, size):
            counts = counts.tocoo()
            counts = sp.csr_matrix((counts.data, (counts.row, counts.col)), shape=(size, size))
        if len(self._rows):
            rows = np.frombuffer(self._rows, dtype=np.int64)
            columns = np.frombuffer(self._columns, dtype=np.int64)
            increments = sp.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(size, size))
            counts = (counts + increments).tocsr()
            self._rows = array("q")
            self._columns = array("q")
        self._counts = counts
        return counts

    def counts(self) -> sp.csr_matrix:
        """Co-occurrence counts between different items (the diagonal is `item_counts`)."""
        return self._compact()

    @property
    def needs_rebuild(self) -> bool:
        return self._pending_pairs >= self.rebuild_events

    def similarity(self, force: bool = False) -> sp.csr_matrix:
        """The item-item similarity (diagonal 1 for items with any customer), pruned per row.

        Built on first use and when `force`d; otherwise the last one built, so scoring never pays for a
        rebuild. The learner rebuilds every `rebuild_events` pairs (`take_increments` + `rebuilt` + `install`
        let it do the work outside its lock).
        """
        if self._similarity is None or force:
            self._similarity = self._build()
            self._pending_pairs = 0
            self.version += 1
        return self._similarity

    def take_increments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, sp.csr_matrix]:
        """Hands the buffered pairs over (and empties the buffer): cheap, done under the learner's lock."""
        rows = np.frombuffer(self._rows, dtype=np.int64).copy()
        columns = np.frombuffer(self._columns, dtype=np.int64).copy()
        self._rows = array("q")
        self._columns = array("q")
        self._pending_pairs = 0
        return rows, columns, self.item_counts[: self.items].copy(), self.items, self._counts

    def rebuilt(
        self, increments: tuple[np.ndarray, np.ndarray, np.ndarray, int, sp.csr_matrix]
    ) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """New counts and similarity from handed-over increments; touches no live state (runs anywhere)."""
        rows, columns, item_counts, size, counts = increments
        builder = CooccurrenceModel(self.similar_items_kept, self.rebuild_events, self.similarity_kind)
        builder.items = size
        builder.item_counts = item_counts
        builder._counts = counts
        builder._rows.frombytes(rows.astype(np.int64).tobytes())
        builder._columns.frombytes(columns.astype(np.int64).tobytes())
        similarity = builder._build()
        return builder._counts, similarity

    def install(self, counts: sp.csr_matrix, similarity: sp.csr_matrix) -> None:
        """Puts rebuilt counts and similarity in place (pairs learned meanwhile stay buffered)."""
        self._counts = counts
        self._similarity = similarity
        self.version += 1

    def _build(self) -> sp.csr_matrix:
        counts = self._compact().tocoo()
        diagonal = self.item_counts[: self.items]
        rows, columns, values = counts.row, counts.col, counts.data
        if self.similarity_kind == "jaccard":
            values = values / (diagonal[rows] + diagonal[columns] - values)
        elif self.similarity_kind == "lift":
            values = values / (diagonal[rows] * diagonal[columns])
        present = np.flatnonzero(diagonal > 0)
        self_similarity = np.ones(len(present)) if self.similarity_kind != "counts" else diagonal[present]
        matrix = sp.csr_matrix(
            (
                np.concatenate([values, self_similarity]),
                (np.concatenate([rows, present]), np.concatenate([columns, present])),
            ),
            shape=(self.items, self.items),
        )
        return top_per_row(matrix, self.similar_items_kept + 1)

    @classmethod
    def from_similarity(cls, similarity: sp.csr_matrix, item_counts: np.ndarray) -> CooccurrenceModel:
        """A model that answers from a stored similarity matrix (artifacts); it can still learn."""
        model = cls(similar_items_kept=max(1, int(np.diff(similarity.indptr).max(initial=1)) - 1))
        model.items = similarity.shape[0]
        model.item_counts = np.asarray(item_counts, dtype=np.float64).copy()
        model._counts = sp.csr_matrix((model.items, model.items))
        model._similarity = similarity.tocsr()
        return model

    def scores(self, items: np.ndarray, affinities: np.ndarray, size: int) -> np.ndarray:
        """Scores of all `size` items for one customer: affinities (of `items`) times similarity rows."""
        similarity = self.similarity()
        out = np.zeros(size)
        known = items < similarity.shape[0]
        if known.any():
            part = similarity[items[known]].T @ affinities[known]
            out[: len(part)] = part
        return out

    def scores_many(self, affinity: sp.csr_matrix, size: int) -> np.ndarray:
        """Dense scores for a block of customers (rows of an affinity matrix with `size` columns)."""
        similarity = self.similarity()
        block = affinity[:, : similarity.shape[0]] @ similarity
        out = np.zeros((affinity.shape[0], size))
        out[:, : similarity.shape[0]] = block.toarray()
        return out

    def similar_items(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k most similar other items and their similarities, best first."""
        similarity = self.similarity()
        if item >= similarity.shape[0]:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        row = similarity.getrow(item)
        keep = row.indices != item
        indices, values = row.indices[keep], row.data[keep]
        order = np.lexsort((indices, -values))[:k]
        return indices[order].astype(np.int64), values[order]
