"""Reading CSV, JSONL and Parquet in chunks, so that a file of any size never loads whole."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow.parquet as pq

FileFormat = Literal["csv", "jsonl", "parquet"]

_SUFFIXES: dict[str, FileFormat] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def detect_format(path: Path, named: str | None = None) -> FileFormat:
    """The format named, else the one the suffix says.

    >>> detect_format(Path("readings.parquet")), detect_format(Path("x.txt"), "csv")
    ('parquet', 'csv')
    """
    if named:
        if named not in ("csv", "jsonl", "parquet"):
            raise ValueError(f"unknown format {named!r}: use csv, jsonl or parquet")
        return named  # type: ignore[return-value]
    try:
        return _SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise ValueError(f"cannot tell the format of {path.name}: pass --format csv|jsonl|parquet") from None


@dataclass
class Chunk:
    """Rows `first_row ..` of the file, and how far into the file (bytes or rows) reading has got."""

    frame: pd.DataFrame
    first_row: int
    position: float


class FileSource:
    """Chunks of a CSV, JSONL or Parquet file as DataFrames.

    Progress is in bytes for CSV and JSONL (the file size is known, rows are not) and in rows for
    Parquet (its footer holds the row count).

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "rows.csv"
    >>> _ = path.write_text("key,value\\na,1\\nb,2\\nc,3\\n")
    >>> source = FileSource(path, chunk_size=2)
    >>> [len(chunk.frame) for chunk in source.chunks()], source.unit, source.total
    ([2, 1], 'bytes', 22.0)
    """

    def __init__(self, path: Path, file_format: str | None = None, chunk_size: int = 50_000) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no such file: {self.path}")
        self.format: FileFormat = detect_format(self.path, file_format)
        self.chunk_size = chunk_size
        if self.format == "parquet":
            self.unit = "rows"
            self.total = float(pq.ParquetFile(self.path).metadata.num_rows)
        else:
            self.unit = "bytes"
            self.total = float(os.path.getsize(self.path))

    def chunks(self) -> Iterator[Chunk]:
        first_row = 0
        if self.format == "parquet":
            parquet = pq.ParquetFile(self.path)
            for batch in parquet.iter_batches(batch_size=self.chunk_size):
                frame = batch.to_pandas()
                first_row += len(frame)
                yield Chunk(frame, first_row - len(frame), float(first_row))
            return
        with self.path.open("rb") as handle:
            reader: Any
            if self.format == "csv":
                reader = pd.read_csv(handle, chunksize=self.chunk_size)
            else:
                # No guessing: dates stay as written and numbers are not coerced, so bad rows stay visible.
                reader = pd.read_json(handle, lines=True, chunksize=self.chunk_size, dtype=False)
            with reader:
                for frame in reader:
                    frame = frame.reset_index(drop=True)
                    first_row += len(frame)
                    yield Chunk(frame, first_row - len(frame), float(handle.tell()))
