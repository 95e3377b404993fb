"""Malformed variants of a good record, to exercise the consumers' dead-letter paths."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import orjson

#: Every variant, in the order `MalformedRecords` draws them.
VARIANTS: tuple[str, ...] = (
    "truncated",
    "wrong_type",
    "missing_field",
    "non_finite",
    "out_of_range",
    "unknown_version",
    "oversize",
)

_NON_FINITE = b'"__non_finite__"'


class MalformedRecords:
    """Turns the JSON of a good event into one broken in a chosen way.

    `numeric_fields` are fields to break with wrong types, NaN or out-of-range values; `required_fields`
    are fields whose absence is an error. Values of list fields are broken element-wise (sensor batches).

    >>> malformed = MalformedRecords(numeric_fields=["amount"], required_fields=["card_id"], max_bytes=100,
    ...                              seed=1)
    >>> malformed.make(b'{"card_id":"c-1","amount":12.5,"schema_version":1}', "out_of_range")
    b'{"card_id":"c-1","amount":-1000.0,"schema_version":1}'
    >>> malformed.make(b'{"card_id":"c-1","amount":12.5,"schema_version":1}', "non_finite")
    b'{"card_id":"c-1","amount":Infinity,"schema_version":1}'
    >>> len(malformed.make(b'{"card_id":"c-1"}', "oversize")) > 100
    True
    """

    def __init__(
        self,
        numeric_fields: Sequence[str],
        required_fields: Sequence[str],
        max_bytes: int,
        seed: int,
        variants: Sequence[str] = VARIANTS,
    ) -> None:
        unknown = set(variants) - set(VARIANTS)
        if unknown:
            raise ValueError(f"unknown malformed variants: {sorted(unknown)}")
        self.numeric_fields = list(numeric_fields)
        self.required_fields = list(required_fields)
        self.max_bytes = max_bytes
        self.variants = tuple(variants)
        self._rng = np.random.default_rng(seed)

    def choose(self) -> str:
        return self.variants[int(self._rng.integers(len(self.variants)))]

    def make(self, value: bytes, variant: str) -> bytes:
        if variant == "truncated":
            return value[: max(1, len(value) // 2)]
        if variant == "oversize":
            document = orjson.loads(value)
            document["padding"] = "x" * (self.max_bytes + 1)
            return orjson.dumps(document)
        document = orjson.loads(value)
        if variant == "unknown_version":
            document["schema_version"] = 99
            return orjson.dumps(document)
        if variant == "missing_field":
            document.pop(self._pick(self.required_fields), None)
            return orjson.dumps(document)
        field = self._pick(self.numeric_fields)
        if variant == "wrong_type":
            document[field] = _replace(document.get(field), "n/a")
            return orjson.dumps(document)
        if variant == "out_of_range":
            document[field] = _replace(document.get(field), -1000.0)
            return orjson.dumps(document)
        # JSON has no NaN; writers that emit it anyway (Python's json module does) are what this imitates.
        document[field] = _replace(document.get(field), "__non_finite__")
        token = b"NaN" if self._rng.random() < 0.5 else b"Infinity"
        return orjson.dumps(document).replace(_NON_FINITE, token)

    def _pick(self, fields: Sequence[str]) -> str:
        return fields[int(self._rng.integers(len(fields)))]


def _replace(current: object, bad: object) -> object:
    """A bad value in place of a scalar, or in place of the first element of a column."""
    if isinstance(current, list) and current:
        return [bad, *current[1:]]
    return bad
