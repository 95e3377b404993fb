"""Stopping long-running commands cleanly on SIGTERM and SIGINT."""

from __future__ import annotations

import signal
import threading


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: the command then stops waiting, flushes, prints its summary and
    exits 0. The demo and `docker compose stop` send SIGTERM, people press Ctrl-C; both mean "stop
    cleanly". A second Ctrl-C while it flushes raises KeyboardInterrupt, for someone who will not wait.

    Call it from the main thread (Python delivers signals only there).

    >>> import os
    >>> event = stop_on_signals()
    >>> os.kill(os.getpid(), signal.SIGTERM)
    >>> event.wait(5.0)
    True
    >>> _ = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    >>> _ = signal.signal(signal.SIGINT, signal.default_int_handler)
    """
    stop_event = threading.Event()

    def handle(signum: int, _frame: object) -> None:
        if stop_event.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop_event.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop_event
