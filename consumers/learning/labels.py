"""Delayed labels: predictions wait in bounded, expiring state until their label is known.

Two joins, both on event time so that a replay resolves the same predictions the same way:
- `ChargebackJoin` (fraud): a chargeback names its transaction id; a transaction with no chargeback once the
  input has advanced `horizon` past it learns as legitimate.
- `FailureJoin` (maintenance): a failure of machine m at t makes m's pending windows that ended in [t - H, t]
  positive; a window is negative once the input has advanced H + grace past its end with no such failure
  (the grace covers how late failure reports arrive).

`LabelBuffer` holds labels until the input stream's event time reaches their reported time, so a label
read early (e.g. on a replay of both topics) is applied at the same point of the input as it was live.
"""

from __future__ import annotations

import heapq
import itertools
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Literal

from contracts import Label
from streaming.state.stable import stable

__all__ = ["ChargebackJoin", "FailureJoin", "LabelBuffer", "Prediction", "Resolution"]

Outcome = Literal["joined", "negative_by_horizon"]


@stable("learning.prediction/1")
@dataclass(slots=True)
class Prediction:
    """A scored event waiting for its label: what the models saw and what they said.

    `features` may be a plain tuple of values when the owner knows the names: tens of thousands of
    pending predictions then checkpoint several times faster than as dicts. `scores` holds each model
    role's score, or only `rule` for an event a rule decided. `context` is what the owner needs to learn
    from the label besides the features (the fraud scorer: merchant, category, rule); `alert` is the
    severity of the alert the prediction raised, or empty.
    """

    event_id: str
    entity_id: str
    event_time: float
    features: dict[str, float] | tuple[float, ...]
    scores: dict[str, float] = field(default_factory=dict)
    decision: bool = False
    segment: str = ""
    threshold: float = 0.5
    context: tuple[str, ...] = ()
    alert: str = ""

    def __reduce__(self) -> tuple:
        # Positional arguments pickle several times faster than the default per-instance state dict.
        return (
            Prediction,
            (
                self.event_id,
                self.entity_id,
                self.event_time,
                self.features,
                self.scores,
                self.decision,
                self.segment,
                self.threshold,
                self.context,
                self.alert,
            ),
        )


@stable("learning.resolution/1")
@dataclass(frozen=True, slots=True)
class Resolution:
    """A prediction with its label: `joined` to a label, or `negative_by_horizon`."""

    prediction: Prediction
    label: bool
    outcome: Outcome
    delay_seconds: float


