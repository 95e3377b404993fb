"""A circuit breaker per subscriber: after a run of failures, stop hammering it and probe now and then.

While the breaker is open the subscriber's worker stops retrying each alert on its own schedule. It parks
new alerts (durably, in the alert dead-letter topic, so their offsets can be committed and the other
subscribers are not held back) and sends one probe at a time, further and further apart. The first probe
that gets through closes the breaker, and the parked alerts are delivered in order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

BreakerState = Literal["closed", "open"]


class CircuitBreaker:
    """Counts consecutive failed attempts against one subscriber and decides when to probe it again.

    Parameters
    ----------
    failure_threshold
        Consecutive failed attempts that open the breaker.
    initial_probe_seconds
        Wait before the first probe after opening; doubles after each failed probe.
    max_probe_seconds
        Cap of the wait between probes.
    clock
        Monotonic seconds (injected by tests).

    >>> now = [0.0]
    >>> breaker = CircuitBreaker(failure_threshold=3, initial_probe_seconds=1, max_probe_seconds=4,
    ...     clock=lambda: now[0])
    >>> [breaker.record_failure() for _ in range(3)]  # True when that failure opened it
    [False, False, True]
    >>> breaker.state, breaker.probe_due(), breaker.seconds_to_probe()
    ('open', False, 1.0)
    >>> now[0] = 1.0; breaker.probe_due()
    True
    >>> breaker.record_failure(); [breaker.seconds_to_probe(), breaker.probe_due()]
    False
    [2.0, False]
    >>> now[0] = 3.0; breaker.record_success()  # True when that success closed it
    True
    >>> breaker.state, breaker.open_seconds()
    ('closed', 0.0)
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        initial_probe_seconds: float = 1.0,
        max_probe_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.failure_threshold = failure_threshold
        self.initial_probe_seconds = initial_probe_seconds
        self.max_probe_seconds = max_probe_seconds
        self.clock = clock
        self.state: BreakerState = "closed"
        self.consecutive_failures = 0
        self.failed_probes = 0
        self.opened_at: float | None = None
        self._next_probe_at = 0.0

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    def record_failure(self) -> bool:
        """Count a failed attempt (or probe); True if this one opened the breaker."""
        self.consecutive_failures += 1
        now = self.clock()
        if self.state == "open":
            self.failed_probes += 1
            self._next_probe_at = now + self._probe_wait()
            return False
        if self.consecutive_failures < self.failure_threshold:
            return False
        self.state = "open"
        self.opened_at = now
        self.failed_probes = 0
        self._next_probe_at = now + self._probe_wait()
        return True

    def record_success(self) -> bool:
        """Count a delivered attempt; True if this one closed an open breaker."""
        was_open = self.state == "open"
        self.state = "closed"
        self.consecutive_failures = 0
        self.failed_probes = 0
        self.opened_at = None
        return was_open

    def probe_due(self) -> bool:
        return self.state == "open" and self.clock() >= self._next_probe_at

    def seconds_to_probe(self) -> float:
        return max(0.0, self._next_probe_at - self.clock()) if self.state == "open" else 0.0

    def open_seconds(self) -> float:
        return 0.0 if self.opened_at is None else self.clock() - self.opened_at

    def _probe_wait(self) -> float:
        return float(min(self.max_probe_seconds, self.initial_probe_seconds * 2**self.failed_probes))
