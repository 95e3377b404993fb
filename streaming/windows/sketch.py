"""A mergeable quantile sketch with relative accuracy (the DDSketch idea: logarithmic buckets).

Counts per bucket merge by addition, so the result does not depend on how events were batched, which keeps
window output identical across crashes and restarts.
"""

from __future__ import annotations

import math

import numpy as np

#: Bucket of values <= 0: the sketch's accuracy guarantee covers positive values.
NON_POSITIVE_BUCKET = -(2**40)


class LogBuckets:
    """Maps values to logarithmic buckets so that a bucket's representative is within `relative_accuracy`.

    >>> buckets = LogBuckets(0.01)
    >>> value = buckets.representative(int(buckets.bucket_of(np.array([250.0]))[0]))
    >>> abs(value - 250.0) / 250.0 <= 0.01
    True
    """

    def __init__(self, relative_accuracy: float = 0.01) -> None:
        if not 0 < relative_accuracy < 1:
            raise ValueError("relative_accuracy must be in (0, 1)")
        self.relative_accuracy = relative_accuracy
        self.gamma = (1 + relative_accuracy) / (1 - relative_accuracy)
        self._log_gamma = math.log(self.gamma)

    def bucket_of(self, values: np.ndarray) -> np.ndarray:
        positive = values > 0
        buckets = np.full(values.shape, NON_POSITIVE_BUCKET, dtype=np.int64)
        buckets[positive] = np.ceil(np.log(values[positive]) / self._log_gamma).astype(np.int64)
        return buckets

    def representative(self, bucket: int) -> float:
        if bucket == NON_POSITIVE_BUCKET:
            return 0.0
        return 2.0 * self.gamma**bucket / (self.gamma + 1.0)

    def quantile(self, counts: dict[int, int], quantile: float, minimum: float, maximum: float) -> float:
        """The value at rank `quantile * (n - 1)`, clamped to the exact minimum and maximum."""
        total = sum(counts.values())
        if total == 0:
            return math.nan
        rank = quantile * (total - 1)
        seen = 0
        for bucket in sorted(counts):
            seen += counts[bucket]
            if seen > rank:
                value = minimum if bucket == NON_POSITIVE_BUCKET else self.representative(bucket)
                return min(max(value, minimum), maximum)
        return maximum
