"""Pacing by rate: a token bucket in events per second (pacing by event time is `streaming.pacing`).

The bucket waits through a stop event (`stop_event.wait(timeout)`), never a bare sleep: a SIGTERM that
sets the event ends the wait at once, however slow the `--rate`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def _interruptible(stop_event: threading.Event | None) -> Callable[[float], object]:
    return (stop_event or threading.Event()).wait


class TokenBucket:
    """Paces events to `rate` per second of wall time, measured from the first `acquire`.

    The bucket keeps a schedule (the n-th event is due `n / rate` seconds after the first), so the
    achieved rate over a run is exact whatever the sleep granularity, and a stall shorter than
    `max_backlog_seconds` (a busy machine, a GC pause) is made up by sending the backlog at once.
    Falling further behind forgets the backlog instead of flooding the broker with it.

    >>> now = [0.0]
    >>> def sleep(seconds):
    ...     now[0] += seconds
    >>> bucket = TokenBucket(rate=100.0, clock=lambda: now[0], sleep=sleep)
    >>> waited = [bucket.acquire(10) for _ in range(50)]
    >>> round(now[0], 2), round(bucket.schedule_end - bucket.started, 2)  # 500 events at 100/s
    (4.9, 5.0)
    """

    def __init__(
        self,
        rate: float,
        max_backlog_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        stop_event: threading.Event | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.max_backlog_seconds = max_backlog_seconds
        self._clock = clock
        self._sleep = sleep or _interruptible(stop_event)
        self._admitted = 0.0  # events admitted since `_origin`
        self._origin: float | None = None
        #: Wall clock of the first acquire (None before): where the paced interval starts.
        self.started: float | None = None

    @property
    def schedule_end(self) -> float:
        """When the events admitted so far have used up their share of time at `rate`."""
        origin = self._origin if self._origin is not None else self._clock()
        return origin + self._admitted / self.rate

    def acquire(self, events: float) -> float:
        """Wait until `events` more may go (returns early if the stop event is set). Returns the wait."""
        now = self._clock()
        if self._origin is None:
            self._origin = self.started = now
        due = self._origin + self._admitted / self.rate
        if now - due > self.max_backlog_seconds:
            self._origin = now - self._admitted / self.rate
            due = now
        self._admitted += events
        wait = due - now
        if wait > 0:
            self._sleep(wait)
            return wait
        return 0.0

    def refund(self, events: float) -> None:
        """Give back events acquired but not sent (the run stopped during their wait)."""
        self._admitted = max(0.0, self._admitted - events)
