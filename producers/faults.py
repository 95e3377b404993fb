"""Deliberate imperfections of a real stream: out-of-order, late, duplicate and malformed records."""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import replace

import numpy as np

from producers.malformed import MalformedRecords
from producers.records import OutgoingRecord


class FaultInjector:
    """Decides, record by record and reproducibly from `seed`, which faults to inject.

    - out-of-order: the record is held back by up to `out_of_order_delay_seconds` of event time (within
      a typical allowed lateness), so later events overtake it;
    - late: held back 1-2x `late_delay_seconds` of event time (beyond a typical allowed lateness);
    - duplicate: the same key, value and timestamp are sent twice (the idempotent producer only removes
      its own retries, not an application's resend);
    - malformed: an extra, broken copy goes along (the good record still goes: ground truth stays whole).

    `process(record, now)` returns what to send now: held records whose time has come, then the record
    (unless held) with its duplicate and malformed copies. `drain()` returns whatever is still held.

    >>> injector = FaultInjector(seed=7, duplicate_fraction=1.0)
    >>> record = OutgoingRecord("transactions", b"c-1", b"{}", 0, events=1, due_time=0.0)
    >>> [r.kind for r in injector.process(record, now=0.0)]
    ['event', 'duplicate']
    """

    def __init__(
        self,
        seed: int,
        out_of_order_fraction: float = 0.0,
        out_of_order_delay_seconds: float = 3.0,
        late_fraction: float = 0.0,
        late_delay_seconds: float = 120.0,
        duplicate_fraction: float = 0.0,
        bad_fraction: float = 0.0,
        malformed: MalformedRecords | None = None,
    ) -> None:
        if bad_fraction > 0 and malformed is None:
            raise ValueError("bad_fraction needs a MalformedRecords")
        self.out_of_order_fraction = out_of_order_fraction
        self.out_of_order_delay_seconds = out_of_order_delay_seconds
        self.late_fraction = late_fraction
        self.late_delay_seconds = late_delay_seconds
        self.duplicate_fraction = duplicate_fraction
        self.bad_fraction = bad_fraction
        self.malformed = malformed
        self.counts: Counter[str] = Counter()
        self._rng = np.random.default_rng(seed)
        self._held: list[tuple[float, int, list[OutgoingRecord]]] = []
        self._sequence = 0
        self.active = any(
            fraction > 0
            for fraction in (out_of_order_fraction, late_fraction, duplicate_fraction, bad_fraction)
        )

    def process(self, record: OutgoingRecord, now: float) -> list[OutgoingRecord]:
        out = self.release(now)
        if not self.active:
            out.append(record)
            return out
        draws = self._rng.random(4)
        group = [record]
        if draws[0] < self.duplicate_fraction:
            group.append(replace(record, kind="duplicate", events=0))
            self.counts["duplicate"] += 1
        if draws[1] < self.bad_fraction and self.malformed is not None:
            variant = self.malformed.choose()
            value = self.malformed.make(record.value, variant)
            group.append(replace(record, value=value, kind=f"malformed_{variant}", events=0))
            self.counts[f"malformed_{variant}"] += 1
        if draws[2] < self.late_fraction:
            self.counts["late"] += 1
            self._hold(group, record.due_time + self.late_delay_seconds * (1.0 + draws[3]))
        elif draws[2] < self.late_fraction + self.out_of_order_fraction:
            self.counts["out_of_order"] += 1
            self._hold(group, record.due_time + self.out_of_order_delay_seconds * (0.2 + 0.8 * draws[3]))
        else:
            out.extend(group)
        return out

    def _hold(self, group: list[OutgoingRecord], release_time: float) -> None:
        self._sequence += 1
        heapq.heappush(self._held, (release_time, self._sequence, group))

    def release(self, now: float) -> list[OutgoingRecord]:
        """Held records whose release time (event time) has come."""
        out: list[OutgoingRecord] = []
        while self._held and self._held[0][0] <= now:
            out.extend(heapq.heappop(self._held)[2])
        return out

    def drain(self) -> list[OutgoingRecord]:
        out: list[OutgoingRecord] = []
        while self._held:
            out.extend(heapq.heappop(self._held)[2])
        return out
