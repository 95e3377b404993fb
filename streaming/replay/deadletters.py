"""Bad rows of a replayed file as dead letters (schema `streaming.schemas.DeadLetter`)."""

from __future__ import annotations

import time
import typing

from streaming.replay.mapping import BadRow
from streaming.schemas import DeadLetter, DeadLetterReason, encode

_DEAD_LETTER_REASONS = frozenset(typing.get_args(DeadLetterReason))


def dead_letter_for(row: BadRow, source: str) -> DeadLetter:
    """A row-level problem becomes a `validation_error` dead letter; a recorded value keeps its decode reason.

    >>> letter = dead_letter_for(BadRow(7, "unparsable_time", "row 7: t unparsable", b"{}"), "file:x.csv")
    >>> letter.reason, letter.error_class, letter.offset
    ('validation_error', 'unparsable_time', 7)
    """
    reason = row.reason if row.reason in _DEAD_LETTER_REASONS else "validation_error"
    return DeadLetter(
        reason=reason,  # type: ignore[arg-type]
        error_class=row.reason,
        error_message=row.message,
        source_topic=source,
        partition=-1,
        offset=row.row,
        original_value=row.original,
        original_key=row.key,
        original_timestamp_ms=row.timestamp_ms,
        failed_at=time.time(),
    )


def encode_dead_letter(row: BadRow, source: str) -> bytes:
    return encode(dead_letter_for(row, source))
