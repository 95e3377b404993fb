"""Per-field window statistics.

Most statistics are computed from one shared, mergeable partial state, `WindowMoments` (sums, extremes,
first and last), which merges by addition, min and max whatever the batching. A statistic that needs more
(a quantile needs the values, or a sketch of them) owns its state: it says how to start it, fold readings
into it, and write it to and read it from the changelog (see `streaming.windows.quantile`).

Adding a statistic is a few lines: subclass `Aggregation`, compute it from `WindowMoments` (and your own
state, if any), and `register_aggregation` a name for it so settings can select it.

>>> moments = WindowMoments.from_values(np.array([0.0, 1.0, 2.0]), np.array([[1.0], [3.0], [5.0]]), 0.0)
>>> statistics = (Mean(), Std(), Slope(), First(), Last())
>>> [round(float(statistic.compute(moments)[0]), 3) for statistic in statistics]
[3.0, 2.0, 2.0, 1.0, 5.0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from streaming.windows.moments import (
    COUNT,
    FIELD_ROWS,
    FIRST,
    FIRST_TIME,
    LAST,
    LAST_TIME,
    MAXIMUM,
    MINIMUM,
    SHARED_SLOTS,
    SUM,
    SUM_SQUARES,
    SUM_TIME,
    SUM_TIME_SQUARES,
    SUM_TIME_VALUE,
    MomentsBatch,
    WindowMoments,
)

__all__ = [
    "COUNT",
    "DEFAULT_AGGREGATIONS",
    "FIELD_ROWS",
    "FIRST",
    "FIRST_TIME",
    "LAST",
    "LAST_TIME",
    "MAXIMUM",
    "MINIMUM",
    "SHARED_SLOTS",
    "SUM",
    "SUM_SQUARES",
    "SUM_TIME",
    "SUM_TIME_SQUARES",
    "SUM_TIME_VALUE",
    "Aggregation",
    "Count",
    "First",
    "Last",
    "Maximum",
    "Mean",
    "Minimum",
    "MomentsBatch",
    "Slope",
    "Std",
    "WindowMoments",
    "aggregation_names",
    "aggregations_named",
    "register_aggregation",
]


class Aggregation:
    """A statistic of every field over a window. `compute` returns one value per field.

    A statistic computed from the moments alone sets nothing else. One that keeps state of its own sets
    `state_key` (statistics with the same key share one state, e.g. p50 and p95 share the window's values)
    and implements `start`, `add`, `dump` and `load`; `compute` then receives that state.

    The aggregator works a polled batch at a time, on all its windows at once: `compute_many`, `fold_many`
    and `window_states` are that batch path. Their defaults go window by window through `compute`,
    `start` and `add`, so a statistic that defines only those works unchanged; the built-in ones override
    them with array arithmetic.
    """

    name: str = ""
    #: Key of the per-window state this statistic keeps; None: it needs only the moments.
    state_key: str | None = None

    def compute(self, moments: WindowMoments, state: Any = None) -> np.ndarray:
        raise NotImplementedError

    def start(self, values: np.ndarray) -> Any:
        """The state of a new window from its first readings, `values` (n, n_fields)."""
        raise NotImplementedError

    def add(self, state: Any, values: np.ndarray) -> Any:
        """The state with later readings folded in (may update `state` in place and return it)."""
        raise NotImplementedError

    def dump(self, state: Any) -> Any:
        """The state as msgpack-able data for the changelog."""
        raise NotImplementedError

    def load(self, data: Any, field_count: int) -> Any:
        """The state from what `dump` wrote."""
        raise NotImplementedError

    # The batch path ------------------------------------------------------------------------------------

    def compute_many(self, moments: MomentsBatch, states: Any = None, windows: Any = None) -> np.ndarray:
        """The statistic of many windows, (n_windows, n_fields). `states` is what `fold_many` returned for
        the batch's windows, and `windows` says which of them these moments are (None: all, in order)."""
        field_count = moments.fields.shape[2]
        computed = np.empty((len(moments), field_count))
        positions = range(len(moments)) if windows is None else list(windows)
        for index, window in enumerate(positions):
            state = None if states is None else states[window]
            computed[index] = self.compute(moments.window(index), state)
        return computed

    def fold_many(self, earlier: Sequence[Any], values: np.ndarray, offsets: np.ndarray) -> Any:
        """The states of many windows: window `i`'s state before this batch, `earlier[i]` (None: the window
        is new), with its readings of this batch, `values[offsets[i]:offsets[i + 1]]` (maybe none), folded
        in. What it returns goes to `compute_many` and `window_states`."""
        states = []
        for index, state in enumerate(earlier):
            readings = values[offsets[index] : offsets[index + 1]]
            if state is None:
                states.append(self.start(readings))
            elif len(readings):
                states.append(self.add(state, readings))
            else:
                states.append(state)
        return states

    def window_states(self, states: Any, windows: Sequence[int]) -> list[Any]:
        """The states of some of the windows of a `fold_many` result, one by one as `start` and `add` keep
        them (for the windows that stay open past the batch)."""
        return [states[index] for index in windows]


class Count(Aggregation):
    name = "count"

    def compute(self, moments: WindowMoments, state: Any = None) -> np.ndarray:
        return np.atleast_1d(np.full_like(moments.fields[SUM], moments.shared[COUNT]))

    def compute_many(self, moments: MomentsBatch, states: Any = None, windows: Any = None) -> np.ndarray:
        return np.repeat(moments.counts[:, None], moments.fields.shape[2], axis=1)


class Mean(Aggregation):
    name = "mean"

    def compute(self, moments: WindowMoments, state: Any = None) -> np.ndarray:
        return np.atleast_1d(moments.fields[SUM] / moments.shared[COUNT])

    def compute_many(self, moments: MomentsBatch, states: Any = None, windows: Any = None) -> np.ndarray:
        result: np.ndarray = moments.fields[:, SUM] / moments.counts[:, None]
        return result


class Minimum(Aggregation):
    name = "min"

    def compute(self, moments: WindowMoments, state: Any = None) -> np.ndarray:
        return np.atleast_1d(moments.fields[MINIMUM])

    def compute_many(self, moments: MomentsBatch, states: Any = None, windows: Any = None) -> np.ndarray:
        return moments.fields[:, MINIMUM]


class Maximum(Aggregation):
    name = "max"

    def compute(self, moments: WindowMoments, state: Any = None) -> np.ndarray:
        return np.atleast_1d(moments.fields[MAXIMUM])

    def compute_many(self, moments: MomentsBatch, states: Any = None, windows: Any = None) -> np.ndarray:
        return moments.fields[:, MAXIMUM]


class Std(Aggregation):
    """Sample standard deviation (ddof=1, as pandas); 0 for a single reading."""

    name = "std"

    def compute(self, moments: WindowMoments, state: Any = None) -> np.ndarray:
        count = moments.shared[COUNT]
        if count < 2:
            return np.atleast_1d(np.zeros_like(moments.fields[SUM]))
        total = moments.fields[SUM]
        squares = moments.fields[SUM_SQUARES]
        variance = (squares - total * total / count) / (count - 1)
        return np.atleast_1d(np.sqrt(np.maximum(variance, 0.0)))

    def compute_many(self, moments: MomentsBatch, states: Any = None, windows: Any = None) -> np.ndarray:
        count = moments.counts[:, None]
        total = moments.fields[:, SUM]
        squares = moments.fields[:, SUM_SQUARES]
        with np.errstate(divide="ignore", invalid="ignore"):
            variance = (squares - total * total / count) / (count - 1)
        result: np.ndarray = np.where(count < 2, 0.0, np.sqrt(np.maximum(variance, 0.0)))
        return result


class First(Aggregation):
    name = "first"

    def compute(self, moments: WindowMoments, state: Any = None) -> np.ndarray:
        return np.atleast_1d(moments.fields[FIRST])

    def compute_many(self, moments: MomentsBatch, states: Any = None, windows: Any = None) -> np.ndarray:
        return moments.fields[:, FIRST]


class Last(Aggregation):
    name = "last"

    def compute(self, moments: WindowMoments, state: Any = None) -> np.ndarray:
        return np.atleast_1d(moments.fields[LAST])

    def compute_many(self, moments: MomentsBatch, states: Any = None, windows: Any = None) -> np.ndarray:
        return moments.fields[:, LAST]


class Slope(Aggregation):
    """Least-squares trend in units per second; 0 when all readings share one timestamp."""

    name = "slope"

    def compute(self, moments: WindowMoments, state: Any = None) -> np.ndarray:
        count = moments.shared[COUNT]
        sum_time = moments.shared[SUM_TIME]
        denominator = count * moments.shared[SUM_TIME_SQUARES] - sum_time * sum_time
        values = moments.fields[SUM]
        if count < 2 or abs(denominator) < 1e-12:
            return np.atleast_1d(np.zeros_like(values))
        numerator = count * moments.fields[SUM_TIME_VALUE] - sum_time * values
        return np.atleast_1d(numerator / denominator)

    def compute_many(self, moments: MomentsBatch, states: Any = None, windows: Any = None) -> np.ndarray:
        count = moments.counts[:, None]
        sum_time = moments.shared[:, SUM_TIME][:, None]
        denominator = count * moments.shared[:, SUM_TIME_SQUARES][:, None] - sum_time * sum_time
        numerator = count * moments.fields[:, SUM_TIME_VALUE] - sum_time * moments.fields[:, SUM]
        flat = (count < 2) | (np.abs(denominator) < 1e-12)
        with np.errstate(divide="ignore", invalid="ignore"):
            result: np.ndarray = np.where(flat, 0.0, numerator / np.where(flat, 1.0, denominator))
        return result


DEFAULT_AGGREGATIONS: tuple[Aggregation, ...] = (
    Count(),
    Mean(),
    Minimum(),
    Maximum(),
    Std(),
    First(),
    Last(),
    Slope(),
)


#: Factories of the statistics settings can name; `pNN` (a quantile) is built by `streaming.windows.quantile`.
_NAMED: dict[str, Callable[[], Aggregation]] = {
    "count": Count,
    "mean": Mean,
    "min": Minimum,
    "max": Maximum,
    "std": Std,
    "first": First,
    "last": Last,
    "slope": Slope,
}


def register_aggregation(name: str, factory: Callable[[], Aggregation]) -> None:
    """Let settings select a statistic by `name` (e.g. `windows.aggregations = ["mean", "range"]`)."""
    _NAMED[name] = factory


def aggregation_names() -> list[str]:
    return sorted(_NAMED)


def aggregations_named(
    names: Sequence[str], quantile_relative_accuracy: float = 0.01, exact_quantile_samples: int = 256
) -> list[Aggregation]:
    """The statistics for a list of names: the registered ones, plus `pNN` quantiles such as `p95`.

    >>> [aggregation.name for aggregation in aggregations_named(["count", "mean", "p95"])]
    ['count', 'mean', 'p95']
    >>> aggregations_named(["median"])
    Traceback (most recent call last):
    ...
    ValueError: unknown window statistic 'median'; known: count, first, ..., or pNN (e.g. p95)
    """
    from streaming.windows.quantile import Quantile

    built: list[Aggregation] = []
    for name in names:
        if name in _NAMED:
            built.append(_NAMED[name]())
        elif Quantile.names(name):
            built.append(Quantile.named(name, quantile_relative_accuracy, exact_quantile_samples))
        else:
            known = ", ".join(aggregation_names())
            raise ValueError(f"unknown window statistic {name!r}; known: {known}, or pNN (e.g. p95)")
    if len({aggregation.name for aggregation in built}) != len(built):
        raise ValueError(f"window statistics named twice: {list(names)}")
    return built
