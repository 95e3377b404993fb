"""ISO weeks, and the archive: atomic week directories, replacement, leftovers, the storage report."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd
import pytest

from consumers.churn.archive import SummaryArchive
from consumers.churn.atomic import atomic_directory, clean_leftovers
from consumers.churn.summaries import WeeklySummaryBuilder
from consumers.churn.weeks import IsoWeek, week_range
from tests.consumers.churn.support import random_transactions


def test_iso_weeks_match_the_calendar_and_round_trip() -> None:
    for index in range(2_800, 3_000):
        week = IsoWeek.from_index(index)
        monday = dt.datetime.fromtimestamp(week.start_seconds, tz=dt.UTC)
        assert monday.isocalendar()[:2] == (week.year, week.week) and monday.weekday() == 0
        assert IsoWeek.parse(str(week)) == week and week.index == index
        assert (
            IsoWeek.containing(week.end_seconds - 0.001) == week
            and IsoWeek.containing(week.end_seconds) == week + 1
        )
    assert len(week_range(IsoWeek(2026, 1), IsoWeek(2027, 1))) == 54  # 2026 has 53 ISO weeks
    for text in ("2026-48", "W48", "2026-W54", "2025-W53", ""):
        with pytest.raises(ValueError, match="ISO week"):
            IsoWeek.parse(text)


def _week(archive: SummaryArchive, week: IsoWeek, seed: int) -> pd.DataFrame:
    partial = WeeklySummaryBuilder(week).add(random_transactions(week, 50, 500, seed)).partial()
    archive.write_week(week, partial.summaries(), partial.category_totals(), raw_bytes=40_000)
    return partial.summaries()


def test_rewriting_a_week_replaces_it_whole(tmp_path: Path) -> None:
    archive = SummaryArchive(tmp_path)
    week = IsoWeek(2026, 48)
    _week(archive, week, 1)
    second = _week(archive, week, 2)
    pd.testing.assert_frame_equal(archive.read(week, week), second)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["week=2026-W48"]
    with pytest.raises(ValueError, match="another week"):
        archive.write_week(week + 1, second, second.assign(week=str(week)), raw_bytes=1)


def test_a_writer_killed_midway_leaves_nothing_under_the_final_name(tmp_path: Path) -> None:
    archive = SummaryArchive(tmp_path)
    week = IsoWeek(2026, 48)
    kept = _week(archive, week, 1)
    with pytest.raises(KeyboardInterrupt), atomic_directory(archive.path(week + 1)) as directory:
        (directory / "summaries.parquet").write_bytes(b"half a file")
        raise KeyboardInterrupt
    assert archive.weeks() == [week]
    # A kill between the two renames of a replacement: the old version is restored at the next start.
    os.replace(archive.path(week), tmp_path / f".week={week}.old-123")
    (tmp_path / ".week=2026-W49.tmp-99").mkdir()
    assert clean_leftovers(tmp_path) == 2
    pd.testing.assert_frame_equal(SummaryArchive(tmp_path).read(week, week), kept)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["week=2026-W48"]


def test_the_storage_report_compares_raw_and_summary_bytes(tmp_path: Path) -> None:
    archive = SummaryArchive(tmp_path)
    for offset in range(3):
        _week(archive, IsoWeek(2026, 40) + offset, offset)
    report = archive.storage_report()
    assert report["week"].tolist() == ["2026-W40", "2026-W41", "2026-W42", "total"]
    assert (
        report.iloc[-1]["raw_bytes"] == 120_000
        and report.iloc[-1]["summary_bytes"] == report.iloc[:-1]["summary_bytes"].sum()
    )
    assert (report["reduction"] > 1).all()
    assert len(archive.read(IsoWeek(2026, 41), IsoWeek(2026, 42))) == report.iloc[1:3]["customers"].sum()
