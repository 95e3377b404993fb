"""Per-field window statistics, computed from mergeable moments.

Every aggregation reads the same partial state, so a window's state is one small array per field that merges
by addition, min and max, whatever the batching. Adding a statistic is a few lines: subclass `Aggregation`
and compute it from `WindowMoments`.

>>> moments = WindowMoments.from_values(np.array([0.0, 1.0, 2.0]), np.array([[1.0], [3.0], [5.0]]), 0.0)
>>> statistics = (Mean(), Std(), Slope(), First(), Last())
>>> [round(float(statistic.compute(moments, 0)[0]), 3) for statistic in statistics]
[3.0, 2.0, 2.0, 1.0, 5.0]
"""

from __future__ import annotations

from dataclasses import dataclass

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
    """A statistic of a field over a window. `compute` returns one value per field."""

    name: str = ""

    def compute(self, moments: WindowMoments, field_index: int | slice) -> np.ndarray:
        raise NotImplementedError


class Count(Aggregation):
    name = "count"

    def compute(self, moments: WindowMoments, field_index: int | slice) -> np.ndarray:
        return np.atleast_1d(np.full_like(moments.fields[SUM][field_index], moments.shared[COUNT]))


class Mean(Aggregation):
    name = "mean"

    def compute(self, moments: WindowMoments, field_index: int | slice) -> np.ndarray:
        return np.atleast_1d(moments.fields[SUM][field_index] / moments.shared[COUNT])


class Minimum(Aggregation):
    name = "min"

    def compute(self, moments: WindowMoments, field_index: int | slice) -> np.ndarray:
        return np.atleast_1d(moments.fields[MINIMUM][field_index])


class Maximum(Aggregation):
    name = "max"

    def compute(self, moments: WindowMoments, field_index: int | slice) -> np.ndarray:
        return np.atleast_1d(moments.fields[MAXIMUM][field_index])


class Std(Aggregation):
    """Sample standard deviation (ddof=1, as pandas); 0 for a single reading."""

    name = "std"

    def compute(self, moments: WindowMoments, field_index: int | slice) -> np.ndarray:
        count = moments.shared[COUNT]
        if count < 2:
            return np.atleast_1d(np.zeros_like(moments.fields[SUM][field_index]))
        total = moments.fields[SUM][field_index]
        squares = moments.fields[SUM_SQUARES][field_index]
        variance = (squares - total * total / count) / (count - 1)
        return np.atleast_1d(np.sqrt(np.maximum(variance, 0.0)))


class First(Aggregation):
    name = "first"

    def compute(self, moments: WindowMoments, field_index: int | slice) -> np.ndarray:
        return np.atleast_1d(moments.fields[FIRST][field_index])


class Last(Aggregation):
    name = "last"

    def compute(self, moments: WindowMoments, field_index: int | slice) -> np.ndarray:
        return np.atleast_1d(moments.fields[LAST][field_index])


class Slope(Aggregation):
    """Least-squares trend in units per second; 0 when all readings share one timestamp."""

    name = "slope"

    def compute(self, moments: WindowMoments, field_index: int | slice) -> np.ndarray:
        count = moments.shared[COUNT]
        sum_time = moments.shared[SUM_TIME]
        denominator = count * moments.shared[SUM_TIME_SQUARES] - sum_time * sum_time
        values = moments.fields[SUM][field_index]
        if count < 2 or abs(denominator) < 1e-12:
            return np.atleast_1d(np.zeros_like(values))
        numerator = count * moments.fields[SUM_TIME_VALUE][field_index] - sum_time * values
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
