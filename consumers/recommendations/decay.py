"""Exponential time decay without touching stored values: weights are kept relative to a fixed origin."""

from __future__ import annotations

import math


class DecayClock:
    """Turns an event's weight into a value that needs no update as time passes.

    A weight `w` at time `t` is stored as `w * 2 ** ((t - origin) / half_life)`. The decayed value at any
    time `now` is the stored value times `2 ** (-(now - origin) / half_life)`, the same factor for every
    stored value, so rankings of stored values need no decay at all and sums stay exact. `half_life_seconds`
    None switches decay off.

    Parameters
    ----------
    half_life_seconds
        Event time after which a weight counts half; None for no decay.
    origin
        The reference time (the first event's time is a good choice).

    >>> clock = DecayClock(half_life_seconds=10.0, origin=0.0)
    >>> clock.stored(1.0, at=10.0), clock.value(clock.stored(1.0, at=10.0), now=20.0)
    (2.0, 0.5)
    """

    __slots__ = ("_rate", "half_life_seconds", "origin")

    #: Beyond this many half-lives after the origin the stored values approach float64's range.
    MAX_HALF_LIVES = 900.0

    def __init__(self, half_life_seconds: float | None, origin: float = 0.0) -> None:
        self.half_life_seconds = half_life_seconds
        self.origin = float(origin)
        self._rate = 0.0 if half_life_seconds is None else math.log(2.0) / half_life_seconds

    def factor(self, at: float) -> float:
        """What a weight at time `at` is multiplied by when stored."""
        exponent = (at - self.origin) * self._rate
        # Clamped: an event time far from the origin (bad data that cleaning did not catch) must not overflow.
        return math.exp(min(max(exponent, -self.MAX_HALF_LIVES * 0.69), self.MAX_HALF_LIVES * 0.69))

    def stored(self, weight: float, at: float) -> float:
        return weight * self.factor(at)

    def value(self, stored: float, now: float) -> float:
        """The decayed weight at `now` of a stored value."""
        return stored / self.factor(now)
