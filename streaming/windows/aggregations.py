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
from dataclasses import dataclass
from typing import Any

import numpy as np

# Row layout of the per-field moments.
SUM, SUM_SQUARES, MINIMUM, MAXIMUM, FIRST, LAST, SUM_TIME_VALUE = range(7)
FIELD_ROWS = 7
# Layout of the shared (field-independent) moments: time is relative to the window start, which keeps the
# sums small enough for float64 to stay exact where it matters.
COUNT, FIRST_TIME, LAST_TIME, SUM_TIME, SUM_TIME_SQUARES = range(5)
SHARED_SLOTS = 5


@dataclass
class WindowMoments:
    """Mergeable partial statistics of one window: `shared` (5,) and `fields` (7, n_fields)."""

    shared: np.ndarray
    fields: np.ndarray

    @classmethod
    def from_values(cls, relative_times: np.ndarray, values: np.ndarray, _start: float) -> WindowMoments:
        """From the readings of one window, in arrival order. `values` is (n, n_fields)."""
        order = np.argsort(relative_times, kind="stable")
        shared = np.array(
            [
                len(relative_times),
                relative_times[order[0]],
                relative_times[order[-1]],
                relative_times.sum(),
                (relative_times**2).sum(),
            ]
        )
        fields = np.vstack(
            [
                values.sum(axis=0),
                (values**2).sum(axis=0),
                values.min(axis=0),
                values.max(axis=0),
                values[order[0]],
                values[order[-1]],
                (relative_times[:, None] * values).sum(axis=0),
            ]
        )
        return cls(shared, fields)

    def merge(self, later: WindowMoments) -> None:
        """Fold in statistics of readings that arrived after these. Ties in time keep arrival order."""
        mine, theirs = self.shared, later.shared
        self.fields[SUM] += later.fields[SUM]
        self.fields[SUM_SQUARES] += later.fields[SUM_SQUARES]
        self.fields[SUM_TIME_VALUE] += later.fields[SUM_TIME_VALUE]
        np.minimum(self.fields[MINIMUM], later.fields[MINIMUM], out=self.fields[MINIMUM])
        np.maximum(self.fields[MAXIMUM], later.fields[MAXIMUM], out=self.fields[MAXIMUM])
        if theirs[FIRST_TIME] < mine[FIRST_TIME]:
            self.fields[FIRST] = later.fields[FIRST]
            mine[FIRST_TIME] = theirs[FIRST_TIME]
        if theirs[LAST_TIME] >= mine[LAST_TIME]:
            self.fields[LAST] = later.fields[LAST]
            mine[LAST_TIME] = theirs[LAST_TIME]
        mine[COUNT] += theirs[COUNT]
        mine[SUM_TIME] += theirs[SUM_TIME]
        mine[SUM_TIME_SQUARES] += theirs[SUM_TIME_SQUARES]

    @property
    def count(self) -> int:
        return int(self.shared[COUNT])


class Aggregation:
    """A statistic of every field over a window. `compute` returns one value per field.

    A statistic computed from the moments alone sets nothing else. One that keeps state of its own sets
    `state_key` (statistics with the same key share one state, e.g. p50 and p95 share the window's values)
    and implements `start`, `add`, `dump` and `load`; `compute` then receives that state.
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


class Count(Aggregation):
    name = "count"

    def compute(self, moments: WindowMoments, state: Any = None) -> np.ndarray:
        return np.atleast_1d(np.full_like(moments.fields[SUM], moments.shared[COUNT]))


class Mean(Aggregation):
    name = "mean"

    def compute(self, moments: WindowMoments, state: Any = None) -> np.ndarray:
        return np.atleast_1d(moments.fields[SUM] / moments.shared[COUNT])


class Minimum(Aggregation):
    name = "min"

    def compute(self, moments: WindowMoments, state: Any = None) -> np.ndarray:
        return np.atleast_1d(moments.fields[MINIMUM])


class Maximum(Aggregation):
    name = "max"

    def compute(self, moments: WindowMoments, state: Any = None) -> np.ndarray:
        return np.atleast_1d(moments.fields[MAXIMUM])


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


class First(Aggregation):
    name = "first"

    def compute(self, moments: WindowMoments, state: Any = None) -> np.ndarray:
        return np.atleast_1d(moments.fields[FIRST])


class Last(Aggregation):
    name = "last"

    def compute(self, moments: WindowMoments, state: Any = None) -> np.ndarray:
        return np.atleast_1d(moments.fields[LAST])


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
