"""ISO weeks (`2026-W48`) and their [start, end) intervals in epoch seconds, UTC."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import overload

import numpy as np

WEEK_SECONDS = 7 * 86_400
#: Monday 1970-01-05 00:00 UTC: week index 0 starts here.
_EPOCH_MONDAY = 4 * 86_400
_PATTERN = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


@dataclass(frozen=True, order=True, slots=True)
class IsoWeek:
    """One ISO 8601 week: Monday 00:00 UTC to the next Monday 00:00 UTC.

    Parameters
    ----------
    year
        The ISO year (which can differ from the calendar year around New Year).
    week
        The week number, 1 to 52 or 53.

    >>> week = IsoWeek.parse("2026-W48")
    >>> str(week), week.start_seconds, week.end_seconds - week.start_seconds
    ('2026-W48', 1795392000, 604800)
    >>> str(week + 6), str(week - 48), (week + 6) - week  # 2026 has 53 weeks
    ('2027-W01', '2025-W52', 6)
    >>> IsoWeek.containing(1795392000 + 3600) == week
    True
    """

    year: int
    week: int

    def __post_init__(self) -> None:
        try:
            dt.date.fromisocalendar(self.year, self.week, 1)
        except ValueError:
            raise ValueError(f"{self.year}-W{self.week:02d} is not an ISO week") from None

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """`2026-W48` (or `2026W48`); a clear ValueError otherwise."""
        match = _PATTERN.match(text)
        if not match:
            raise ValueError(f"not an ISO week: {text!r} (expected a year and week such as 2026-W48)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def from_index(cls, index: int) -> IsoWeek:
        """The week `index` weeks after the one starting Monday 1970-01-05."""
        monday = dt.datetime.fromtimestamp(_EPOCH_MONDAY + index * WEEK_SECONDS, tz=dt.UTC).date()
        year, week, _day = monday.isocalendar()
        return cls(year, week)

    @classmethod
    def containing(cls, seconds: float) -> IsoWeek:
        """The week holding the epoch time `seconds`."""
        return cls.from_index(math.floor((seconds - _EPOCH_MONDAY) / WEEK_SECONDS))

    @property
    def index(self) -> int:
        """Weeks since the one starting Monday 1970-01-05 (consecutive weeks differ by 1)."""
        monday = dt.datetime.combine(dt.date.fromisocalendar(self.year, self.week, 1), dt.time(), dt.UTC)
        return (int(monday.timestamp()) - _EPOCH_MONDAY) // WEEK_SECONDS

    @property
    def start_seconds(self) -> int:
        return _EPOCH_MONDAY + self.index * WEEK_SECONDS

    @property
    def end_seconds(self) -> int:
        return self.start_seconds + WEEK_SECONDS

    def __add__(self, weeks: int) -> IsoWeek:
        return IsoWeek.from_index(self.index + weeks)

    @overload
    def __sub__(self, other: IsoWeek) -> int: ...
    @overload
    def __sub__(self, other: int) -> IsoWeek: ...
    def __sub__(self, other: int | IsoWeek) -> IsoWeek | int:
        if isinstance(other, IsoWeek):
            return self.index - other.index
        return IsoWeek.from_index(self.index - other)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"


def week_range(first: IsoWeek, last: IsoWeek) -> list[IsoWeek]:
    """Every week from `first` to `last`, both included.

    >>> [str(week) for week in week_range(IsoWeek(2026, 52), IsoWeek(2027, 2))]
    ['2026-W52', '2026-W53', '2027-W01', '2027-W02']
    """
    return [IsoWeek.from_index(index) for index in range(first.index, last.index + 1)]


def week_indices(texts: Iterable[str]) -> np.ndarray:
    """`IsoWeek.index` of each week text, parsing each distinct text once (frames repeat them a lot).

    >>> week_indices(["2026-W48", "2026-W49", "2026-W48"]).tolist() == [2968, 2969, 2968]
    True
    """
    values = list(texts)
    known = {text: IsoWeek.parse(text).index for text in set(values)}
    return np.fromiter((known[text] for text in values), dtype=np.int64, count=len(values))


def week_of_index(index: int) -> str:
    """The text of the week with this index (see `IsoWeek.index`).

    >>> week_of_index(IsoWeek(2026, 48).index)
    '2026-W48'
    """
    return str(IsoWeek.from_index(index))
