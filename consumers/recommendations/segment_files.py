"""The newest output of `streaming recs segment --out DIR`, for the live learner.

The segmentation is a batch job that runs on its own schedule; the learner only notices when its files
change. `write_segmentation` renames each file into place, so a reader sees a whole old file or a whole new
one; a directory being rewritten can hold a new customers file and an old top-items file for a moment, so
both files' stamps make a version, and a version is read once.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)

CUSTOMERS = "customers.parquet"
TOP_ITEMS = "segment_top_items.json"


@dataclass(frozen=True)
class Segments:
    """A segment per customer id, and each segment's most popular item ids, best first."""

    customer_segments: dict[str, int]
    segment_top_items: dict[int, list[str]]


class SegmentFiles:
    """Reads a segmentation directory when its files change.

    Parameters
    ----------
    directory
        The `--out` directory of `streaming recs segment`.

    >>> import tempfile
    >>> files = SegmentFiles(Path(tempfile.mkdtemp()))
    >>> files.changed() is None   # nothing written yet
    True
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._version: tuple[int, int] | None = None
        self._complained: tuple[int, int] | None = None

    def changed(self) -> Segments | None:
        """The segments, when a version not read before is there and readable; else None.

        An unreadable version is named in the log once, and the previous segments stay in use.
        """
        version = self._stamp()
        if version is None or version == self._version:
            return None
        try:
            segments = self._read()
        except (OSError, ValueError, KeyError, TypeError) as error:
            if version != self._complained:
                self._complained = version
                log.warning(
                    "segmentation in %s not loaded (%s: %s); the previous segments stay in use. Rerun "
                    "`streaming recs segment --out %s`",
                    self.directory,
                    type(error).__name__,
                    error,
                    self.directory,
                )
            return None
        self._version = version
        return segments

    def _stamp(self) -> tuple[int, int] | None:
        try:
            return (
                (self.directory / CUSTOMERS).stat().st_mtime_ns,
                (self.directory / TOP_ITEMS).stat().st_mtime_ns,
            )
        except FileNotFoundError:
            return None

    def _read(self) -> Segments:
        customers = pd.read_parquet(self.directory / CUSTOMERS, columns=["customer_id", "segment"])
        if customers["segment"].isna().any():
            raise ValueError(f"{CUSTOMERS} has customers without a segment")
        top = json.loads((self.directory / TOP_ITEMS).read_text())
        if not isinstance(top, dict):
            raise ValueError(f"{TOP_ITEMS} is not an object of segment -> item ids")
        segment_top_items = {int(segment): [str(item) for item in items] for segment, items in top.items()}
        customer_segments = dict(
            zip(
                customers["customer_id"].astype(str).tolist(),
                customers["segment"].astype(int).tolist(),
                strict=True,
            )
        )
        return Segments(customer_segments, segment_top_items)
