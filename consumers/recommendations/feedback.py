"""Feedback from the storefront: the request body, the shop events it becomes, and the bounded buffer that
carries them to Kafka.

The API answers a feedback request as soon as its events are in the buffer (202). A sender thread delivers
the buffer to `shop-events` in batches; while Kafka is unreachable the buffer fills, and once it is full
new feedback is refused with 503 instead of being dropped unseen. Delivery is at least once: a batch whose
acknowledgement timed out is sent again, and `event_id` lets readers drop the duplicates.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from itertools import islice
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from consumers.recommendations.serving_metrics import ServingMetrics
from contracts.shop import ShopEvent
from streaming.schemas import encode

log = logging.getLogger(__name__)

FeedbackKind = Literal["impression", "click", "purchase"]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128)]
RecommendationId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class FeedbackRequest(BaseModel):
    """The body of `POST /feedback`.

    An impression names the list shown (`recommendation_id`) and the items in it, in order; a click names
    the list and the item clicked; a purchase names the item bought, and the list when it came from one.

    >>> FeedbackRequest(kind="click", customer_id="c-1", recommendation_id="r-1", item_id="p-2").kind
    'click'
    >>> FeedbackRequest(kind="click", customer_id="c-1", item_id="p-2")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for FeedbackRequest
    ...
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FeedbackKind
    customer_id: Identifier
    recommendation_id: RecommendationId | None = None
    item_id: Identifier | None = None
    item_ids: list[Identifier] = Field(default_factory=list, max_length=1000)
    list_kind: Literal["customer", "similar"] = "customer"
    position: int | None = Field(default=None, ge=0, le=1000)
    session_id: Annotated[str, StringConstraints(max_length=128)] = ""
    feedback_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    event_time: float | None = Field(default=None, ge=946_684_800.0, le=4_102_444_800.0)

    @model_validator(mode="after")
    def _fields_of_the_kind(self) -> FeedbackRequest:
        if self.kind == "impression":
            if not self.item_ids:
                raise ValueError("an impression lists the items shown in item_ids")
            if self.item_id is not None:
                raise ValueError("an impression lists its items in item_ids, not item_id")
        else:
            if self.item_id is None:
                raise ValueError(f"a {self.kind} names its item in item_id")
            if self.item_ids:
                raise ValueError(f"a {self.kind} names one item in item_id, not item_ids")
        if self.kind in ("impression", "click") and self.recommendation_id is None:
            raise ValueError(f"a {self.kind} names the list it happened on in recommendation_id")
        return self


def feedback_events(request: FeedbackRequest, now: float) -> list[ShopEvent]:
    """The shop events of one feedback request: one per item shown for an impression, else one.

    >>> request = FeedbackRequest(kind="impression", customer_id="c-1", recommendation_id="r-1",
    ...                           item_ids=["p-1", "p-2"], feedback_id="f-1")
    >>> [(event.event_id, event.product_id, event.position) for event in feedback_events(request, 1.7e9)]
    [('f-1-0', 'p-1', 0), ('f-1-1', 'p-2', 1)]
    """
    feedback_id = request.feedback_id or uuid.uuid4().hex
    event_time = request.event_time if request.event_time is not None else now
    placed: list[tuple[int | None, str]]
    if request.kind == "impression":
        placed = list(enumerate(request.item_ids))
    else:
        placed = [(request.position, request.item_id or "")]
    return [
        ShopEvent(
            event_id=f"{feedback_id}-{index}",
            event_type=request.kind,
            customer_id=request.customer_id,
            product_id=item_id,
            event_time=event_time,
            session_id=request.session_id,
            recommendation_id=request.recommendation_id or None,
            position=position,
            list_kind=request.list_kind or None,
            source="storefront",
        )
        for index, (position, item_id) in enumerate(placed)
    ]


def encode_events(events: Sequence[ShopEvent]) -> list[tuple[bytes, bytes]]:
    """(key, value) records: keyed by customer, like every shop event."""
    return [(event.entity_key().encode(), encode(event)) for event in events]


class RecordProducer(Protocol):
    """The part of a Kafka producer the sink uses (`streaming.kafka.make_producer` returns one)."""

    def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> Any: ...

    def flush(self, timeout: float | None = None) -> None: ...

    def close(self, timeout: float | None = None) -> None: ...


