"""`Context.emit_many`: the records `emit` would send, handed over at once when the commit takes many."""

from __future__ import annotations

from typing import Any

from streaming.app.context import Context
from streaming.config import Settings
from streaming.schemas import WindowAggregate


def window(key: str, start: float) -> WindowAggregate:
    return WindowAggregate(
        key=key,
        window_start=start,
        window_end=start + 10,
        count=1,
        aggregates={"x": {"mean": 1.0}},
        closed_by="watermark",
    )


def test_emit_many_sends_what_emit_sends_one_by_one_or_at_once() -> None:
    events = [window("m-1", 1.7e9), window("m-2", 1.7e9 + 10)]
    single: list[tuple[Any, ...]] = []
    Context(Settings(), "test", "g", lambda *args: single.append(args)).emit(
        "sensor_windows", events[0], timestamp=1.7e9 + 10
    )
    one_by_one: list[tuple[Any, ...]] = []
    Context(Settings(), "test", "g", lambda *args: one_by_one.append(args)).emit_many(
        "sensor_windows", events, timestamps=[1.7e9 + 10, 1.7e9 + 20]
    )
    at_once: list[tuple[str, list[Any]]] = []
    Context(
        Settings(),
        "test",
        "g",
        lambda *args: None,
        send_many=lambda topic, records: at_once.append((topic, records)),
    ).emit_many("sensor_windows", events, timestamps=[1.7e9 + 10, 1.7e9 + 20], event_times=[1.7e9, 1.7e9])
    assert one_by_one[0] == single[0]
    assert at_once == [("sensor-windows", [args[1:] for args in one_by_one])]
    assert [args[1] for args in one_by_one] == [b"m-1", b"m-2"]
