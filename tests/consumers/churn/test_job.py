"""The weekly job over simulated weeks: outputs, idempotent re-runs, kills between steps, partition splits."""

from __future__ import annotations

import shutil
import zlib
from pathlib import Path

import pandas as pd
import pytest

from consumers.churn.job import ChurnJob, FrameSource, InterruptedRun, JobResult, MemorySinks
from consumers.churn.settings import ChurnSettings
from consumers.churn.weeks import IsoWeek
from streaming.schemas import encode
from tests.consumers.churn.support import START_WEEK, simulated_log

WEEKS = 14
SETTINGS = ChurnSettings(
    horizon_weeks=4,
    training_cutoffs=3,
    history_weeks=13,
    trees=20,
    min_samples_leaf=5,
    alert_value_quantile=0.5,
    alert_probability=0.3,
    incremental_model="hoeffding_tree+oversample",
    jobs=1,
)
DATA_FILES = (
    "scores.parquet",
    "at_risk.parquet",
    "at_risk.csv",
    "alerts.parquet",
    "alert_state.parquet",
    "profiles.parquet",
    "holdout.parquet",
)


def _week_frame(log: pd.DataFrame, week: IsoWeek) -> pd.DataFrame:
    return log[(log["event_time"] >= week.start_seconds) & (log["event_time"] < week.end_seconds)]


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return simulated_log(weeks=WEEKS, cards=500, seed=21)


@pytest.fixture(scope="module")
def base(
    log: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[JobResult], MemorySinks]:
    root = tmp_path_factory.mktemp("churn-base")
    job = ChurnJob(SETTINGS, root)
    sinks = MemorySinks()
    results = [
        job.run(
            START_WEEK + offset, FrameSource(_week_frame(log, START_WEEK + offset), chunk_rows=2_000), sinks
        )
        for offset in range(WEEKS)
    ]
    return root, results, sinks


def _copy_without(root: Path, week: IsoWeek, destination: Path) -> Path:
    shutil.copytree(root, destination)
    shutil.rmtree(destination / "weeks" / str(week))
    shutil.rmtree(destination / "archive" / f"week={week}")
    return destination


def _assert_same_week(left: Path, right: Path, week: IsoWeek) -> None:
    for name in DATA_FILES:
        assert (left / "weeks" / str(week) / name).read_bytes() == (
            right / "weeks" / str(week) / name
        ).read_bytes(), name
    for name in ("summaries.parquet", "categories.parquet", "storage.json"):
        archived = f"week={week}"
        assert (left / "archive" / archived / name).read_bytes() == (
            right / "archive" / archived / name
        ).read_bytes()


def _encoded(sinks: MemorySinks, week: IsoWeek) -> list[bytes]:
    outputs = sinks.published[str(week)]
    return [encode(event) for event in (*outputs.profiles, *outputs.scores, *outputs.alerts)]


LAST = START_WEEK + (WEEKS - 1)


def test_the_job_trains_once_history_allows_and_writes_every_output(
    base: tuple[Path, list[JobResult], MemorySinks],
) -> None:
    root, results, sinks = base
    assert results[0].model_name is None and results[0].customers_profiled > 0
    trained = [result for result in results if result.model_name]
    assert trained and trained[0].week == str(START_WEEK + 3 + 4)  # warm-up of 4 weeks, then H = 4
    last = results[-1]
    assert last.model_name == "random_forest+oversample" and last.model_version == LAST.year * 100 + LAST.week
    assert last.customers_scored > 100 and 0 < last.at_risk < last.customers_scored
    assert last.holdout_roc_auc is not None and last.holdout_roc_auc > 0.7
    assert last.realised_churn is not None and last.predicted_churn is not None
    assert last.full_retrain_cpu_seconds and last.incremental_update_cpu_seconds is not None
    assert set(last.timings) == {"extract", "transform", "train", "score", "report", "commit"}
    assert last.storage["reduction"] > 1.0
    directory = root / "weeks" / str(LAST)
    at_risk = pd.read_parquet(directory / "at_risk.parquet")
    assert at_risk["expected_lost_value"].is_monotonic_decreasing and at_risk["rank"].tolist() == list(
        range(1, len(at_risk) + 1)
    )
    assert (at_risk["probability"] >= SETTINGS.at_risk_probability).all()
    csv = pd.read_csv(directory / "at_risk.csv")
    assert csv["customer_id"].tolist() == at_risk["customer_id"].tolist()
    report = (directory / "report.html").read_text()
    assert (
        report.count("data:image/png;base64") >= 3
        and "What the model weighs" in report
        and "Holdout" in report
    )
    outputs = sinks.published[str(LAST)]
    assert len(outputs.scores) == last.customers_scored and len(outputs.profiles) == last.customers_profiled
    assert all(alert.kind == "churn" for alert in outputs.alerts) and len(outputs.alerts) == last.alerts
    assert any(result.alerts for result in results)
    storage = ChurnJob(SETTINGS, root).archive.storage_report()
    assert storage.iloc[-1]["week"] == "total" and storage.iloc[-1]["reduction"] > 1.0
    assert len(storage) == WEEKS + 1


