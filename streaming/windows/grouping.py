"""A polled batch's readings grouped by key and window in one sort, for grouped numpy reductions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class WindowGroups:
    """The (reading, window) pairs of a batch, window after window; within a window, in arrival order.

    Parameters
    ----------
    rows
        The reading of each pair.
    offsets
        Window `i` holds pairs `offsets[i]:offsets[i + 1]`, (n_windows + 1,); none is empty.
    key_numbers
        Each window's key, as a number (an index into the batch's sorted keys).
    start_ms
        Each window's start, in integer milliseconds.
    relative_times
        Each pair's reading time relative to its window's start, in seconds.

    >>> groups = WindowGroups.of(
    ...     readings=np.array([0, 1, 2, 3]), starts=np.array([0.0, 10.0, 0.0, 0.0]),
    ...     times=np.array([1.0, 12.0, 3.0, 4.0]), key_of_reading=np.array([0, 0, 1, 0]), step_seconds=10.0)
    >>> groups.offsets.tolist(), groups.rows.tolist(), groups.key_numbers.tolist(), groups.start_ms.tolist()
    ([0, 2, 3, 4], [0, 3, 1, 2], [0, 0, 1], [0, 10000, 0])
    """

    rows: np.ndarray
    offsets: np.ndarray
    key_numbers: np.ndarray
    start_ms: np.ndarray
    relative_times: np.ndarray

    def __len__(self) -> int:
        return len(self.key_numbers)

    @classmethod
    def of(
        cls,
        readings: np.ndarray,
        starts: np.ndarray,
        times: np.ndarray,
        key_of_reading: np.ndarray,
        step_seconds: float,
    ) -> WindowGroups:
        """Group the pairs (`readings[i]` in the window starting at `starts[i]`) by key and window."""
        start_ms = np.round(starts * 1000).astype(np.int64)
        if not len(readings):
            empty = np.empty(0, dtype=np.int64)
            return cls(empty, np.zeros(1, dtype=np.int64), empty, empty, np.empty(0))
        earliest = int(start_ms.min())
        slot = (start_ms - earliest) // max(1, round(step_seconds * 1000))
        codes = key_of_reading[readings] * (int(slot.max()) + 1) + slot
        # A stable sort keeps arrival order inside each window, which `first`/`last` ties rely on.
        order = np.argsort(codes, kind="stable")
        sorted_codes = codes[order]
        boundaries = np.flatnonzero(sorted_codes[1:] != sorted_codes[:-1]) + 1
        firsts = np.concatenate(([0], boundaries))
        rows = readings[order]
        pair_start_ms = start_ms[order]
        return cls(
            rows=rows,
            offsets=np.concatenate((firsts, [len(order)])),
            key_numbers=key_of_reading[rows[firsts]],
            start_ms=pair_start_ms[firsts],
            # The per-window path subtracts `start_ms / 1000.0` too: the same bits.
            relative_times=times[rows] - pair_start_ms / 1000.0,
        )
