"""The circuit breaker's states and probe schedule, on a clock the test moves."""

from __future__ import annotations

import pytest

from consumers.alerting.breaker import CircuitBreaker


def test_probes_back_off_to_the_cap_and_a_success_resets_everything() -> None:
    now = [0.0]
    breaker = CircuitBreaker(
        failure_threshold=2, initial_probe_seconds=1, max_probe_seconds=5, clock=lambda: now[0]
    )
    assert not breaker.record_failure() and breaker.record_failure()
    waits = []
    for _ in range(5):
        waits.append(breaker.seconds_to_probe())
        now[0] += breaker.seconds_to_probe()
        assert breaker.probe_due()
        breaker.record_failure()
    assert waits == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert breaker.open_seconds() == now[0]
    assert breaker.record_success() and breaker.state == "closed"
    assert not breaker.record_failure()  # the count starts again from zero
    assert not breaker.record_success()


def test_successes_between_failures_keep_it_closed() -> None:
    breaker = CircuitBreaker(failure_threshold=3)
    for _ in range(10):
        breaker.record_failure()
        breaker.record_failure()
        breaker.record_success()
    assert breaker.state == "closed" and not breaker.probe_due()


def test_a_threshold_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        CircuitBreaker(failure_threshold=0)
