"""The processing clock: wall-clock time that stands still while a service cannot read its input."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class ProcessingClock:
    """Wall-clock seconds, minus the time spent unable to fetch (a broker outage, no assignment).

    Idle timeouts and TTLs measure silence. An outage is not silence: the records are waiting in the broker,
    and timing the outage as idleness would close windows early and make the records behind them late. The
    consume loop pauses this clock while its consumer cannot fetch and resumes it afterwards.

    Parameters
    ----------
    wall
        The underlying clock (time.time).

    >>> now = [100.0]
    >>> clock = ProcessingClock(wall=lambda: now[0])
    >>> clock.pause(); now[0] = 130.0; clock()     # 30 s of outage do not pass
    100.0
    >>> clock.resume(); now[0] = 135.0; clock()
    105.0
    >>> round(clock.paused_seconds, 1)
    30.0
    >>> now[0] = 160.0; clock.pause(since=150.0); clock()   # found out at 160 that fetching stopped at 150
    120.0
    """

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self.wall = wall
        self._lock = threading.Lock()
        self._paused_total = 0.0
        self._paused_since: float | None = None
        #: A retroactive pause never goes back before a time already handed out: the clock is monotonic.
        self._last_read = float("-inf")

    def __call__(self) -> float:
        with self._lock:
            now = self.wall()
            since = self._paused_since
            self._last_read = since if since is not None else now
            return self._last_read - self._paused_total

    @property
    def paused(self) -> bool:
        return self._paused_since is not None

    @property
    def paused_seconds(self) -> float:
        """Time spent paused so far."""
        with self._lock:
            ongoing = 0.0 if self._paused_since is None else self.wall() - self._paused_since
            return self._paused_total + ongoing

    def pause(self, since: float | None = None) -> None:
        """Stop the clock now, or from `since` (wall seconds) when the pause is found out late: a commit that
        blocked on a dead broker for a while before failing."""
        with self._lock:
            if self._paused_since is None:
                now = self.wall()
                self._paused_since = now if since is None else max(min(now, since), self._last_read)

    def resume(self) -> None:
        with self._lock:
            if self._paused_since is not None:
                self._paused_total += max(0.0, self.wall() - self._paused_since)
                self._paused_since = None
