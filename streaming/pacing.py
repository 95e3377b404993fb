"""Pacing by event time: a record goes when its event time's turn comes on the wall clock, `speed` times
faster than it happened. Simulators and replays both pace this way.

Waits go through a stop event (`stop_event.wait(timeout)`), never a bare sleep: a SIGTERM that sets the event
ends the wait at once, however long the gap (hours in a recording, minutes of event time at a low speedup).
"""

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


class EventTimePacer:
    """Waits until `(event_time - origin) / speed` wall seconds have passed since the start.

    Parameters
    ----------
    speed
        How many times faster than real time event time runs; None: no pacing at all.
    origin
        The event time of the start. None: the first event's, and the wall clock starts at that event
        (a replay); given: the wall clock starts now (a simulation that starts at `origin`).
    clock, sleep, stop_event
        The wall clock, and how to wait (by default on `stop_event`, so a stop ends the wait).

    Records older than the newest one sent (out of order in the source) go at once.

    >>> now = [0.0]
    >>> advance = lambda seconds: now.__setitem__(0, now[0] + seconds)
    >>> replay = EventTimePacer(2.0, clock=lambda: now[0], sleep=advance)
    >>> replay.wait_until(100.0), replay.wait_until(110.0), replay.wait_until(105.0)
    (0.0, 5.0, 0.0)
    >>> simulation = EventTimePacer(60.0, origin=1000.0, clock=lambda: now[0], sleep=advance)
    >>> simulation.wait_until(1600.0)  # ten event minutes at 60x take ten wall seconds
    10.0
    """

    def __init__(
        self,
        speed: float | None,
        origin: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        stop_event: threading.Event | None = None,
    ) -> None:
        if speed is not None and speed <= 0:
            raise ValueError("the speed must be positive")
        self.speed = speed
        self.origin = origin
        self._clock = clock
        self._sleep = sleep or (stop_event or threading.Event()).wait
        self._wall_start = clock()

    def wait_until(self, event_time: float | None) -> float:
        """Wait for `event_time`'s turn (returns early if the stop event is set). Returns the wait."""
        if self.speed is None or event_time is None:
            return 0.0
        if self.origin is None:
            self.origin = event_time
            self._wall_start = self._clock()
            return 0.0
        delay = (event_time - self.origin) / self.speed - (self._clock() - self._wall_start)
        if delay > 0:
            self._sleep(delay)
            return delay
        return 0.0
