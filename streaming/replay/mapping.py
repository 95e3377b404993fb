"""Rows of a file into Kafka records: mapped onto an event schema, or passed through as JSON.

A row that cannot become a record (a required field missing or NaN, an unparsable timestamp, a value out
of range or of the wrong type) becomes a `BadRow` with the reason; it is never skipped silently.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
import orjson
import pandas as pd

from streaming.schemas import Codec, EventDecodeError, encode
from streaming.services import ReplaySchema, registry
from streaming.timeparse import epoch_seconds

#: Columns of a file written by `streaming record`.
RECORDED_COLUMNS = frozenset({"timestamp_ms", "key", "value"})


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


def schema_names() -> list[str]:
    """`raw`, and every schema a registered service declares."""
    return ["raw", *sorted(registry().replay_schemas())]


def parse_times(values: pd.Series) -> np.ndarray:
    """Epoch seconds from numbers (seconds, or milliseconds when large), datetimes or ISO-8601 strings; NaN
    if neither (`streaming.timeparse.epoch_seconds`, the parser every file reader shares).

    >>> parse_times(pd.Series([1.7e9, 1.7e12, "2023-11-14T22:13:20Z", "soon", None])).tolist()
    [1700000000.0, 1700000000.0, 1700000000.0, nan, nan]
    """
    return epoch_seconds(values)


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


def _as_string(value: Any) -> Any:
    """An id or code read as a number (`123`, `123.0`) back to the text it was in the file."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, np.generic):
        return _as_string(value.item())
    return str(value)


