"""`streaming churn schedule`: the weekly job runs by itself once event time has passed a week's end plus
the allowed lateness, week after week, catching up on any weeks it missed."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from consumers.churn.weeks import IsoWeek

log = logging.getLogger(__name__)

#: (first, last) record timestamps of the transactions topic in ms, None when it is empty.
Edges = Callable[[], tuple[int | None, int | None]]


class WeeklySchedule:
    """Which weeks are due, and running them in order.

    Parameters
    ----------
    edges
        Where the transactions' event time starts and how far it has got.
    done
        Whether a week's outputs are committed and published.
    allowed_lateness_seconds
        A week is due once event time passed its end plus this much.
    first_week
        The first week to run (default: the week of the first transaction).

    >>> first, now = IsoWeek(2026, 40).start_seconds, IsoWeek(2026, 43).start_seconds + 7_200
    >>> edges = lambda: (int(first * 1000), int(now * 1000))
    >>> schedule = WeeklySchedule(edges, done=lambda week: week == IsoWeek(2026, 40),
    ...     allowed_lateness_seconds=3600)
    >>> [str(week) for week in schedule.due()]
    ['2026-W41', '2026-W42']
    """

    def __init__(
        self,
        edges: Edges,
        done: Callable[[IsoWeek], bool],
        allowed_lateness_seconds: float,
        first_week: IsoWeek | None = None,
    ) -> None:
        self.edges = edges
        self.done = done
        self.allowed_lateness_seconds = allowed_lateness_seconds
        self.first_week = first_week

    def due(self) -> list[IsoWeek]:
        first_ms, last_ms = self.edges()
        if first_ms is None or last_ms is None:
            return []
        event_time = last_ms / 1000.0
        week = self.first_week or IsoWeek.containing(first_ms / 1000.0)
        due: list[IsoWeek] = []
        while week.end_seconds + self.allowed_lateness_seconds <= event_time:
            if not self.done(week):
                due.append(week)
            week = week + 1
        return due

    def run(
        self,
        run_week: Callable[[IsoWeek], object],
        stop: threading.Event,
        poll_seconds: float = 10.0,
        duration_seconds: float | None = None,
        once: bool = False,
        on_idle: Callable[[], None] | None = None,
    ) -> int:
        """Run due weeks in order until stopped (or once). Returns how many weeks ran."""
        started = time.monotonic()
        ran = 0
        while not stop.is_set():
            for week in self.due():
                if stop.is_set():
                    break
                run_week(week)
                ran += 1
            if once:
                break
            if duration_seconds is not None and time.monotonic() - started >= duration_seconds:
                break
            if on_idle is not None:
                on_idle()
            stop.wait(poll_seconds)
        return ran
