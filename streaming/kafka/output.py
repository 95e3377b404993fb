"""The producer a service writes its outputs with: plain (idempotent) or transactional."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from streaming.config import Settings
from streaming.kafka.clients import make_producer
from streaming.kafka.structs import TopicPartition, offsets_metadata

log = logging.getLogger(__name__)


class OutputProducer:
    """An idempotent producer; with `transactional_id`, a transactional one (KIP-98/447).

    Parameters
    ----------
    settings, bootstrap
        Where the cluster is and how to talk to it.
    role
        Part of the client id.
    transactional_id
        Set for exactly-once: the producer fences earlier incarnations with the same id at start, which
        aborts whatever transaction they left open.

    A send that fails after all its retries is not lost in a callback: `failure()` reports it until the
    next `mark()` (or the next transaction), and the caller refuses to commit past it. After any failure,
    `renew()` replaces the client: kafka-python may keep records of a failed transaction queued, and would
    otherwise write them into the next one.
    """

    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        role: str,
        transactional_id: str | None = None,
        **overrides: Any,
    ) -> None:
        self.transactional = transactional_id is not None
        self.timeout_seconds = settings.processing.commit_timeout_seconds
        options: dict[str, Any] = {"linger_ms": 1, **overrides}
        if transactional_id is not None:
            options.setdefault("transaction_timeout_ms", 30_000)
        self._build_arguments = (settings, bootstrap, role, transactional_id, options)
        self._send_error: BaseException | None = None
        self._epoch: tuple[int, int] | None = None
        self._producer: KafkaProducer = self._build()
        self.renewals = 0

    def _build(self) -> KafkaProducer:
        settings, bootstrap, role, transactional_id, options = self._build_arguments
        producer = make_producer(settings, bootstrap, role=role, transactional_id=transactional_id, **options)
        if transactional_id is not None:
            try:
                producer.init_transactions()
            except BaseException:
                with contextlib.suppress(Exception):
                    producer.close(timeout=0)
                raise
        return producer

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        timestamp_ms: int | None = None,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any:
        future = self._producer.send(
            topic, key=key, value=value, timestamp_ms=timestamp_ms, partition=partition, headers=headers
        )
        future.add_errback(self._record_send_error, self.renewals)
        return future

    def _record_send_error(self, generation: int, error: BaseException) -> None:
        # Runs on the producer's I/O thread; the first error is the one worth reporting. Records the old
        # client fails while it is thrown away belong to no one any more.
        if self._send_error is None and generation == self.renewals:
            self._send_error = error

    def failure(self) -> str | None:
        """Why what was sent since the last `mark()` (or in the open transaction) cannot be trusted, or None.

        Besides failed sends, a transactional producer can lose its transaction without a word to the
        application: kafka-python bumps the producer epoch after some broker errors
        (InvalidProducerEpoch, UnknownProducerId), which makes the broker abort the open transaction.
        """
        error = self._send_error
        if error is not None:
            return f"a send failed: {type(error).__name__}: {error}"
        manager = getattr(self._producer, "_transaction_manager", None)
        if manager is None:
            return None
        if manager.has_error():
            return f"the producer is in an error state: {manager.last_error}"
        if self._epoch is not None and self._current_epoch() != self._epoch:
            return "the producer's epoch was bumped, so the broker aborted the open transaction"
        return None

    def mark(self) -> None:
        """What was sent so far is accounted for (flushed and checked)."""
        self._send_error = None

    def _current_epoch(self) -> tuple[int, int] | None:
        manager = getattr(self._producer, "_transaction_manager", None)
        identity = getattr(manager, "producer_id_and_epoch", None)
        return None if identity is None else (identity.producer_id, identity.epoch)

    def renew(self) -> None:
        """Replace the client by a fresh one (same transactional id, which fences the old one and aborts
        what it left open); queued records of the old one are dropped. Raises a Kafka error while the
        cluster cannot be reached; the caller retries."""
        old = self._producer
        self.renewals += 1
        # Force-close first: a plain close() flushes, and would wait on (or raise over) what is stuck.
        with contextlib.suppress(Exception):
            old._sender.force_close()
            old._sender.join(5.0)
        with contextlib.suppress(Exception):
            old.close(timeout=0)
        self._send_error = None
        self._epoch = None
        self._producer = self._build()
        log.info("producer renewed after a failure (%d so far)", self.renewals)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every record sent is acknowledged or failed; KafkaTimeoutError past the timeout
        (`processing.commit_timeout_seconds` by default)."""
        self._producer.flush(timeout=self.timeout_seconds if timeout is None else timeout)

    def begin_transaction(self) -> None:
        self._send_error = None
        self._producer.begin_transaction()
        self._epoch = self._current_epoch()

    # kafka-python's transactional calls wait without a limit; across a broker crash they can wait forever
    # (seen: a commit blocked for minutes after the broker came back). The same calls, bounded.

    def send_offsets_to_transaction(self, offsets: dict[TopicPartition, int], group_metadata: Any) -> None:
        manager = self._manager()
        self._await(
            manager.send_offsets_to_transaction(offsets_metadata(offsets), group_metadata), "sending offsets"
        )

    def commit_transaction(self) -> None:
        self._await(self._manager().begin_commit(), "committing the transaction")

    def abort_transaction(self) -> None:
        self._await(self._manager().begin_abort(), "aborting the transaction")

    def _manager(self) -> Any:
        manager = getattr(self._producer, "_transaction_manager", None)
        if manager is None:
            raise KafkaError("transactional call on a producer without a transactional id")
        return manager

    def _await(self, result: Any, what: str) -> None:
        self._producer._sender.wakeup()
        if not result.wait(timeout_ms=self.timeout_seconds * 1000):
            raise KafkaTimeoutError(f"{what} took over {self.timeout_seconds:g} s")

    def close(self, timeout: float = 10.0) -> None:
        self._producer.close(timeout=timeout)
