"""How a score becomes a decision: a fixed threshold, or one derived from a target precision or an
alert budget per hour, never below a floor. `AlertBudget` is the hard guarantee beside them: at most
`alerts_per_hour` new incidents in any hour of event time, whatever the scores do. Everything uses only
event time and recent data, so replays agree.
"""

from __future__ import annotations

import math
from collections import deque

from consumers.learning.settings import ThresholdSettings
from streaming.state.stable import stable

__all__ = [
    "AlertBudget",
    "BudgetThreshold",
    "FixedThreshold",
    "PrecisionThreshold",
    "Threshold",
    "build_threshold",
]


@stable("learning.fixed-threshold/1")
class Threshold:
    """A fixed threshold; the base of the adaptive ones.

    >>> threshold = FixedThreshold(0.7)
    >>> threshold.value, threshold.decide(0.71)
    (0.7, True)
    """

    def __init__(self, value: float) -> None:
        self.value = value

    def decide(self, score: float) -> bool:
        return score >= self.value

    def observe_score(self, score: float, event_time: float) -> None:
        """Every score, with its event time (the budget threshold counts them)."""

    def observe_label(self, score: float, label: bool) -> None:
        """Every labelled score (the precision threshold learns from them)."""


FixedThreshold = Threshold


@stable("learning.alert-budget/1")
class AlertBudget:
    """At most `alerts_per_hour` alerts in any rolling hour of event time.

    The scoring services ask it before opening a new incident; reminders and escalations of an incident
    subscribers already know about do not count (the cooldown bounds those).

    >>> budget = AlertBudget(alerts_per_hour=2)
    >>> [budget.take(t) for t in (0.0, 10.0, 20.0, 3_600.0, 3_611.0)]
    [True, True, False, True, True]
    >>> budget.refused
    1
    """

    def __init__(self, alerts_per_hour: float, window_seconds: float = 3_600.0) -> None:
        self.limit = max(1, math.floor(alerts_per_hour * window_seconds / 3_600.0))
        self.window_seconds = window_seconds
        self.times: deque[float] = deque()
        self.refused = 0

    def allows(self, event_time: float) -> bool:
        while self.times and self.times[0] <= event_time - self.window_seconds:
            self.times.popleft()
        return len(self.times) < self.limit

    def take(self, event_time: float) -> bool:
        """Spend one alert at `event_time` if the budget allows it; False (and counted) otherwise."""
        if not self.allows(event_time):
            self.refused += 1
            return False
        self.times.append(event_time)
        return True


@stable("learning.precision-threshold/1")
class PrecisionThreshold(Threshold):
    """The lowest threshold whose precision over the last `window_size` labelled scores reaches the target.

    Until `min_positives` positives were labelled it keeps the initial value; it never goes below `floor`.

    >>> threshold = PrecisionThreshold(target_precision=0.75, initial=0.5, window_size=100, min_positives=2,
    ...                                refresh_every=1)
    >>> for score, label in [(0.9, True), (0.8, True), (0.7, False), (0.6, True), (0.3, False), (0.2, False)]:
    ...     threshold.observe_label(score, label)
    >>> threshold.value
    0.6
    """

    def __init__(
        self,
        target_precision: float,
        initial: float,
        window_size: int = 5_000,
        min_positives: int = 10,
        refresh_every: int = 100,
        floor: float = 0.0,
    ) -> None:
        super().__init__(initial)
        self.floor = floor
        self.target_precision = target_precision
        self.window: deque[tuple[float, bool]] = deque(maxlen=window_size)
        self.min_positives = min_positives
        self.refresh_every = refresh_every
        self._since_refresh = 0

    def observe_label(self, score: float, label: bool) -> None:
        self.window.append((score, bool(label)))
        self._since_refresh += 1
        if self._since_refresh >= self.refresh_every:
            self._since_refresh = 0
            self._refresh()

    def _refresh(self) -> None:
        ranked = sorted(self.window, key=lambda pair: -pair[0])
        if sum(label for _, label in ranked) < self.min_positives:
            return
        true_positives = 0
        best: float | None = None
        for index, (score, label) in enumerate(ranked, start=1):
            true_positives += label
            # Only cut between distinct scores: every score equal to the cut is alerted on too.
            if index < len(ranked) and ranked[index][0] == score:
                continue
            if true_positives / index >= self.target_precision:
                best = score
        if best is not None:
            self.value = max(self.floor, best)


@stable("learning.budget-threshold/1")
class BudgetThreshold(Threshold):
    """The score quantile that would have raised `alerts_per_hour` alerts over the recent scores.

    The rate of events per hour comes from the event times of the last `window_size` scores. The value
    never goes below `floor`: on a quiet stream the budget is not spent on unlikely events.

    >>> threshold = BudgetThreshold(alerts_per_hour=6, initial=0.5, window_size=1_000, refresh_every=1)
    >>> for second in range(0, 3_600, 6):  # 600 events in an hour, scores 0.000 .. 0.599
    ...     threshold.observe_score(second / 6_000, 1.7e9 + second)
    >>> threshold.value
    0.594
    """

    def __init__(
        self,
        alerts_per_hour: float,
        initial: float,
        window_size: int = 20_000,
        refresh_every: int = 500,
        floor: float = 0.0,
    ) -> None:
        super().__init__(initial)
        self.floor = floor
        self.alerts_per_hour = alerts_per_hour
        self.scores: deque[tuple[float, float]] = deque(maxlen=window_size)
        self.refresh_every = refresh_every
        self._since_refresh = 0

    def observe_score(self, score: float, event_time: float) -> None:
        self.scores.append((event_time, score))
        self._since_refresh += 1
        if self._since_refresh >= self.refresh_every:
            self._since_refresh = 0
            self._refresh()

    def _refresh(self) -> None:
        if len(self.scores) < 2:
            return
        times = [time for time, _ in self.scores]
        span_hours = (max(times) - min(times)) / 3_600.0
        if span_hours <= 0:
            return
        per_hour = (len(self.scores) - 1) / span_hours
        allowed = max(1, math.floor(len(self.scores) * min(1.0, self.alerts_per_hour / per_hour)))
        ordered = sorted(score for _, score in self.scores)
        cut = ordered[len(ordered) - allowed]
        # Alerting needs score >= value; avoid 0 so that a flat stream of zeros does not alert on everything.
        self.value = max(cut, self.floor, math.nextafter(0.0, 1.0))


def build_threshold(settings: ThresholdSettings) -> Threshold:
    """The threshold policy a `ThresholdSettings` asks for.

    `value` is the fixed threshold, and the start value and floor of the adaptive ones.

    >>> build_threshold(ThresholdSettings(mode="budget", value=0.6, alerts_per_hour=5)).value
    0.6
    """
    if settings.mode == "precision":
        return PrecisionThreshold(settings.target_precision, initial=settings.value, floor=settings.value)
    if settings.mode == "budget":
        return BudgetThreshold(settings.alerts_per_hour, initial=settings.value, floor=settings.value)
    return FixedThreshold(settings.value)