@stable("learning.pending/1")
class _Pending:
    """Predictions by event id in arrival order, at most `limit`; the oldest are evicted first."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.entries: OrderedDict[str, Prediction] = OrderedDict()
        self.evicted = 0

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, prediction: Prediction) -> list[Prediction]:
        # A duplicate (at-least-once redelivery) replaces the earlier entry rather than counting twice.
        self.entries.pop(prediction.event_id, None)
        self.entries[prediction.event_id] = prediction
        evicted = []
        while len(self.entries) > self.limit:
            evicted.append(self.entries.popitem(last=False)[1])
        self.evicted += len(evicted)
        return evicted

    def expire(self, before: float) -> list[Prediction]:
        """Remove and return the predictions older than `before`, from the front (arrival order)."""
        expired = []
        entries = self.entries
        while entries:
            prediction = next(iter(entries.values()))
            if prediction.event_time >= before:
                break
            entries.popitem(last=False)
            expired.append(prediction)
        return expired


@stable("learning.chargeback-join/1")
class ChargebackJoin:
    """Chargebacks to transactions by id; unlabelled transactions become negatives after the horizon.

    >>> from contracts import Label
    >>> join = ChargebackJoin(horizon_seconds=100.0, limit=10)
    >>> _ = join.add(Prediction("t-1", "c-1", 1_000.0, {"amount": 5.0}))
    >>> _ = join.add(Prediction("t-2", "c-1", 1_050.0, {"amount": 9.0}))
    >>> label = Label(kind="chargeback", entity_id="c-1", event_time=1.7e9, reported_time=1.7e9,
    ...               transaction_id="t-2")
    >>> [(r.prediction.event_id, r.label, r.outcome) for r in join.label(label)]
    [('t-2', True, 'joined')]
    >>> [(r.prediction.event_id, r.outcome) for r in join.advance(1_101.0)]
    [('t-1', 'negative_by_horizon')]
    """

    def __init__(self, horizon_seconds: float, limit: int) -> None:
        self.horizon_seconds = horizon_seconds
        self.pending = _Pending(limit)

    def __len__(self) -> int:
        return len(self.pending)

    def add(self, prediction: Prediction) -> list[Prediction]:
        """Store a prediction; returns any evicted (unlabelled, never learned) because the state is full."""
        return self.pending.add(prediction)

    def label(self, label: Label) -> list[Resolution]:
        """The resolution of a chargeback, or an empty list when its transaction is not pending."""
        prediction = self.pending.entries.pop(label.transaction_id or "", None)
        if prediction is None:
            return []
        delay = max(0.0, label.reported_time - prediction.event_time)
        return [Resolution(prediction, True, "joined", delay)]

    def advance(self, watermark: float) -> list[Resolution]:
        """Negatives for the transactions the horizon has passed."""
        return [
            Resolution(prediction, False, "negative_by_horizon", self.horizon_seconds)
            for prediction in self.pending.expire(watermark - self.horizon_seconds)
        ]


@stable("learning.failure-join/1")
class FailureJoin:
    """Failures to the machine's windows in [t - H, t]; windows older than H + grace become negatives.

    >>> from contracts import Label
    >>> join = FailureJoin(horizon_seconds=100.0, grace_seconds=10.0, limit=100)
    >>> for end in (1_000.0, 1_050.0, 1_150.0):
    ...     _ = join.add(Prediction(f"m-1@{end}", "m-1", end, {}))
    >>> failure = Label(kind="machine_failure", entity_id="m-1", event_time=1_140.0, reported_time=1_170.0,
    ...                 failure_mode="power")
    >>> [r.prediction.event_id for r in join.label(failure)]
    ['m-1@1050.0']
    >>> [(r.prediction.event_id, r.outcome) for r in join.advance(1_200.0)], len(join)
    ([('m-1@1000.0', 'negative_by_horizon')], 1)
    """

    def __init__(self, horizon_seconds: float, grace_seconds: float, limit: int) -> None:
        self.horizon_seconds = horizon_seconds
        self.grace_seconds = grace_seconds
        self.pending = _Pending(limit)
        self.by_machine: dict[str, deque[str]] = {}

    def __len__(self) -> int:
        return len(self.pending)

    def add(self, prediction: Prediction) -> list[Prediction]:
        ids = self.by_machine.get(prediction.entity_id)
        if ids is None:
            ids = self.by_machine[prediction.entity_id] = deque()
        ids.append(prediction.event_id)
        evicted = self.pending.add(prediction)
        for old in evicted:
            self._forget(old)
        return evicted

    def label(self, label: Label) -> list[Resolution]:
        """Positives: the machine's pending windows that ended within the horizon before the failure."""
        ids = self.by_machine.get(label.entity_id)
        if not ids:
            return []
        start = label.event_time - self.horizon_seconds
        entries = self.pending.entries
        resolved: list[Resolution] = []
        kept: deque[str] = deque()
        for event_id in ids:
            prediction = entries.get(event_id)
            if prediction is None:
                continue
            if start <= prediction.event_time <= label.event_time:
                del entries[event_id]
                delay = max(0.0, label.reported_time - prediction.event_time)
                resolved.append(Resolution(prediction, True, "joined", delay))
            else:
                kept.append(event_id)
        self._set_machine(label.entity_id, kept)
        return resolved

    def advance(self, watermark: float) -> list[Resolution]:
        expired = self.pending.expire(watermark - self.horizon_seconds - self.grace_seconds)
        for prediction in expired:
            self._forget(prediction)
        return [
            Resolution(prediction, False, "negative_by_horizon", self.horizon_seconds)
            for prediction in expired
        ]

    def _forget(self, prediction: Prediction) -> None:
        ids = self.by_machine.get(prediction.entity_id)
        if ids and ids[0] == prediction.event_id:
            ids.popleft()
        elif ids:
            # Out of arrival order (rare): drop ids no longer pending so the index stays bounded.
            self._set_machine(prediction.entity_id, deque(i for i in ids if i in self.pending.entries))
        if ids is not None and not self.by_machine.get(prediction.entity_id):
            self.by_machine.pop(prediction.entity_id, None)

    def _set_machine(self, machine_id: str, ids: deque[str]) -> None:
        if ids:
            self.by_machine[machine_id] = ids
        else:
            self.by_machine.pop(machine_id, None)


@stable("learning.label-buffer/1")
class LabelBuffer:
    """Labels held until the input's event time reaches their reported time, released in that order.

    >>> from contracts import Label
    >>> buffer = LabelBuffer(limit=10)
    >>> buffer.push(Label(kind="chargeback", entity_id="c", event_time=1.7e9, reported_time=1.7e9 + 60,
    ...                   transaction_id="t-1"))
    >>> buffer.due(1.7e9), [label.transaction_id for label in buffer.due(1.7e9 + 60)]
    ([], ['t-1'])
    """

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self.heap: list[tuple[float, int, Label]] = []
        self._sequence = itertools.count()

    def __len__(self) -> int:
        return len(self.heap)

    def __getstate__(self) -> dict:
        # itertools.count does not pickle by value across versions; keep its position instead.
        return {"limit": self.limit, "heap": self.heap, "next": next(self._sequence)}

    def __setstate__(self, state: dict) -> None:
        self.limit = state["limit"]
        self.heap = state["heap"]
        self._sequence = itertools.count(state["next"])

    def push(self, label: Label) -> None:
        heapq.heappush(self.heap, (label.reported_time, next(self._sequence), label))

    def due(self, watermark: float) -> list[Label]:
        """Labels reported at or before `watermark`, plus the oldest ones beyond `limit`."""
        released = []
        while self.heap and (self.heap[0][0] <= watermark or len(self.heap) > self.limit):
            released.append(heapq.heappop(self.heap)[2])
        return released
