"""The Parquet archive of weekly summaries, partitioned by week, with its storage accounting.

Layout: `<root>/week=2026-W48/summaries.parquet`, `categories.parquet` (spend per customer and category)
and `storage.json`. Each week directory is written whole under a temporary name and then renamed
(`atomic.atomic_directory`), so a killed run leaves nothing partial and re-running a week replaces it.

The storage report compares the bytes of a week's raw transactions with the bytes of its summaries: once
the summaries are archived, raw transactions can be retained for less time.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from consumers.churn.atomic import atomic_directory, clean_leftovers
from consumers.churn.summaries import SUMMARY_COLUMNS
from consumers.churn.weeks import IsoWeek

_PREFIX = "week="


@dataclass(frozen=True)
class WeekStorage:
    """Bytes of one archived week.

    Parameters
    ----------
    week
        The week, e.g. `2026-W48`.
    raw_bytes
        Bytes of the week's raw transactions, as the source measured them (record bytes read from Kafka,
        or the transactions written as Parquet with zstd).
    summary_bytes
        Bytes of the week's archived files.
    transactions
        Transactions summarised.
    customers
        Summary rows (customers active in the week).

    >>> WeekStorage("2026-W48", raw_bytes=1_000, summary_bytes=50, transactions=20, customers=5).reduction
    20.0
    """

    week: str
    raw_bytes: int
    summary_bytes: int
    transactions: int
    customers: int

    @property
    def reduction(self) -> float:
        """Raw bytes per summary byte (how many times smaller the summaries are)."""
        return self.raw_bytes / self.summary_bytes if self.summary_bytes else float("inf")


def parquet_bytes(frame: pd.DataFrame) -> int:
    """Size of `frame` as a zstd Parquet file, measured in memory.

    >>> parquet_bytes(pd.DataFrame({"a": [1, 2, 3]})) > 0
    True
    """
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink, compression="zstd")
    return int(sink.getvalue().size)


class SummaryArchive:
    """Weekly summaries on disk, one directory per week.

    Parameters
    ----------
    root
        The archive directory (created when missing).

    >>> import tempfile
    >>> from consumers.churn.summaries import WeeklySummaryBuilder
    >>> week = IsoWeek(2026, 48)
    >>> chunk = pd.DataFrame({"customer_id": ["u-1", "u-2"], "amount": [5.0, 8.0],
    ...     "event_time": [week.start_seconds + 1.0, week.start_seconds + 2.0]})
    >>> partial = WeeklySummaryBuilder(week).add(chunk).partial()
    >>> archive = SummaryArchive(Path(tempfile.mkdtemp()))
    >>> storage = archive.write_week(week, partial.summaries(), partial.category_totals(), raw_bytes=10_000)
    >>> [str(w) for w in archive.weeks()], len(archive.read(week, week)), storage.customers
    (['2026-W48'], 2, 2)
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        clean_leftovers(self.root)

    def path(self, week: IsoWeek) -> Path:
        return self.root / f"{_PREFIX}{week}"

    def write_week(
        self,
        week: IsoWeek,
        summaries: pd.DataFrame,
        categories: pd.DataFrame,
        raw_bytes: int,
        transactions: int | None = None,
    ) -> WeekStorage:
        """Write (or replace) one week; returns its storage figures."""
        if (summaries["week"] != str(week)).any() or (categories["week"] != str(week)).any():
            raise ValueError(f"rows of another week given to the archive's {week}")
        with atomic_directory(self.path(week)) as directory:
            summaries.to_parquet(directory / "summaries.parquet", compression="zstd", index=False)
            categories.to_parquet(directory / "categories.parquet", compression="zstd", index=False)
            summary_bytes = sum(file.stat().st_size for file in directory.glob("*.parquet"))
            storage = WeekStorage(
                week=str(week),
                raw_bytes=int(raw_bytes),
                summary_bytes=int(summary_bytes),
                transactions=int(
                    transactions
                    if transactions is not None
                    else summaries["purchase_count"].sum() + summaries["refund_count"].sum()
                ),
                customers=len(summaries),
            )
            (directory / "storage.json").write_text(json.dumps(asdict(storage), sort_keys=True))
        return storage

    def weeks(self) -> list[IsoWeek]:
        """The archived weeks, oldest first."""
        found = [
            IsoWeek.parse(entry.name[len(_PREFIX) :])
            for entry in self.root.iterdir()
            if entry.is_dir() and entry.name.startswith(_PREFIX) and (entry / "storage.json").exists()
        ]
        return sorted(found)

    def has(self, week: IsoWeek) -> bool:
        return (self.path(week) / "storage.json").exists()

    def read(
        self, first: IsoWeek, last: IsoWeek, columns: list[str] | None = None, table: str = "summaries"
    ) -> pd.DataFrame:
        """Rows of the archived weeks from `first` to `last` (both included), oldest week first."""
        frames = [
            pd.read_parquet(self.path(week) / f"{table}.parquet", columns=columns)
            for week in self.weeks()
            if first <= week <= last
        ]
        if not frames:
            names = columns or (list(SUMMARY_COLUMNS) if table == "summaries" else None)
            return pd.DataFrame(columns=names)
        frames = [frame for frame in frames if len(frame)] or frames[:1]
        return pd.concat(frames, ignore_index=True)

    def storage(self, week: IsoWeek) -> WeekStorage:
        return WeekStorage(**json.loads((self.path(week) / "storage.json").read_text()))

    def storage_report(self) -> pd.DataFrame:
        """Per archived week and overall (the last row, `week` = "total"): raw vs summary bytes."""
        rows = [asdict(self.storage(week)) for week in self.weeks()]
        frame = pd.DataFrame(
            rows, columns=["week", "raw_bytes", "summary_bytes", "transactions", "customers"]
        )
        total = {
            "week": "total",
            "raw_bytes": int(frame["raw_bytes"].sum()),
            "summary_bytes": int(frame["summary_bytes"].sum()),
            "transactions": int(frame["transactions"].sum()),
            "customers": int(frame["customers"].sum()),
        }
        frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
        frame["reduction"] = frame["raw_bytes"] / frame["summary_bytes"].where(frame["summary_bytes"] > 0)
        return frame
