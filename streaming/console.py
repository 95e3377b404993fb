"""Terminal output for long work: rich live displays on a terminal, plain periodic lines elsewhere (CI)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True)


def is_interactive() -> bool:
    return console.is_terminal and sys.stderr.isatty()


class ProgressReporter:
    """Progress of produce, replay, record and evaluate.

    On a terminal it is a rich progress bar with rate and ETA; without one (CI, pipes) it prints a plain line
    every `plain_interval_seconds`, and a final line on exit.

    >>> with ProgressReporter("demo", total=3, interactive=False, plain_interval_seconds=3600) as progress:
    ...     progress.advance(3)
    >>> progress.done
    3.0
    """

    def __init__(
        self,
        description: str,
        total: float | None = None,
        unit: str = "events",
        interactive: bool | None = None,
        plain_interval_seconds: float = 5.0,
        extra: Callable[[], str] | None = None,
    ) -> None:
        self.description = description
        self.total = total
        self.unit = unit
        self.interactive = is_interactive() if interactive is None else interactive
        self.plain_interval_seconds = plain_interval_seconds
        self.extra = extra
        self.done = 0.0
        self._started = time.monotonic()
        self._last_line = self._started
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> ProgressReporter:
        self._started = time.monotonic()
        self._last_line = self._started
        if self.interactive:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[extra]}"),
                console=console,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=self.total, rate="", extra="")
        return self

    def advance(self, amount: float = 1) -> None:
        self.done += amount
        now = time.monotonic()
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task, advance=amount, rate=f"{self.rate():,.0f} {self.unit}/s", extra=self._extra_text()
            )
        elif now - self._last_line >= self.plain_interval_seconds:
            self._last_line = now
            print(self.line(), file=sys.stderr, flush=True)

    def rate(self) -> float:
        elapsed = time.monotonic() - self._started
        return self.done / elapsed if elapsed > 0 else 0.0

    def _extra_text(self) -> str:
        return self.extra() if self.extra is not None else ""

    def line(self) -> str:
        elapsed = time.monotonic() - self._started
        total = f"/{self.total:,.0f}" if self.total else ""
        eta = ""
        if self.total and self.done and self.done < self.total:
            eta = f" eta {(self.total - self.done) / max(self.rate(), 1e-9):,.0f}s"
        extra = f" {self._extra_text()}" if self.extra else ""
        return (
            f"{self.description}: {self.done:,.0f}{total} {self.unit} in {elapsed:,.1f}s "
            f"({self.rate():,.0f}/s){eta}{extra}"
        )

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
        print(self.line(), file=sys.stderr, flush=True)
