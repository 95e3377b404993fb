"""Rows of a file into Kafka records: mapped onto an event schema, or passed through as JSON.

A row that cannot become a record (a required field missing or NaN, an unparsable timestamp, a value out
of range or of the wrong type) becomes a `BadRow` with the reason; it is never skipped silently.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
import numpy as np
import orjson
import pandas as pd

from streaming.schemas import (
    Codec,
    EventDecodeError,
    Label,
    SensorReading,
    SensorReadingBatch,
    Transaction,
    encode,
)

Schema = Literal["sensor", "transaction", "label", "raw"]
SCHEMAS: tuple[str, ...] = ("sensor", "transaction", "label", "raw")
#: Columns of a file written by `streaming record`.
RECORDED_COLUMNS = frozenset({"timestamp_ms", "key", "value"})

_EVENT_TYPES: dict[str, type[msgspec.Struct]] = {
    "sensor": SensorReading,
    "transaction": Transaction,
    "label": Label,
}
_WIRE_TYPES: dict[str, Any] = {"sensor": SensorReadingBatch, "transaction": Transaction, "label": Label}
_DEFAULT_KEYS = {"sensor": "machine_id", "transaction": "card_id", "label": "entity_id"}
#: Numbers above this are epoch milliseconds, not seconds (1e11 s is the year 5138).
_MILLISECONDS_ABOVE = 1e11


@dataclass(slots=True)
class MappedRecord:
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None
    event_time: float | None  # what pacing follows
    row: int
    events: int = 1


@dataclass(slots=True)
class BadRow:
    row: int
    reason: str  # missing_field | unparsable_time | invalid_value, or a decode reason of a recorded value
    message: str
    original: bytes | None
    key: bytes | None = None
    timestamp_ms: int | None = None


def parse_times(values: pd.Series) -> np.ndarray:
    """Epoch seconds from numbers (seconds, or milliseconds when large) or ISO-8601 strings; NaN if neither.

    >>> parse_times(pd.Series([1.7e9, 1.7e12, "2023-11-14T22:13:20Z", "soon", None])).tolist()
    [1700000000.0, 1700000000.0, 1700000000.0, nan, nan]
    """
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    numbers = np.where(numbers > _MILLISECONDS_ABOVE, numbers / 1000.0, numbers)
    text = values.where(np.isnan(numbers) & values.notna())
    if text.notna().any():
        parsed = pd.to_datetime(text.astype("string"), utc=True, errors="coerce", format="ISO8601")
        seconds = (
            (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=float, na_value=np.nan)
        )
        numbers = np.where(np.isnan(numbers), seconds, numbers)
    return numbers


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _jsonable(row: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {name: None if _missing(value) else value for name, value in row.items()},
        option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
        default=str,
    )


def _string_fields(event_type: type[msgspec.Struct]) -> set[str]:
    info = msgspec.inspect.type_info(event_type)
    return {field.name for field in info.fields if isinstance(field.type, msgspec.inspect.StrType)}  # type: ignore[attr-defined]


class RowMapper:
    """Turns DataFrame chunks into records, in file order.

    >>> mapper = RowMapper("raw", time_column="t", key_column="k")
    >>> records, bad = mapper.map_frame(pd.DataFrame({"k": ["a", "b"], "t": [1.7e9, "never"], "x": [1, 2]}))
    >>> records[0].key, records[0].value, records[0].timestamp_ms, [row.reason for row in bad]
    (b'a', b'{"k":"a","t":1700000000.0,"x":1}', 1700000000000, ['unparsable_time'])
    """

    def __init__(
        self,
        schema: str = "raw",
        time_column: str | None = None,
        key_column: str | None = None,
        mapping: dict[str, str] | None = None,
        readings_per_record: int = 10,
    ) -> None:
        if schema not in SCHEMAS:
            raise ValueError(f"unknown schema {schema!r}: use one of {', '.join(SCHEMAS)}")
        self.schema = schema
        self.time_column = time_column
        self.key_column = key_column
        self.mapping = dict(mapping or {})
        self.readings_per_record = readings_per_record
        self.recorded: bool | None = None
        if schema != "raw":
            self._event_type = _EVENT_TYPES[schema]
            info = msgspec.inspect.type_info(self._event_type)
            self._fields = [field.name for field in info.fields]  # type: ignore[attr-defined]
            self._required = {field.name for field in info.fields if field.required}  # type: ignore[attr-defined]
            self._strings = _string_fields(self._event_type)
            self._codec = Codec(_WIRE_TYPES[schema])

    def map_frame(self, frame: pd.DataFrame, first_row: int = 0) -> tuple[list[MappedRecord], list[BadRow]]:
        if self.recorded is None:
            self.recorded = set(frame.columns) >= RECORDED_COLUMNS and not self.mapping
        if self.mapping:
            frame = frame.rename(columns=self.mapping)
        if self.recorded:
            return self._recorded(frame, first_row)
        time_column = self.time_column
        if time_column is None and self.schema != "raw" and "event_time" in frame.columns:
            time_column = "event_time"
        if time_column is not None and time_column not in frame.columns:
            frame = frame.assign(**{time_column: None})
        times = parse_times(frame[time_column]) if time_column is not None else None
        key_column = self.key_column or _DEFAULT_KEYS.get(self.schema)
        rows: list[dict[str, Any]] = frame.to_dict("records")  # type: ignore[assignment]
        records: list[MappedRecord] = []
        bad: list[BadRow] = []
        pending: dict[str, list[tuple[int, SensorReading]]] = {}
        for index, row in enumerate(rows):
            number = first_row + index
            key_value = row.get(key_column) if key_column else None
            key = None if key_column is None or _missing(key_value) else str(key_value).encode()
            event_time = None
            if times is not None:
                event_time = float(times[index])
                if math.isnan(event_time):
                    raw = row.get(time_column or "")
                    why = "missing" if _missing(raw) else f"unparsable: {raw!r}"
                    bad.append(
                        BadRow(
                            number,
                            "unparsable_time",
                            f"row {number}: {time_column} {why}",
                            _jsonable(row),
                            key,
                        )
                    )
                    continue
                if self.schema != "raw":
                    row["event_time"] = event_time
            timestamp_ms = None if event_time is None else round(event_time * 1000)
            if self.schema == "raw":
                if key_column is not None and key is None:
                    bad.append(
                        BadRow(
                            number,
                            "missing_field",
                            f"row {number}: key column {key_column} is empty",
                            _jsonable(row),
                            None,
                            timestamp_ms,
                        )
                    )
                    continue
                records.append(MappedRecord(key, _jsonable(row), timestamp_ms, event_time, number))
                continue
            event = self._event(row, number, key, timestamp_ms, bad)
            if event is None:
                continue
            if isinstance(event, SensorReading):
                group = pending.setdefault(event.machine_id, [])
                group.append((number, event))
                if len(group) >= self.readings_per_record:
                    records.append(self._batch(pending.pop(event.machine_id)))
                continue
            records.append(
                MappedRecord(
                    event.entity_key().encode(),  # type: ignore[attr-defined]
                    encode(event),
                    timestamp_ms,
                    event_time,
                    number,
                )
            )
        # Readings of a machine never span chunks: each chunk ends with its partial batches.
        for group in sorted(pending.values(), key=lambda items: items[0][0]):
            records.append(self._batch(group))
        return records, bad

    def _event(
        self, row: dict[str, Any], number: int, key: bytes | None, timestamp_ms: int | None, bad: list[BadRow]
    ) -> msgspec.Struct | None:
        document: dict[str, Any] = {}
        missing: list[str] = []
        for name in self._fields:
            value = row.get(name)
            if _missing(value):
                if name in self._required:
                    missing.append(name)
                continue
            if name in self._strings and not isinstance(value, str):
                value = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
            elif isinstance(value, np.generic):
                value = value.item()
            document[name] = value
        if missing:
            bad.append(
                BadRow(
                    number,
                    "missing_field",
                    f"row {number}: missing or NaN: {', '.join(missing)}",
                    _jsonable(row),
                    key,
                    timestamp_ms,
                )
            )
            return None
        try:
            return msgspec.convert(document, self._event_type)
        except (msgspec.ValidationError, ValueError) as error:
            bad.append(
                BadRow(number, "invalid_value", f"row {number}: {error}", _jsonable(row), key, timestamp_ms)
            )
            return None

    def _batch(self, group: list[tuple[int, SensorReading]]) -> MappedRecord:
        readings = [reading for _number, reading in group]
        batch = SensorReadingBatch.from_readings(readings)
        first, last = batch.event_time[0], batch.event_time[-1]
        return MappedRecord(
            batch.machine_id.encode(),
            encode(batch),
            round(first * 1000),
            last,
            group[0][0],
            len(readings),
        )

    def _recorded(self, frame: pd.DataFrame, first_row: int) -> tuple[list[MappedRecord], list[BadRow]]:
        """A file from `streaming record`: the original bytes go back as they were."""
        records: list[MappedRecord] = []
        bad: list[BadRow] = []
        times = parse_times(frame[self.time_column or "timestamp_ms"])
        encodings = frame["value_encoding"] if "value_encoding" in frame.columns else None
        for index, (key, value) in enumerate(
            zip(frame["key"].tolist(), frame["value"].tolist(), strict=True)
        ):
            number = first_row + index
            key_bytes = None if _missing(key) else str(key).encode()
            encoding = "utf-8" if encodings is None else encodings.iat[index]
            data = (
                None
                if _missing(value)
                else (base64.b64decode(value) if encoding == "base64" else str(value).encode())
            )
            event_time = float(times[index])
            if math.isnan(event_time):
                bad.append(
                    BadRow(number, "unparsable_time", f"row {number}: no usable timestamp", data, key_bytes)
                )
                continue
            timestamp_ms = round(event_time * 1000)
            if self.schema != "raw":
                try:
                    self._codec.decode(data)
                except EventDecodeError as error:
                    bad.append(
                        BadRow(number, error.reason, f"row {number}: {error}", data, key_bytes, timestamp_ms)
                    )
                    continue
            records.append(MappedRecord(key_bytes, data, timestamp_ms, event_time, number))
        return records, bad