def test_rerunning_a_week_gives_identical_files(
    base: tuple[Path, list[JobResult], MemorySinks], log: pd.DataFrame, tmp_path: Path
) -> None:
    root, _results, sinks = base
    again = shutil.copytree(root, tmp_path / "again")
    rerun_sinks = MemorySinks()
    ChurnJob(SETTINGS, again).run(LAST, FrameSource(_week_frame(log, LAST), chunk_rows=777), rerun_sinks)
    _assert_same_week(root, again, LAST)
    assert _encoded(rerun_sinks, LAST) == _encoded(sinks, LAST)


def test_runs_killed_between_steps_publish_nothing_partial_and_the_next_run_is_identical(
    base: tuple[Path, list[JobResult], MemorySinks], log: pd.DataFrame, tmp_path: Path
) -> None:
    root, _results, sinks = base
    killed = _copy_without(root, LAST, tmp_path / "killed")
    # Killed after each step in turn, on the same directory, then run to the end once.
    for step in ("extract", "transform", "train", "score", "report", "commit:archive"):

        def kill(done: str, step: str = step) -> None:
            if done == step:
                raise InterruptedRun(step)

        partial_sinks = MemorySinks()
        with pytest.raises(InterruptedRun):
            ChurnJob(SETTINGS, killed, step_hook=kill).run(
                LAST, FrameSource(_week_frame(log, LAST)), partial_sinks
            )
        assert not partial_sinks.published, step
        assert not (killed / "weeks" / str(LAST)).exists(), step
        # Only a kill inside the commit leaves the archived week, complete (the next run rewrites it alike).
        assert (killed / "archive" / f"week={LAST}").exists() == (step == "commit:archive"), step
        assert [path.name for path in (killed / "weeks").iterdir() if path.name.startswith(".")] == [], step
    rerun_sinks = MemorySinks()
    ChurnJob(SETTINGS, killed).run(LAST, FrameSource(_week_frame(log, LAST)), rerun_sinks)
    _assert_same_week(root, killed, LAST)
    assert _encoded(rerun_sinks, LAST) == _encoded(sinks, LAST)


def test_partition_split_runs_merge_into_exactly_the_whole_run(
    base: tuple[Path, list[JobResult], MemorySinks], log: pd.DataFrame, tmp_path: Path
) -> None:
    root, _results, sinks = base
    split = _copy_without(root, LAST, tmp_path / "split")
    frame = _week_frame(log, LAST)
    partition = frame["card_id"].map(lambda card: zlib.crc32(card.encode()) % 3)
    assert frame.groupby("customer_id")["card_id"].nunique().max() > 1  # customers span partitions
    for number in range(3):  # three workers, each on its partitions
        ChurnJob(SETTINGS, split).transform_partition(
            LAST, FrameSource(frame[partition == number]), f"worker-{number}"
        )
    split_sinks = MemorySinks()
    ChurnJob(SETTINGS, split).run(LAST, None, split_sinks)
    for name in ("summaries.parquet", "categories.parquet"):
        assert (split / "archive" / f"week={LAST}" / name).read_bytes() == (
            root / "archive" / f"week={LAST}" / name
        ).read_bytes()
    for name in DATA_FILES:
        assert (split / "weeks" / str(LAST) / name).read_bytes() == (
            root / "weeks" / str(LAST) / name
        ).read_bytes()
    assert (
        _encoded(split_sinks, LAST)[: len(sinks.published[str(LAST)].profiles)]
        == _encoded(sinks, LAST)[: len(sinks.published[str(LAST)].profiles)]
    )


def test_alerts_are_not_repeated_unless_the_risk_rose(
    base: tuple[Path, list[JobResult], MemorySinks],
) -> None:
    root, results, _sinks = base
    repeated = 0
    for offset in range(1, WEEKS):
        week, previous = START_WEEK + offset, START_WEEK + offset - 1
        now = root / "weeks" / str(week) / "alerts.parquet"
        state = root / "weeks" / str(previous) / "alert_state.parquet"
        if not now.exists() or not state.exists():
            continue
        alerted = pd.read_parquet(now)
        before = pd.read_parquet(state).set_index("customer_id")["alerted_probability"]
        again = alerted[alerted["customer_id"].isin(before.index)]
        repeated += len(again)
        assert (
            again["probability"].to_numpy()
            >= again["customer_id"].map(before).to_numpy() + SETTINGS.alert_rise - 1e-9
        ).all()
        # Everyone still at risk and alerted before stays in the state: never alerted twice for the same risk.
        kept = pd.read_parquet(root / "weeks" / str(week) / "alert_state.parquet")
        scores = pd.read_parquet(root / "weeks" / str(week) / "scores.parquet")
        at_risk_before = scores[
            (scores["probability"] >= SETTINGS.alert_probability) & scores["customer_id"].isin(before.index)
        ]
        assert set(at_risk_before["customer_id"]) <= set(kept["customer_id"])
    assert sum(result.alerts for result in results) > 0