def _python_values(series: pd.Series, as_string: bool) -> list[Any]:
    """A column as Python values (msgspec validates Python types), strings where the schema wants them.

    >>> _python_values(pd.Series([7, 8]), as_string=True), _python_values(pd.Series([1.5, 2.0]), False)
    (['7', '8'], [1.5, 2.0])
    """
    if not as_string:
        return series.tolist()
    if pd.api.types.is_integer_dtype(series.dtype):
        return series.astype(str).tolist()
    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(series.dtype):
        return series.tolist()
    return [_as_string(value) for value in series.tolist()]


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
        group_size: int | None = None,
    ) -> None:
        schemas = registry().replay_schemas()
        if schema != "raw" and schema not in schemas:
            raise ValueError(f"unknown schema {schema!r}: use one of {', '.join(schema_names())}")
        self.schema = schema
        self.time_column = time_column
        self.key_column = key_column
        self.mapping = dict(mapping or {})
        self.recorded: bool | None = None
        self.spec: ReplaySchema | None = None
        if schema != "raw":
            self.spec = spec = schemas[schema]
            self.group_size = group_size or spec.group_size
            self._event_type = spec.row_type
            info = msgspec.inspect.type_info(self._event_type)
            self._fields = [field.name for field in info.fields]  # type: ignore[attr-defined]
            self._required = {field.name for field in info.fields if field.required}  # type: ignore[attr-defined]
            self._strings = _string_fields(self._event_type)
            self._codec: Codec[Any] = Codec(spec.wire)

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
        key_column = self.key_column or (self.spec.key_column if self.spec is not None else None)
        if self.spec is None:
            return self._raw(frame, first_row, times, time_column, key_column)
        return self._events(frame, first_row, times, time_column, key_column)

    def _raw(
        self,
        frame: pd.DataFrame,
        first_row: int,
        times: np.ndarray | None,
        time_column: str | None,
        key_column: str | None,
    ) -> tuple[list[MappedRecord], list[BadRow]]:
        rows: list[dict[str, Any]] = frame.to_dict("records")  # type: ignore[assignment]
        records: list[MappedRecord] = []
        bad: list[BadRow] = []
        for index, row in enumerate(rows):
            number = first_row + index
            key_value = row.get(key_column) if key_column else None
            key = None if key_column is None or _missing(key_value) else str(key_value).encode()
            event_time = None
            if times is not None:
                event_time = float(times[index])
                if math.isnan(event_time):
                    bad.append(self._bad_time(row, number, time_column, key))
                    continue
            timestamp_ms = None if event_time is None else round(event_time * 1000)
            if key_column is not None and key is None:
                message = f"row {number}: key column {key_column} is empty"
                bad.append(BadRow(number, "missing_field", message, _jsonable(row), None, timestamp_ms))
                continue
            records.append(MappedRecord(key, _jsonable(row), timestamp_ms, event_time, number))
        return records, bad

    def _events(
        self,
        frame: pd.DataFrame,
        first_row: int,
        times: np.ndarray | None,
        time_column: str | None,
        key_column: str | None,
    ) -> tuple[list[MappedRecord], list[BadRow]]:
        """Rows onto the schema, column by column: missing values, string coercion and Python values are
        worked out per column with pandas; only msgspec's validation and the encoding run per row.
        Rows with anything missing take the row-by-row path, which says exactly what is wrong."""
        size = len(frame)
        names: list[str] = []
        columns: list[list[Any]] = []
        incomplete = np.zeros(size, dtype=bool)
        for name in self._fields:
            if name == "event_time" and times is not None:
                values: list[Any] = times.tolist()
                missing = np.isnan(times)
            elif name in frame.columns:
                series = frame[name]
                missing = series.isna().to_numpy(dtype=bool)
                values = _python_values(series, name in self._strings)
            else:
                if name in self._required:
                    incomplete[:] = True
                continue  # an optional field the file does not have: the schema's default
            names.append(name)
            columns.append(values)
            incomplete |= missing
        documents = [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]
        slow = np.flatnonzero(incomplete)
        slow_rows: dict[int, dict[str, Any]] = dict(
            zip(slow.tolist(), frame.iloc[slow].to_dict("records"), strict=True)  # type: ignore[arg-type]
        )
        convert = msgspec.convert
        event_type = self._event_type
        records: list[MappedRecord] = []
        bad: list[BadRow] = []
        spec = self.spec
        assert spec is not None
        pending: dict[str, list[tuple[int, Any]]] = {}
        for index in range(size):
            number = first_row + index
            row = slow_rows.get(index)
            event_time = None if times is None else float(times[index])
            if row is not None:
                key_value = row.get(key_column) if key_column else None
                key = None if key_column is None or _missing(key_value) else str(key_value).encode()
                if event_time is not None:
                    if math.isnan(event_time):
                        bad.append(self._bad_time(row, number, time_column, key))
                        continue
                    row["event_time"] = event_time
                timestamp_ms = None if event_time is None else round(event_time * 1000)
                event = self._event(row, number, key, timestamp_ms, bad)
                if event is None:
                    continue
            else:
                timestamp_ms = None if event_time is None else round(event_time * 1000)
                try:
                    event = convert(documents[index], event_type)
                except (msgspec.ValidationError, ValueError) as error:
                    bad.append(self._invalid(frame, index, number, key_column, timestamp_ms, error))
                    continue
            if spec.combine is not None and spec.group_by is not None:
                group_key = spec.group_by(event)
                group = pending.setdefault(group_key, [])
                group.append((number, event))
                if len(group) >= self.group_size:
                    records.append(self._combined(pending.pop(group_key)))
                continue
            try:
                value = encode(event)
            except ValueError as error:  # NaN or infinity where the schema has no bound to refuse it
                bad.append(self._invalid(frame, index, number, key_column, timestamp_ms, error))
                continue
            key_bytes = event.entity_key().encode()  # type: ignore[attr-defined]
            records.append(MappedRecord(key_bytes, value, timestamp_ms, event_time, number))
        # Combined rows never span chunks: each chunk ends with its partial groups.
        for group in sorted(pending.values(), key=lambda items: items[0][0]):
            records.append(self._combined(group))
        return records, bad

    @staticmethod
    def _bad_time(row: dict[str, Any], number: int, time_column: str | None, key: bytes | None) -> BadRow:
        raw = row.get(time_column or "")
        why = "missing" if _missing(raw) else f"unparsable: {raw!r}"
        return BadRow(number, "unparsable_time", f"row {number}: {time_column} {why}", _jsonable(row), key)

    @staticmethod
    def _invalid(
        frame: pd.DataFrame,
        index: int,
        number: int,
        key_column: str | None,
        timestamp_ms: int | None,
        error: Exception,
    ) -> BadRow:
        row: dict[str, Any] = frame.iloc[index].to_dict()  # type: ignore[assignment]
        key_value = row.get(key_column) if key_column else None
        key = None if key_column is None or _missing(key_value) else str(key_value).encode()
        return BadRow(number, "invalid_value", f"row {number}: {error}", _jsonable(row), key, timestamp_ms)

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

    def _combined(self, group: list[tuple[int, Any]]) -> MappedRecord:
        """Consecutive rows of one key as one record (e.g. consecutive readings of one key as one batch)."""
        assert self.spec is not None and self.spec.combine is not None
        events = [event for _number, event in group]
        combined = self.spec.combine(events)
        first, last = events[0].event_time, events[-1].event_time
        return MappedRecord(
            combined.entity_key().encode(),
            encode(combined),
            round(first * 1000),
            last,
            group[0][0],
            len(events),
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
            if self.spec is not None:
                try:
                    self._codec.decode(data)
                except EventDecodeError as error:
                    bad.append(
                        BadRow(number, error.reason, f"row {number}: {error}", data, key_bytes, timestamp_ms)
                    )
                    continue
            records.append(MappedRecord(key_bytes, data, timestamp_ms, event_time, number))
        return records, bad
