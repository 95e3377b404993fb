"""Closed windows as the records `WindowAggregate` encodes to, built from rows of numbers.

A `WindowAggregate` holds its statistics as a dict per field; building those dicts for every closed window
cost more than encoding them. The same JSON comes from structs whose fields are the field and statistic
names (msgspec encodes a struct as an object, in field order), built positionally from a row of numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from streaming.schemas import WindowAggregate
from streaming.schemas.base import Event

_encoder = msgspec.json.Encoder()


class WindowRecords:
    """Builds, for fixed fields and statistics, events that encode byte for byte as `WindowAggregate`.

    Parameters
    ----------
    fields
        The aggregated fields, in output order.
    statistics
        The statistic names, in output order.

    >>> from streaming.schemas import encode
    >>> records = WindowRecords(["torque"], ["count", "p99.9"])
    >>> window = records.window("m-1", 1.7e9, 1.7e9 + 10, 2, [[2.0, 4.5]], {"site": "A"}, 1.8e9)
    >>> same = WindowAggregate(key="m-1", window_start=1.7e9, window_end=1.7e9 + 10, count=2,
    ...     aggregates={"torque": {"count": 2.0, "p99.9": 4.5}}, closed_by="watermark",
    ...     attributes={"site": "A"}, emitted_at=1.8e9)
    >>> encode(window) == encode(same), window.entity_key()
    (True, 'm-1')
    >>> records.encode_many([window]) == [encode(same)]
    True
    """

    def __init__(self, fields: Sequence[str], statistics: Sequence[str]) -> None:
        self.fields = list(fields)
        self.statistics = list(statistics)
        self._statistics = msgspec.defstruct(
            "WindowStatistics",
            [(f"s{index}", float) for index in range(len(self.statistics))],
            rename={f"s{index}": name for index, name in enumerate(self.statistics)},
        )
        self._fields = msgspec.defstruct(
            "WindowFields",
            [(f"f{index}", self._statistics) for index in range(len(self.fields))],
            rename={f"f{index}": name for index, name in enumerate(self.fields)},
        )
        annotations = {name: Any for name in WindowAggregate.__struct_fields__}
        own = [name for name in WindowAggregate.__struct_fields__ if name not in Event.__struct_fields__]
        self._window = msgspec.defstruct(
            "WindowAggregateRecord",
            [(name, self._fields if name == "aggregates" else annotations[name]) for name in own],
            bases=(Event,),
            kw_only=True,
            frozen=True,
            namespace={"entity_key": lambda window: window.key},
        )

    def window(
        self,
        key: str,
        start: float,
        end: float,
        count: int,
        rows: Sequence[Sequence[float]],
        attributes: dict[str, str],
        emitted_at: float,
        closed_by: str = "watermark",
    ) -> Event:
        """One closed window; `rows[i][j]` is statistic `j` of field `i`."""
        statistics = self._statistics
        return self._window(  # type: ignore[return-value]
            key=key,
            window_start=start,
            window_end=end,
            count=count,
            aggregates=self._fields(*[statistics(*row) for row in rows]),
            closed_by=closed_by,
            attributes=attributes,
            emitted_at=emitted_at,
        )

    def encode_many(self, windows: Sequence[Event]) -> list[bytes]:
        """The JSON of each window, as `streaming.schemas.encode` writes it, without its scan for nulls:
        a window record holds no None, so the caller checks its numbers are finite instead (once for a
        batch, with numpy)."""
        encode = _encoder.encode
        return [encode(window) for window in windows]
