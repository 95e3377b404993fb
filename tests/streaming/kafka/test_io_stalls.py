"""kafka-python's slow IO-step warnings are counted, and logged only when long enough to matter."""

from __future__ import annotations

import logging

import pytest

from streaming.kafka.io_stalls import IO_STALLS, IoStallFilter, install_io_stall_filter

MESSAGE = "Task %r ran for %.3fs (>%.3fs threshold). It is blocking the event loop"


def stall(seconds: float) -> logging.LogRecord:
    arguments = ("task", seconds, 0.1)
    return logging.LogRecord("kafka.net.selector", logging.WARNING, __file__, 1, MESSAGE, arguments, None)


def counted() -> float:
    return IO_STALLS._value.get()


def test_short_stalls_are_counted_but_not_logged() -> None:
    before = counted()
    assert IoStallFilter(log_above_seconds=1.0).filter(stall(0.3)) is False
    assert counted() == before + 1


def test_long_stalls_are_logged() -> None:
    assert IoStallFilter(log_above_seconds=1.0).filter(stall(2.5)) is True


def test_other_selector_messages_pass_untouched() -> None:
    before = counted()
    record = logging.LogRecord("kafka.net.selector", logging.WARNING, __file__, 1, "socket closed", (), None)
    assert IoStallFilter().filter(record) is True
    assert counted() == before


def test_installed_once_on_the_selector_logger(caplog: pytest.LogCaptureFixture) -> None:
    install_io_stall_filter()
    install_io_stall_filter()
    logger = logging.getLogger("kafka.net.selector")
    assert sum(isinstance(existing, IoStallFilter) for existing in logger.filters) == 1
    with caplog.at_level(logging.WARNING, logger="kafka.net.selector"):
        logger.warning(MESSAGE, "task", 0.2, 0.1)
        logger.warning(MESSAGE, "task", 3.0, 0.1)
    assert [record.args[1] for record in caplog.records if record.args] == [3.0]
