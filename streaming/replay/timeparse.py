"""TIME arguments: ISO-8601 or epoch seconds."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime


def parse_time(text: str) -> float:
    """Epoch seconds from `1700000000`, `1700000000.5` or an ISO-8601 date-time (UTC unless it says).

    >>> parse_time("1700000000")
    1700000000.0
    >>> parse_time("2023-11-14T22:13:20Z")
    1700000000.0
    >>> parse_time("2023-11-14 23:13:20+01:00")
    1700000000.0
    >>> parse_time("yesterday")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: not a time: 'yesterday' (use ISO-8601 ...)
    """
    value = text.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a time: {text!r} (use ISO-8601 like 2026-11-24T10:00:00Z, or epoch seconds)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def format_time(epoch_seconds: float) -> str:
    """ISO-8601 in UTC, to the millisecond.

    >>> format_time(1700000000.0)
    '2023-11-14T22:13:20.000Z'
    """
    return (
        datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
