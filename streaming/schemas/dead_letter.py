"""Dead letters: records that could not be decoded, validated or processed, kept with the reason."""

from __future__ import annotations

from typing import Literal

import msgspec

DeadLetterReason = Literal[
    "decode_error",
    "validation_error",
    "unknown_version",
    "oversize",
    "processing_error",
    "timestamp_out_of_bounds",
    "delivery_failed",
]


class DeadLetter(msgspec.Struct, kw_only=True, frozen=True):
    """The original record, untouched, with where it came from and why it failed.

    >>> DeadLetter(reason="decode_error", error_class="DecodeError", error_message="truncated",
    ...     source_topic="t", partition=0, offset=5, original_value=b"{", original_key=b"m-1",
    ...     failed_at=1.7e9).reason
    'decode_error'
    """

    schema_version: int = 1
    reason: DeadLetterReason
    error_class: str
    error_message: str
    source_topic: str
    partition: int
    offset: int
    original_value: bytes | None
    original_key: bytes | None
    original_timestamp_ms: int | None = None
    original_size_bytes: int = 0
    original_value_truncated: bool = False
    consumer_group: str | None = None
    failed_at: float
