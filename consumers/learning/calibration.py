"""Probabilities from scores, learned from labels, without touching the scores themselves.

A model's score ranks events; what an alert's reader needs is a probability ("critical" should mean that
most such alerts are real). Sampling, weighting and learning all move the relation between the two, so it
is learned from the labelled scores themselves: isotonic regression (a monotone step function, pool
adjacent violators) over bins of the score's log-odds, on counts that decay so the map follows the model as
it learns. Ranking is unaffected: the scores that AUCs, thresholds and budgets see stay as they are.
"""

from __future__ import annotations

import bisect
import math

from streaming.state.stable import stable

__all__ = ["ScoreCalibrator"]


@stable("learning.score-calibrator/1")
class ScoreCalibrator:
    """Isotonic map from scores to probabilities over recent labelled scores.

    Parameters
    ----------
    bins
        Bins of the score's log-odds between `-limit` and `+limit`.
    limit
        Log-odds beyond this fall into the outermost bins.
    half_life
        Labels after which an old label counts half as much.
    min_positives
        Positives (and negatives) to see before the map is used; before that `probability` returns the
        fallback it is given.
    prior_strength
        Pseudo-labels at the overall positive rate added to every bin, so a bin with one positive does not
        read as certain.
    refresh_every
        Labels between two refits of the map.

    >>> calibrator = ScoreCalibrator(min_positives=5, refresh_every=1)
    >>> for index in range(2_000):
    ...     score = (index % 100) / 100
    ...     calibrator.observe(score, label=index % 100 >= 90 and index % 3 == 0)   # a third of the top tenth
    >>> round(calibrator.probability(0.95, fallback=0.5), 1), calibrator.probability(0.2, fallback=0.5) < 0.05
    (0.3, True)
    """

    def __init__(
        self,
        bins: int = 24,
        limit: float = 9.0,
        half_life: float = 20_000.0,
        min_positives: int = 10,
        prior_strength: float = 2.0,
        refresh_every: int = 50,
    ) -> None:
        self.bins = bins
        self.limit = limit
        self.decay = 0.5 ** (1.0 / half_life)
        self.min_positives = min_positives
        self.prior_strength = prior_strength
        self.refresh_every = refresh_every
        # Counts are kept multiplied by `_scale`, which grows instead of every count decaying: one
        # addition per label; `_counts` divides it out.
        self.positives = [0.0] * bins
        self.negatives = [0.0] * bins
        self._scale = 1.0
        self.seen_positives = 0
        self.seen_negatives = 0
        self._since_refresh = 0
        #: Bin centres (log-odds) and the fitted probability at each, once ready.
        self._centres = [-limit + (index + 0.5) * 2 * limit / bins for index in range(bins)]
        self._fitted: list[float] = []

    @property
    def ready(self) -> bool:
        return bool(self._fitted)

    def _bin(self, score: float) -> int:
        log_odds = _log_odds(score, self.limit)
        return min(self.bins - 1, int((log_odds + self.limit) / (2 * self.limit) * self.bins))

    def observe(self, score: float, label: bool) -> None:
        """One labelled score (the score the model gave before it knew the label)."""
        self._scale /= self.decay
        if label:
            self.positives[self._bin(score)] += self._scale
            self.seen_positives += 1
        else:
            self.negatives[self._bin(score)] += self._scale
            self.seen_negatives += 1
        if self._scale > 1e100:
            self.positives, self.negatives = self._counts()
            self._scale = 1.0
        self._since_refresh += 1
        if self._since_refresh >= self.refresh_every:
            self._since_refresh = 0
            self._refit()

    def _counts(self) -> tuple[list[float], list[float]]:
        """Decayed counts of positives and negatives per bin."""
        scale = self._scale
        return [count / scale for count in self.positives], [count / scale for count in self.negatives]

    def _refit(self) -> None:
        if min(self.seen_positives, self.seen_negatives) < self.min_positives:
            return
        positives, negatives = self._counts()
        total_positive, total = sum(positives), sum(positives) + sum(negatives)
        if total <= 0:
            return
        base_rate = total_positive / total
        strength = self.prior_strength
        # Pool adjacent violators over (rate, weight) blocks, left to right.
        blocks: list[list[float]] = []  # [rate, weight, number of bins]
        for positive, negative in zip(positives, negatives, strict=True):
            weight = positive + negative + strength
            rate = (positive + strength * base_rate) / weight
            blocks.append([rate, weight, 1.0])
            while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
                rate_b, weight_b, count_b = blocks.pop()
                rate_a, weight_a, count_a = blocks.pop()
                merged = weight_a + weight_b
                blocks.append([(rate_a * weight_a + rate_b * weight_b) / merged, merged, count_a + count_b])
        fitted: list[float] = []
        for rate, _weight, count in blocks:
            fitted.extend([rate] * int(count))
        self._fitted = fitted

    def probability(self, score: float, fallback: float) -> float:
        """The calibrated probability of `score`, or `fallback` until enough labels were seen."""
        fitted = self._fitted
        if not fitted:
            return fallback
        log_odds = _log_odds(score, self.limit)
        centres = self._centres
        position = bisect.bisect_left(centres, log_odds)
        if position <= 0:
            return fitted[0]
        if position >= len(centres):
            return fitted[-1]
        left, right = centres[position - 1], centres[position]
        share = (log_odds - left) / (right - left)
        return fitted[position - 1] + share * (fitted[position] - fitted[position - 1])


def _log_odds(score: float, limit: float) -> float:
    if score <= 0.0:
        return -limit
    if score >= 1.0:
        return limit
    return max(-limit, min(limit, math.log(score / (1.0 - score))))
