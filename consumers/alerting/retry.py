"""When to try a delivery again: exponential backoff with full jitter, for up to a time limit.

Retries are bounded by time, as Alertmanager and webhook providers bound them, not by a count: six quick
attempts are spent in seconds, while a subscriber's outage lasts minutes or hours. A count cap is
available for interactive commands that should answer quickly.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from consumers.alerting.settings import AlertSettings
from consumers.alerting.sinks import SendResult


@dataclass(frozen=True)
class RetryOutcome:
    """How a retried action ended: its last result, the attempts made, why it was given up (if it was),
    and whether the wait between attempts was cut short by a stop."""

    result: SendResult
    attempts: int
    gave_up: str | None = None
    stopped: bool = False


@dataclass
class RetryPolicy:
    """Delays between attempts, and when to give up.

    Parameters
    ----------
    max_attempts
        Most attempts, or None for no count limit (the default: time decides).
    max_retry_seconds
        Give up once the next attempt would start later than this after the first.
    initial_backoff_seconds, max_backoff_seconds
        The backoff ceiling after the first failure, doubled per failure up to the cap.
    random
        The jitter's source (seeded by tests).

    Full jitter (a uniform draw between 0 and the exponential ceiling) spreads the retries of many
    dispatchers hitting one recovering receiver. A server's `Retry-After` wins over the draw.

    >>> policy = RetryPolicy(max_attempts=4, max_retry_seconds=10, initial_backoff_seconds=0.5,
    ...     max_backoff_seconds=2, random=random.Random(7))
    >>> [policy.ceiling(attempt) for attempt in (1, 2, 3, 4)]
    [0.5, 1.0, 2.0, 2.0]
    >>> 0 <= policy.delay(attempt=2) <= 1.0
    True
    >>> policy.delay(attempt=1, retry_after=3.0)
    3.0
    >>> policy.give_up_reason(attempts_made=4, elapsed_seconds=1.0, next_delay=0.1)
    'gave up after 4 attempts'
    >>> RetryPolicy().give_up_reason(attempts_made=10_000, elapsed_seconds=3600.0, next_delay=10.0) is None
    True
    """

    max_attempts: int | None = None
    max_retry_seconds: float = 86_400.0
    initial_backoff_seconds: float = 0.2
    max_backoff_seconds: float = 10.0
    random: random.Random = field(default_factory=random.Random)

    @classmethod
    def from_settings(cls, alerts: AlertSettings) -> RetryPolicy:
        return cls(
            max_attempts=alerts.max_attempts,
            max_retry_seconds=alerts.max_retry_seconds,
            initial_backoff_seconds=alerts.initial_backoff_seconds,
            max_backoff_seconds=alerts.max_backoff_seconds,
        )

    @classmethod
    def until_done(
        cls, initial_backoff_seconds: float = 0.5, max_backoff_seconds: float = 10.0
    ) -> RetryPolicy:
        """Retry for as long as it takes (e.g. writing a dead letter, which must not be lost)."""
        return cls(None, math.inf, initial_backoff_seconds, max_backoff_seconds)

    def run(
        self,
        attempt: Callable[[], SendResult],
        wait: Callable[[float], bool],
        on_retry: Callable[[SendResult, int, float], None] | None = None,
        give_up: Callable[[SendResult], str | None] | None = None,
    ) -> RetryOutcome:
        """Call `attempt` until it is delivered or rejected, or this policy gives up.

        An exception from `attempt` counts as a failure to retry. `wait(delay)` sleeps between attempts and
        returns True when the caller is stopping (the outcome is then `stopped`). `give_up(result)`, asked
        after each failure, may end the retries early with a reason (an open circuit breaker).
        """
        started = time.monotonic()
        attempts = 0
        while True:
            attempts += 1
            try:
                result = attempt()
            except Exception as error:
                result = SendResult("retry", f"{type(error).__name__}: {error}"[:300])
            if result.outcome != "retry":
                return RetryOutcome(result, attempts)
            delay = self.delay(attempts, result.retry_after_seconds)
            reason = give_up(result) if give_up is not None else None
            if reason is None:
                reason = self.give_up_reason(attempts, time.monotonic() - started, delay)
            if reason is not None:
                return RetryOutcome(result, attempts, gave_up=reason)
            if on_retry is not None:
                on_retry(result, attempts, delay)
            if wait(delay):
                return RetryOutcome(result, attempts, stopped=True)

    def ceiling(self, attempt: int) -> float:
        """The largest delay after failed attempt number `attempt` (1-based)."""
        return float(min(self.max_backoff_seconds, self.initial_backoff_seconds * 2 ** (attempt - 1)))

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None and retry_after >= 0:
            return retry_after
        return self.random.uniform(0.0, self.ceiling(attempt))

    def give_up_reason(self, attempts_made: int, elapsed_seconds: float, next_delay: float) -> str | None:
        """None to try again after `next_delay`, else why the delivery is abandoned."""
        if self.max_attempts is not None and attempts_made >= self.max_attempts:
            return f"gave up after {attempts_made} attempts"
        if elapsed_seconds + next_delay > self.max_retry_seconds:
            return (
                f"gave up after {attempts_made} attempts: retrying in {next_delay:.1f}s would pass the "
                f"{self.max_retry_seconds:.0f} s limit"
            )
        return None