class FeedbackSink:
    """A bounded buffer of feedback records and the thread that delivers it to Kafka.

    Parameters
    ----------
    producer_factory
        Makes a producer; called again after a failure (Kafka down at start, or gone since).
    topic
        Where the records go (`shop-events`).
    max_buffered_events
        The bound: `offer` refuses a request whose events do not all fit.
    send_timeout_seconds
        How long one batch may take to be acknowledged before it is kept for another try.
    retry_seconds
        Pause after a failure before the next try.
    metrics
        Sent, failed and buffered counts; None records nothing.
    batch_size
        Records per send-and-flush round.

    >>> sink = FeedbackSink(lambda: None, "shop-events", max_buffered_events=2)  # not started: nothing sent
    >>> sink.offer([(b"c-1", b"{}")]), sink.offer([(b"c-1", b"{}"), (b"c-1", b"{}")]), sink.buffered
    (True, False, 1)
    """

    def __init__(
        self,
        producer_factory: Callable[[], RecordProducer | None],
        topic: str,
        max_buffered_events: int = 10_000,
        send_timeout_seconds: float = 10.0,
        retry_seconds: float = 1.0,
        metrics: ServingMetrics | None = None,
        batch_size: int = 500,
    ) -> None:
        self.producer_factory = producer_factory
        self.topic = topic
        self.max_buffered_events = max_buffered_events
        self.send_timeout_seconds = send_timeout_seconds
        self.retry_seconds = retry_seconds
        self.metrics = metrics
        self.batch_size = batch_size
        self.connected = False
        self.last_error = ""
        self._queue: deque[tuple[bytes, bytes]] = deque()
        self._condition = threading.Condition()
        self._stopping = threading.Event()
        self._producer: RecordProducer | None = None
        self._thread = threading.Thread(target=self._run, name="recs-feedback-sender", daemon=True)

    @property
    def buffered(self) -> int:
        return len(self._queue)

    def offer(self, records: Sequence[tuple[bytes, bytes]]) -> bool:
        """Buffer all of `records`, or none of them when they do not fit. Returns whether they were taken."""
        with self._condition:
            if len(self._queue) + len(records) > self.max_buffered_events:
                return False
            self._queue.extend(records)
            self._export_buffered()
            self._condition.notify()
        return True

    def start(self) -> None:
        self._thread.start()

    def wait_until_empty(self, timeout_seconds: float) -> bool:
        """For tests and shutdown: wait until everything buffered was acknowledged."""
        deadline = time.monotonic() + timeout_seconds
        with self._condition:
            while self._queue and time.monotonic() < deadline:
                self._condition.wait(min(0.1, max(0.0, deadline - time.monotonic())))
            return not self._queue

    def close(self, timeout_seconds: float = 5.0) -> int:
        """Try to deliver what is buffered within the timeout, stop, and return how many were left."""
        if self._thread.is_alive():
            self.wait_until_empty(timeout_seconds)
            self._stopping.set()
            with self._condition:
                self._condition.notify_all()
            self._thread.join(timeout_seconds + self.send_timeout_seconds)
        self._discard_producer()
        left = len(self._queue)
        if left:
            log.warning("feedback: %d events were not delivered to %s before shutdown", left, self.topic)
        return left

    def _run(self) -> None:
        while not self._stopping.is_set():
            with self._condition:
                while not self._queue and not self._stopping.is_set():
                    self._condition.wait(0.5)
                if self._stopping.is_set():
                    return
                batch = list(islice(self._queue, self.batch_size))
            producer = self._ensure_producer()
            if producer is None:
                self._stopping.wait(self.retry_seconds)
                continue
            failed = self._send(producer, batch)
            with self._condition:
                for _ in batch:
                    self._queue.popleft()
                # Failed records go back in front, in their order, so per-customer order mostly holds.
                self._queue.extendleft(reversed(failed))
                self._export_buffered()
                self._condition.notify_all()
            if self.metrics is not None:
                self.metrics.feedback_sent.labels(self.metrics.service).inc(len(batch) - len(failed))
            if failed:
                if self.metrics is not None:
                    self.metrics.feedback_send_failures.labels(self.metrics.service).inc()
                self._discard_producer()
                self._stopping.wait(self.retry_seconds)

    def _ensure_producer(self) -> RecordProducer | None:
        if self._producer is None:
            try:
                self._producer = self.producer_factory()
            except Exception as error:  # kafka-python raises its own errors here; the sink retries them all
                self._note_failure(f"cannot connect to Kafka: {error}")
                return None
            self.connected = self._producer is not None
        return self._producer

    def _send(self, producer: RecordProducer, batch: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """Send and flush one batch; returns the records that were not acknowledged."""
        futures: list[Any] = []
        try:
            for key, value in batch:
                futures.append(producer.send(self.topic, value=value, key=key))
            producer.flush(timeout=self.send_timeout_seconds)
        except Exception as error:
            self._note_failure(f"sending feedback failed: {error}")
        failed = [
            record
            for index, record in enumerate(batch)
            if index >= len(futures) or not futures[index].is_done or futures[index].failed()
        ]
        if failed and len(failed) == len(batch):
            self._note_failure(f"{len(failed)} feedback events not acknowledged within the timeout")
        return failed

    def _note_failure(self, message: str) -> None:
        if message != self.last_error:
            log.warning("feedback: %s", message)
        self.last_error = message
        self.connected = False

    def _discard_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=1.0)
            except Exception as error:
                log.debug("closing the feedback producer: %s", error)

    def _export_buffered(self) -> None:
        if self.metrics is not None:
            self.metrics.feedback_buffered.labels(self.metrics.service).set(len(self._queue))
