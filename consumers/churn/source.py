"""The weekly job's Extract from Kafka: the week's transactions by event time, in chunks.

Kafka's time index finds the first record stamped in the week (producers stamp records with event time);
the scan goes on to the allowed lateness past the week's end, so late arrivals of the week are included,
and keeps only the records stamped inside the week. Memory stays bounded by the chunk size.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator

import pandas as pd

from consumers.churn.summaries import transactions_frame
from consumers.churn.weeks import IsoWeek
from contracts import Transaction
from streaming.config import Settings
from streaming.kafka import TimeRangeBatches
from streaming.schemas import Codec, EventDecodeError

log = logging.getLogger(__name__)


class TopicWeekSource:
    """A `TransactionSource` reading one ISO week of the transactions topic.

    Parameters
    ----------
    settings, bootstrap
        Where the cluster is; the topic is `settings.topic_name("transactions")`.
    week
        The week to read.
    allowed_lateness_seconds
        How long after the week's end its late transactions may still arrive.
    partitions
        Only these partitions (one worker's share of a partition-parallel run); default all.
    chunk_rows
        Transactions per chunk.

    After `chunks()` is exhausted: `raw_bytes` (the record values read) and `skipped` (undecodable records
    by reason, which the job reports; they are the producers' dead letters to chase, not data).
    """

    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        week: IsoWeek,
        allowed_lateness_seconds: float,
        partitions: Iterable[int] | None = None,
        chunk_rows: int = 500_000,
    ) -> None:
        self.reader = TimeRangeBatches(
            settings,
            bootstrap,
            settings.topic_name("transactions"),
            start_ms=int(week.start_seconds * 1000),
            end_ms=int(week.end_seconds * 1000),
            scan_until_ms=int((week.end_seconds + allowed_lateness_seconds) * 1000),
            partitions=None if partitions is None else list(partitions),
            batch_size=min(chunk_rows, 100_000),
        )
        self.codec = Codec(Transaction, settings.topics.max_message_bytes)
        self.chunk_rows = chunk_rows
        self.skipped: Counter[str] = Counter()

    @property
    def raw_bytes(self) -> int | None:
        return self.reader.bytes_read

    def chunks(self) -> Iterator[pd.DataFrame]:
        pending: list[Transaction] = []
        for batch in self.reader:
            for value, _timestamp in batch:
                try:
                    pending.append(self.codec.decode(value))
                except EventDecodeError as error:
                    self.skipped[error.reason] += 1
            if len(pending) >= self.chunk_rows:
                yield transactions_frame(pending)
                pending = []
        if pending:
            yield transactions_frame(pending)
        if self.skipped:
            log.warning("skipped undecodable transaction records: %s", dict(self.skipped))
