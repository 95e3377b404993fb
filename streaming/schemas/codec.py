"""Encoding and validated decoding of events, with failures classified for the dead-letter topic."""

from __future__ import annotations

import math
import re
from typing import Any, Generic, TypeVar

import msgspec

from streaming.schemas.base import Event
from streaming.schemas.dead_letter import DeadLetterReason

EventT = TypeVar("EventT", bound=Event)

_encoder = msgspec.json.Encoder()
_probe = msgspec.msgpack.Encoder()
#: msgpack writes every float as a float64 (0xcb, then 8 big-endian bytes); NaN and infinity, and only they,
#: have all 11 exponent bits set, so their first two bytes are 7ff./fff. in hex.
_NON_FINITE_FLOAT64 = re.compile(rb"\xcb[\x7f\xff][\xf0-\xff]")


class EventDecodeError(ValueError):
    """A record that is not a valid event. `reason` says which kind of dead letter it becomes."""

    def __init__(self, reason: DeadLetterReason, message: str) -> None:
        super().__init__(message)
        self.reason: DeadLetterReason = reason


def encode(event: msgspec.Struct) -> bytes:
    """Compact JSON. NaN and infinity are refused: JSON has no such numbers, so readers would choke.

    >>> from contracts.label import Label
    >>> encode(Label(kind="chargeback", entity_id="c-1", event_time=1.7e9, reported_time=float("nan"),
    ...     transaction_id="t-1"))
    Traceback (most recent call last):
    ...
    ValueError: Label holds NaN or infinity; refusing to encode it
    """
    data = _encoder.encode(event)
    # msgspec writes non-finite floats as null, which would silently turn a bad value into a missing one.
    # A null is mostly a None, though: the msgpack form tells in C time whether any float is non-finite, and
    # only a hit (or bytes that look like one) walks the event.
    if b"null" in data and _may_hold_non_finite(event) and _has_non_finite(event):
        raise ValueError(f"{type(event).__name__} holds NaN or infinity; refusing to encode it")
    return data


def _may_hold_non_finite(event: msgspec.Struct) -> bool:
    """False only when no float of `event` is NaN or infinite (True may also be bytes that look like one)."""
    try:
        packed = _probe.encode(event)
    except (TypeError, ValueError, OverflowError):
        return True
    return _NON_FINITE_FLOAT64.search(packed) is not None


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, msgspec.Struct):
        return any(_has_non_finite(getattr(value, field)) for field in value.__struct_fields__)
    if isinstance(value, dict):
        return any(_has_non_finite(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_has_non_finite(item) for item in value)
    return False


class Codec(Generic[EventT]):
    """Decodes bytes into one event type, validating types, ranges, versions and size.

    >>> from contracts.label import Label
    >>> codec = Codec(Label)
    >>> label = Label(kind="chargeback", entity_id="c-1", event_time=1.7e9, reported_time=1.7e9,
    ...               transaction_id="t-1")
    >>> codec.decode(codec.encode(label)) == label
    True
    >>> codec.decode(b'{"kind": "chargeback"')  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    streaming.schemas.codec.EventDecodeError: Label: truncated or malformed JSON: ...
    """

    def __init__(self, event_type: type[EventT], max_bytes: int = 1_048_576) -> None:
        self.event_type = event_type
        self.max_bytes = max_bytes
        self._decoder = msgspec.json.Decoder(event_type)

    def encode(self, event: EventT) -> bytes:
        return encode(event)

    def decode(self, data: bytes | None) -> EventT:
        name = self.event_type.__name__
        if data is None:
            raise EventDecodeError("decode_error", f"{name}: empty record (null value)")
        if len(data) > self.max_bytes:
            raise EventDecodeError(
                "oversize", f"{name}: {len(data)} bytes exceeds the limit of {self.max_bytes}"
            )
        try:
            event = self._decoder.decode(data)
        except msgspec.ValidationError as error:
            message = str(error)
            if "schema_version" in message and "Expected" not in message:
                # A version of the right type that this release does not know; a wrongly typed one
                # (`"1"`) is just invalid.
                raise EventDecodeError("unknown_version", f"{name}: {message}") from error
            raise EventDecodeError("validation_error", f"{name}: {message}") from error
        except msgspec.DecodeError as error:
            raise EventDecodeError("decode_error", f"{name}: truncated or malformed JSON: {error}") from error
        except RecursionError as error:
            # A value nested thousands of levels deep: no event is, and it must not take the service down.
            raise EventDecodeError("decode_error", f"{name}: JSON nested too deeply to decode") from error
        if event.schema_version not in event.SUPPORTED_VERSIONS:
            supported = sorted(event.SUPPORTED_VERSIONS)
            raise EventDecodeError(
                "unknown_version", f"{name}: schema_version {event.schema_version} is not one of {supported}"
            )
        return event
