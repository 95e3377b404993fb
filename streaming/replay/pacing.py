"""Replay pace: `speed` times the recorded pace, or as fast as possible."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def parse_speed(text: str) -> float | None:
    """`max` (None: no pacing) or a positive factor.

    >>> parse_speed("max"), parse_speed("2.5")
    (None, 2.5)
    """
    if text.strip().lower() == "max":
        return None
    value = float(text)
    if value <= 0:
        raise ValueError("--speed must be positive, or 'max'")
    return value


class ReplayPacer:
    """Sends a record when `(event_time - first_event_time) / speed` wall seconds have passed.

    Records earlier than the newest one sent (out of order in the source) go at once.

    >>> now = [0.0]
    >>> pacer = ReplayPacer(2.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    >>> pacer.wait(100.0), pacer.wait(110.0), pacer.wait(105.0)
    (0.0, 5.0, 0.0)
    """

    def __init__(
        self,
        speed: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        stop_event: threading.Event | None = None,
    ) -> None:
        self.speed = speed
        self._clock = clock
        # Waiting on the stop event, not sleeping: a gap of hours in a recording ends at once on SIGTERM.
        self._sleep = sleep or (stop_event or threading.Event()).wait
        self._first_event: float | None = None
        self._wall_start = 0.0

    def wait(self, event_time: float | None) -> float:
        """Wait for `event_time`'s turn (returns early if the stop event is set). Returns the wait."""
        if self.speed is None or event_time is None:
            return 0.0
        if self._first_event is None:
            self._first_event = event_time
            self._wall_start = self._clock()
            return 0.0
        delay = (event_time - self._first_event) / self.speed - (self._clock() - self._wall_start)
        if delay > 0:
            self._sleep(delay)
            return delay
        return 0.0
