"""Mergeable partial statistics of windows: of one window (`WindowMoments`), or of many at once
(`MomentsBatch`, computed with grouped numpy reductions over a whole polled batch).

Both merge the same way (sums add, extremes take the min and max, first and last go by time with ties kept
in arrival order), so a window's statistics do not depend on how its readings were batched.
"""

from __future__ import annotations

from collections.abc import Sequence
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


@dataclass
class MomentsBatch:
    """The moments of many windows, row by row: `shared` (n_windows, 5) and `fields` (n_windows, 7, n_fields).

    Parameters
    ----------
    shared
        Count, first and last time, sum of times and of their squares, per window.
    fields
        Sums, sums of squares, minimum, maximum, first, last and time-weighted sums, per window and field.

    >>> values = np.array([[1.0], [3.0], [5.0], [7.0]])
    >>> batch = MomentsBatch.from_segments(np.array([0.0, 1.0, 0.0, 2.0]), values, np.array([0, 2, 4]))
    >>> batch.shared[:, COUNT].tolist(), batch.fields[:, SUM, 0].tolist(), batch.fields[:, LAST, 0].tolist()
    ([2.0, 2.0], [4.0, 12.0], [3.0, 7.0])
    >>> batch.window(1).count
    2
    """

    shared: np.ndarray
    fields: np.ndarray

    def __len__(self) -> int:
        return len(self.shared)

    @property
    def counts(self) -> np.ndarray:
        return self.shared[:, COUNT]

    @classmethod
    def from_segments(
        cls, relative_times: np.ndarray, values: np.ndarray, offsets: np.ndarray
    ) -> MomentsBatch:
        """From readings grouped window after window: window `i` holds rows `offsets[i]:offsets[i + 1]`
        (none empty), each window's rows in arrival order; times are relative to each window's start."""
        starts = offsets[:-1]
        counts = np.diff(offsets)
        window_of_row = np.repeat(np.arange(len(counts)), counts)
        first_row, last_row = _first_and_last(relative_times, starts, window_of_row)
        shared = np.empty((len(counts), SHARED_SLOTS))
        shared[:, COUNT] = counts
        shared[:, FIRST_TIME] = relative_times[first_row]
        shared[:, LAST_TIME] = relative_times[last_row]
        shared[:, SUM_TIME] = np.add.reduceat(relative_times, starts)
        shared[:, SUM_TIME_SQUARES] = np.add.reduceat(relative_times * relative_times, starts)
        fields = np.empty((len(counts), FIELD_ROWS, values.shape[1]))
        fields[:, SUM] = np.add.reduceat(values, starts, axis=0)
        fields[:, SUM_SQUARES] = np.add.reduceat(values * values, starts, axis=0)
        fields[:, MINIMUM] = np.minimum.reduceat(values, starts, axis=0)
        fields[:, MAXIMUM] = np.maximum.reduceat(values, starts, axis=0)
        fields[:, FIRST] = values[first_row]
        fields[:, LAST] = values[last_row]
        fields[:, SUM_TIME_VALUE] = np.add.reduceat(relative_times[:, None] * values, starts, axis=0)
        return cls(shared, fields)

    @classmethod
    def stack(cls, moments: Sequence[WindowMoments], field_count: int) -> MomentsBatch:
        """Of windows kept one by one (the open windows of earlier batches)."""
        if not moments:
            return cls(np.empty((0, SHARED_SLOTS)), np.empty((0, FIELD_ROWS, field_count)))
        return cls(np.stack([m.shared for m in moments]), np.stack([m.fields for m in moments]))

    @classmethod
    def concatenate(cls, batches: Sequence[MomentsBatch]) -> MomentsBatch:
        return cls(
            np.concatenate([batch.shared for batch in batches]),
            np.concatenate([batch.fields for batch in batches]),
        )

    def window(self, index: int) -> WindowMoments:
        """One window's moments (views of these rows)."""
        return WindowMoments(self.shared[index], self.fields[index])

    def merge_earlier(self, rows: np.ndarray, earlier: MomentsBatch) -> None:
        """Fold `earlier[i]` into window `rows[i]` as readings that arrived before this batch's, in place
        (`WindowMoments.merge(later)`, with the roles of the two sides swapped: ties keep `earlier`'s first
        and this batch's last)."""
        if not len(rows):
            return
        mine, theirs = self.shared[rows], earlier.shared
        fields, before = self.fields[rows], earlier.fields
        fields[:, SUM] += before[:, SUM]
        fields[:, SUM_SQUARES] += before[:, SUM_SQUARES]
        fields[:, SUM_TIME_VALUE] += before[:, SUM_TIME_VALUE]
        np.minimum(fields[:, MINIMUM], before[:, MINIMUM], out=fields[:, MINIMUM])
        np.maximum(fields[:, MAXIMUM], before[:, MAXIMUM], out=fields[:, MAXIMUM])
        earlier_first = theirs[:, FIRST_TIME] <= mine[:, FIRST_TIME]
        fields[earlier_first, FIRST] = before[earlier_first, FIRST]
        mine[earlier_first, FIRST_TIME] = theirs[earlier_first, FIRST_TIME]
        earlier_last = theirs[:, LAST_TIME] > mine[:, LAST_TIME]
        fields[earlier_last, LAST] = before[earlier_last, LAST]
        mine[earlier_last, LAST_TIME] = theirs[earlier_last, LAST_TIME]
        # Float addition commutes: later + earlier gives the bits `WindowMoments.merge` gives.
        mine[:, COUNT] += theirs[:, COUNT]
        mine[:, SUM_TIME] += theirs[:, SUM_TIME]
        mine[:, SUM_TIME_SQUARES] += theirs[:, SUM_TIME_SQUARES]
        self.shared[rows] = mine
        self.fields[rows] = fields


def _first_and_last(
    times: np.ndarray, starts: np.ndarray, window_of_row: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per window, the row of its earliest reading and of its latest; ties go to the first to arrive for the
    earliest and the last to arrive for the latest, as a stable sort by time would."""
    earliest = np.minimum.reduceat(times, starts)
    latest = np.maximum.reduceat(times, starts)
    rows = np.arange(len(times))
    # The first row holding its window's earliest time: the smallest row index among those that do.
    candidates = np.where(times == earliest[window_of_row], rows, len(times))
    first = np.minimum.reduceat(candidates, starts)
    candidates = np.where(times == latest[window_of_row], rows, -1)
    last = np.maximum.reduceat(candidates, starts)
    return first, last
