"""Recent popularity: time-decayed interest per item, overall, per category and per customer segment."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from consumers.recommendations.decay import DecayClock


class PopularityModel:
    """Decayed sums of event weights per item; the fallback of every cold start.

    Parameters
    ----------
    half_life_seconds
        Half-life of an event's weight; None counts everything forever.

    >>> popularity = PopularityModel(half_life_seconds=None)
    >>> for item, weight in ((2, 1.0), (2, 1.0), (0, 1.5)):
    ...     popularity.learn(item, weight, 1.7e9)
    >>> popularity.top(2).tolist(), popularity.top(2, exclude={2}).tolist()
    ([2, 0], [0, 1])
    >>> popularity.top(3, allowed=np.array([True, False, False])).tolist()
    [0]
    """

    def __init__(self, half_life_seconds: float | None) -> None:
        self.half_life_seconds = half_life_seconds
        self.clock: DecayClock | None = None
        self.values = np.zeros(1024)
        self.items = 0
        #: segment -> item indices, best first (from the batch segmentation)
        self.segment_top: dict[int, np.ndarray] = {}

    def learn(self, item: int, weight: float, time: float) -> None:
        if item >= len(self.values):
            grown = np.zeros(max(2 * len(self.values), item + 1))
            grown[: len(self.values)] = self.values
            self.values = grown
        if item >= self.items:
            self.items = item + 1
        clock = self.clock or self._start(time)
        self.values[item] += clock.stored(weight, time)

    def _start(self, time: float) -> DecayClock:
        self.clock = DecayClock(self.half_life_seconds, origin=time)
        return self.clock

    def scores(self, size: int) -> np.ndarray:
        """Popularity of all `size` items, comparable with each other (not decayed to any particular time)."""
        out = np.zeros(size)
        count = min(size, self.items)
        out[:count] = self.values[:count]
        return out

    def top(
        self, k: int, exclude: Iterable[int] = (), allowed: np.ndarray | None = None, size: int | None = None
    ) -> np.ndarray:
        """The k most popular items (ties by index), among `allowed` (a mask) and not in `exclude`."""
        size = self.items if size is None else size
        scores = self.scores(size)
        # Items nobody touched still rank (last), so a new shop or category gets an answer.
        scores = scores + np.linspace(1e-12, 0.0, size, endpoint=False) if size else scores
        if allowed is not None:
            mask = np.zeros(size, dtype=bool)
            mask[: min(size, len(allowed))] = allowed[:size]
            scores = np.where(mask, scores, -np.inf)
        excluded = [item for item in exclude if item < size]
        if excluded:
            scores[excluded] = -np.inf
        count = min(k, int(np.isfinite(scores).sum()))
        if count <= 0:
            return np.zeros(0, dtype=np.int64)
        top = np.argpartition(-scores, count - 1)[:count]
        return top[np.lexsort((top, -scores[top]))].astype(np.int64)

    def set_segments(self, segment_top: Mapping[int, Iterable[int]]) -> None:
        self.segment_top = {
            int(segment): np.asarray(list(items), dtype=np.int64) for segment, items in segment_top.items()
        }
