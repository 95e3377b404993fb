"""kafka-python's "task ran for 0.1xx s" warnings: always counted, logged only when a stall can matter.

kafka-python 3 runs its network IO on a thread of its own and warns whenever one step of it takes over 0.1 s.
In a process whose main thread scores records in Python, most such steps are the IO thread waiting for the
interpreter lock, a few hundred milliseconds at worst: harmless next to a 45 s session timeout, and dozens of
warnings a minute would hide the log lines that matter. A stall of a second or more is still logged, because
that is the thread that sends heartbeats.

Examples
--------
>>> import logging
>>> from streaming.kafka.io_stalls import IoStallFilter
>>> record = logging.LogRecord(
...     "kafka.net.selector", logging.WARNING, __file__, 1,
...     "Task %r ran for %.3fs (>%.3fs threshold). It is blocking the event loop", ("t", 0.25, 0.1), None,
... )
>>> IoStallFilter(log_above_seconds=1.0).filter(record)
False

"""

from __future__ import annotations

import logging

from prometheus_client import Counter

__all__ = ["IO_STALLS", "IoStallFilter", "install_io_stall_filter"]

LOGGER_NAME = "kafka.net.selector"
DEFAULT_LOG_ABOVE_SECONDS = 1.0

IO_STALLS = Counter(
    "streaming_kafka_io_stalls",
    "Steps of the Kafka client's IO thread that took over 0.1 s (mostly waiting for the interpreter lock)",
)


class IoStallFilter(logging.Filter):
    """Counts kafka-python's slow-task warnings and lets through only those over `log_above_seconds`.

    Parameters
    ----------
    log_above_seconds
        Stalls at least this long are still logged.

    """

    def __init__(self, log_above_seconds: float = DEFAULT_LOG_ABOVE_SECONDS) -> None:
        super().__init__()
        self.log_above_seconds = log_above_seconds

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("Task %r ran for"):
            return True
        IO_STALLS.inc()
        arguments = record.args if isinstance(record.args, tuple) else ()
        elapsed = arguments[1] if len(arguments) > 1 and isinstance(arguments[1], int | float) else None
        return elapsed is None or elapsed >= self.log_above_seconds


def install_io_stall_filter(log_above_seconds: float = DEFAULT_LOG_ABOVE_SECONDS) -> None:
    """Attach the filter to kafka-python's selector logger once per process."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(existing, IoStallFilter) for existing in logger.filters):
        logger.addFilter(IoStallFilter(log_above_seconds))
