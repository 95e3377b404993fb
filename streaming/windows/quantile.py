"""A high quantile per field (`p95`), exact for small windows and a mergeable sketch for large ones.

The window's values are kept while it holds at most `exact_samples` readings, and the quantile is exact
(linear interpolation, as numpy's default). Past that, the values become logarithmic-bucket counts
(`LogBuckets`) within `relative_accuracy`. Both fold in later readings the same whatever the batching, so
a restarted service that sees its input in other batches emits the same windows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from streaming.windows.aggregations import Aggregation
from streaming.windows.moments import MAXIMUM, MINIMUM, MomentsBatch, WindowMoments
from streaming.windows.sketch import LogBuckets

_NAME = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")


@dataclass
class QuantileState:
    """The values of a window (`samples`, (n, n_fields)) or, past the exact limit, their bucket counts."""

    samples: np.ndarray | None
    buckets: list[dict[int, int]] | None


@dataclass
class QuantileBatch:
    """The states of many windows (a `fold_many` result): the values of the windows still exact, window
    after window (`samples[offsets[i]:offsets[i + 1]]`), and the bucket counts of those past the limit."""

    samples: np.ndarray
    offsets: np.ndarray
    buckets: dict[int, list[dict[int, int]]] = field(default_factory=dict)


def exact_quantile(samples: np.ndarray, quantile: float) -> np.ndarray:
    """Per column, the value at rank `quantile * (n - 1)` with linear interpolation (numpy's default);
    a sort and one interpolation cost a tenth of `np.quantile` on small windows.

    >>> exact_quantile(np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]]), 0.5).tolist()
    [2.5, 25.0]
    """
    ordered = np.sort(samples, axis=0)
    position = quantile * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    fraction = position - lower
    result: np.ndarray = ordered[lower] + (ordered[upper] - ordered[lower]) * fraction
    return result


class Quantile(Aggregation):
    """The `quantile` of each field, named `pNN` in the output.

    Parameters
    ----------
    quantile
        In (0, 1), e.g. 0.95.
    relative_accuracy
        Relative error of the sketch used above `exact_samples` readings.
    exact_samples
        Windows with at most this many readings get the exact value.

    >>> p95 = Quantile(0.95, exact_samples=4)
    >>> values = np.arange(1.0, 4.0).reshape(-1, 1)
    >>> moments = WindowMoments.from_values(np.zeros(3), values, 0.0)
    >>> state = p95.start(values)
    >>> round(float(p95.compute(moments, state)[0]), 2)
    2.9
    >>> state = p95.add(state, np.array([[100.0], [200.0]]))    # past 4 readings: the sketch
    >>> state.samples is None
    True
    """

    def __init__(self, quantile: float, relative_accuracy: float = 0.01, exact_samples: int = 256) -> None:
        if not 0 < quantile < 1:
            raise ValueError("a quantile is between 0 and 1")
        self.quantile = quantile
        self.name = f"p{quantile * 100:g}"
        self.buckets = LogBuckets(relative_accuracy)
        self.exact_samples = exact_samples
        # Quantiles with the same accuracy and limit share one state per window.
        self.state_key = f"quantile:{relative_accuracy:g}:{exact_samples}"

    @staticmethod
    def names(name: str) -> bool:
        """Whether `name` names a quantile (`p95`, `p99.9`)."""
        match = _NAME.match(name)
        return match is not None and 0 < float(match.group(1)) < 100

    @classmethod
    def named(cls, name: str, relative_accuracy: float = 0.01, exact_samples: int = 256) -> Quantile:
        match = _NAME.match(name)
        if match is None:
            raise ValueError(f"not a quantile name: {name!r} (e.g. p95)")
        return cls(float(match.group(1)) / 100, relative_accuracy, exact_samples)

    def start(self, values: np.ndarray) -> QuantileState:
        state = QuantileState(np.array(values, dtype=np.float64), None)
        return self._bound(state)

    def add(self, state: QuantileState, values: np.ndarray) -> QuantileState:
        if state.samples is not None:
            state.samples = np.concatenate((state.samples, values))
        elif state.buckets is not None:
            for field_counts, new_counts in zip(state.buckets, self._bucket_counts(values), strict=True):
                for bucket, count in new_counts.items():
                    field_counts[bucket] = field_counts.get(bucket, 0) + count
        return self._bound(state)

    def _bound(self, state: QuantileState) -> QuantileState:
        if state.samples is not None and len(state.samples) > self.exact_samples:
            state.buckets = self._bucket_counts(state.samples)
            state.samples = None
        return state

    def _bucket_counts(self, values: np.ndarray) -> list[dict[int, int]]:
        buckets = self.buckets.bucket_of(values)
        counts = []
        for field_index in range(values.shape[1]):
            unique, found = np.unique(buckets[:, field_index], return_counts=True)
            counts.append(dict(zip(unique.tolist(), found.tolist(), strict=True)))
        return counts

    def compute(self, moments: WindowMoments, state: Any = None) -> np.ndarray:
        assert isinstance(state, QuantileState)
        if state.samples is not None:
            return exact_quantile(state.samples, self.quantile)
        assert state.buckets is not None
        return np.array(
            [
                self.buckets.quantile(
                    counts,
                    self.quantile,
                    float(moments.fields[MINIMUM][field_index]),
                    float(moments.fields[MAXIMUM][field_index]),
                )
                for field_index, counts in enumerate(state.buckets)
            ]
        )

    # The batch path -----------------------------------------------------------------------------------

    def fold_many(self, earlier: Sequence[Any], values: np.ndarray, offsets: np.ndarray) -> QuantileBatch:
        prior = [index for index, state in enumerate(earlier) if state is not None]
        if prior:
            values, offsets = _prepend(values, offsets, {index: earlier[index].samples for index in prior})
        folded = QuantileBatch(values, offsets)
        sizes = np.diff(offsets)
        for index in prior:
            state = earlier[index]
            if state.buckets is not None:
                # Already a sketch: this batch's readings (the rows after its, none prepended) add counts.
                readings = values[offsets[index] : offsets[index + 1]]
                folded.buckets[index] = self.add(state, readings).buckets or []
        for index in np.flatnonzero(sizes > self.exact_samples).tolist():
            if index not in folded.buckets:
                folded.buckets[index] = self._bucket_counts(values[offsets[index] : offsets[index + 1]])
        return folded

    def compute_many(self, moments: MomentsBatch, states: Any = None, windows: Any = None) -> np.ndarray:
        assert isinstance(states, QuantileBatch)
        chosen = np.arange(len(moments)) if windows is None else np.asarray(windows, dtype=np.int64)
        samples = states.samples
        starts = states.offsets[chosen]
        sizes = states.offsets[chosen + 1] - starts
        computed = np.empty((len(chosen), samples.shape[1]))
        exact = np.ones(len(chosen), dtype=bool)
        sketched = {}
        if states.buckets:
            for position, window in enumerate(chosen.tolist()):
                counts = states.buckets.get(window)
                if counts is not None:
                    exact[position] = False
                    sketched[position] = counts
        # Windows with the same number of readings are sorted together, as one (windows, readings, fields)
        # block: the arithmetic of `exact_quantile`, without a call per window.
        for size in np.unique(sizes[exact]).tolist():
            positions = np.flatnonzero(exact & (sizes == size))
            block = np.sort(samples[starts[positions][:, None] + np.arange(size)], axis=1)
            rank = self.quantile * (size - 1)
            lower = int(rank)
            upper = min(lower + 1, size - 1)
            fraction = rank - lower
            computed[positions] = block[:, lower] + (block[:, upper] - block[:, lower]) * fraction
        for position, counts in sketched.items():
            computed[position] = self.compute(moments.window(position), QuantileState(None, counts))
        return computed

    def window_states(self, states: Any, windows: Sequence[int]) -> list[Any]:
        assert isinstance(states, QuantileBatch)
        kept: list[Any] = []
        for index in windows:
            counts = states.buckets.get(index)
            if counts is not None:
                kept.append(QuantileState(None, counts))
            else:
                # A copy: a view would keep the whole batch's values alive as long as the window is open.
                rows = states.samples[states.offsets[index] : states.offsets[index + 1]]
                kept.append(QuantileState(rows.copy(), None))
        return kept

    def dump(self, state: QuantileState) -> Any:
        # The arrays are encoded at commit time, not copied here.
        if state.samples is not None:
            return {"x": state.samples}
        return {"q": state.buckets}

    def load(self, data: Any, field_count: int) -> QuantileState:
        if data.get("x") is not None:
            return QuantileState(np.asarray(data["x"], float).reshape(-1, field_count), None)
        return QuantileState(None, [{int(b): int(c) for b, c in counts.items()} for counts in data["q"]])


def _prepend(
    values: np.ndarray, offsets: np.ndarray, earlier: dict[int, np.ndarray | None]
) -> tuple[np.ndarray, np.ndarray]:
    """`values` grouped by `offsets`, with `earlier[i]` (rows kept from before) put in front of window `i`'s
    rows, so each window's values stay in arrival order."""
    kept = [(index, rows) for index, rows in earlier.items() if rows is not None and len(rows)]
    if not kept:
        return values, offsets
    before = np.zeros(len(offsets) - 1, dtype=np.int64)
    before_start = np.zeros(len(offsets) - 1, dtype=np.int64)
    pieces = [rows for _index, rows in kept]
    lengths = [len(rows) for rows in pieces]
    indexes = [index for index, _rows in kept]
    before[indexes] = lengths
    before_start[indexes] = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    earlier_rows = np.concatenate(pieces)
    sizes = np.diff(offsets) + before
    new_offsets = np.concatenate(([0], np.cumsum(sizes)))
    window = np.repeat(np.arange(len(sizes)), sizes)
    local = np.arange(int(new_offsets[-1])) - new_offsets[window]
    from_earlier = local < before[window]
    source = np.where(
        from_earlier,
        len(values) + before_start[window] + local,
        offsets[window] + local - before[window],
    )
    return np.concatenate((values, earlier_rows))[source], new_offsets
