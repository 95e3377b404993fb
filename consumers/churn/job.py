"""The weekly churn job: Extract -> Transform -> Train -> Score -> Report, then one commit.

The job is pure: it reads chunks of transactions from a `TransactionSource` and hands its topic outputs
(customer profiles, churn scores, churn alerts) to a `ChurnSinks`. The Kafka layer supplies both: a source
reading the week by offsets for times, and sinks writing the three topics in one Kafka transaction.

Steps:

1. **extract**: iterate the source's chunks (the time spent inside the source's iterator);
2. **transform**: summarise the week (`WeeklySummaryBuilder`), build the customer profiles;
3. **train**: examples at past cut-offs from the archive; the holdout check (a model trained only on
   cut-offs labelled before the newest labelled cut-off, judged on it); the scoring model; the
   incremental River model's weekly update (only the newly labelled cut-off), with its CPU cost;
4. **score**: features at the week, probabilities, at-risk list, alerts (deduplicated with last week's
   alert state);
5. **report**: the HTML page;
6. **commit**: the archive's week directory, then the week's output directory, each renamed into place
   whole; then the sinks get the topic outputs (the lead's sinks commit them as one Kafka transaction).

Everything is staged under a temporary name until the commit, so a run killed between steps leaves no
output, and the next run rebuilds the week from the same inputs. A kill inside the commit, between the
renames, leaves the archive week (identical to what the re-run writes) without the week's outputs, and
the re-run completes it. Given the same transactions and the same previous weeks, a re-run writes
identical data files (the report and `result.json` differ in their timings only).

Partition-parallel runs: `transform_partition` summarises the partitions one worker reads and saves the
partial under `partials/<week>/<name>`; `run(week, source=None)` then merges every saved partial (exactly
the summaries one whole run computes) and carries on from the merge.
"""

from __future__ import annotations

import json
import pickle
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from consumers.churn.alerting import ChurnAlertPolicy, empty_state
from consumers.churn.archive import SummaryArchive, WeekStorage, parquet_bytes
from consumers.churn.atomic import atomic_directory, clean_leftovers
from consumers.churn.features import SUMMARY_INPUTS, build_features
from consumers.churn.labels import CUTOFF_COLUMN, LABEL_COLUMN, is_member
from consumers.churn.models import ChurnModel, ModelSpec
from consumers.churn.profiles import build_profiles, profile_records
from consumers.churn.report import ReportContent, write_report
from consumers.churn.sampling import TrainingRows
from consumers.churn.scoring import (
    at_risk_list,
    model_version,
    score_customers,
    score_records,
    write_at_risk_list,
)
from consumers.churn.settings import ChurnSettings
from consumers.churn.summaries import ChunkCounts, WeeklyPartial, WeeklySummaryBuilder
from consumers.churn.weeks import IsoWeek, week_indices
from contracts import Alert, ChurnScore, CustomerProfile

STEPS: tuple[str, ...] = ("extract", "transform", "train", "score", "report", "commit")
#: Weeks of history before the first cut-off a model trains on.
_WARMUP_WEEKS = 4


class TransactionSource(Protocol):
    """Where the week's transactions come from, in chunks (any columns `summaries.normalize_chunk` takes).

    `raw_bytes` is read after the chunks were consumed: the bytes of raw transactions the source read
    (Kafka: record keys and values), or None to let the job measure the chunks as zstd Parquet.
    """

    def chunks(self) -> Iterator[pd.DataFrame]: ...

    @property
    def raw_bytes(self) -> int | None: ...


class FrameSource:
    """A source over frames already in memory (tests, backtests, the demo).

    Parameters
    ----------
    frames
        The chunks, or one frame cut into `chunk_rows`-row chunks.
    chunk_rows
        Rows per chunk when `frames` is one frame.

    >>> source = FrameSource(pd.DataFrame({"a": range(5)}), chunk_rows=2)
    >>> [len(chunk) for chunk in source.chunks()], source.raw_bytes
    ([2, 2, 1], None)
    """

    def __init__(self, frames: pd.DataFrame | Iterable[pd.DataFrame], chunk_rows: int = 500_000) -> None:
        self._frames = frames
        self.chunk_rows = chunk_rows

    def chunks(self) -> Iterator[pd.DataFrame]:
        if isinstance(self._frames, pd.DataFrame):
            for start in range(0, len(self._frames), self.chunk_rows):
                yield self._frames.iloc[start : start + self.chunk_rows]
        else:
            yield from self._frames

    @property
    def raw_bytes(self) -> int | None:
        return None


class ParquetSource:
    """A source over Parquet files, read in record batches (the benchmark; a recorded log).

    Parameters
    ----------
    paths
        The files.
    chunk_rows
        Rows per chunk.
    """

    def __init__(self, paths: Iterable[Path], chunk_rows: int = 500_000) -> None:
        self.paths = [Path(path) for path in paths]
        self.chunk_rows = chunk_rows

    def chunks(self) -> Iterator[pd.DataFrame]:
        import pyarrow.parquet as pq

        for path in self.paths:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=self.chunk_rows):
                yield batch.to_pandas()

    @property
    def raw_bytes(self) -> int | None:
        return sum(path.stat().st_size for path in self.paths)


@dataclass
class WeekOutputs:
    """What goes to the topics: profiles (compacted topic), scores, alerts.

    Parameters
    ----------
    week
        The week.
    profiles, scores, alerts
        The events.
    """

    week: IsoWeek
    profiles: list[CustomerProfile]
    scores: list[ChurnScore]
    alerts: list[Alert]


class ChurnSinks(Protocol):
    """Receives the week's topic outputs once, at the commit (one Kafka transaction in the lead's layer)."""

    def publish(self, outputs: WeekOutputs) -> None: ...


class MemorySinks:
    """Keeps what was published, by week (tests, the demo without a broker).

    >>> sinks = MemorySinks()
    >>> sinks.publish(WeekOutputs(IsoWeek(2026, 48), [], [], []))
    >>> list(sinks.published)
    ['2026-W48']
    """

    def __init__(self) -> None:
        self.published: dict[str, WeekOutputs] = {}

    def publish(self, outputs: WeekOutputs) -> None:
        self.published[str(outputs.week)] = outputs


class InterruptedRun(RuntimeError):
    """Raised by a step hook to stop a run between steps (tests of the kill-and-rerun guarantee)."""


@dataclass
class JobResult:
    """What one run did: the figures the metrics, the report and the CLI show.

    Parameters
    ----------
    week
        The week run.
    timings, cpu_seconds
        Wall and CPU seconds per step.
    budget_seconds
        The weekly budget.
    counts
        Rows used and skipped by the summaries.
    storage
        Raw vs summary bytes of the week.
    customers_profiled, customers_scored, at_risk, alerts
        Output sizes.
    model_name, model_version
        The scoring model (None: not enough labelled history yet).
    holdout_roc_auc
        ROC AUC of the holdout check (the "last backtest AUC"), None without one.
    predicted_churn, realised_churn
        For the newest labelled cut-off: the mean probability the job predicted then, and the churn share
        observed since (None when unknown).
    full_retrain_cpu_seconds, incremental_update_cpu_seconds
        CPU of this week's full retrain and of the River model's update.
    train_seconds
        Wall seconds of the train step's parts: examples, holdout, fit, incremental.
    output_dir
        Where the week's files are.
    """

    week: str
    timings: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    budget_seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    storage: dict[str, float] = field(default_factory=dict)
    customers_profiled: int = 0
    customers_scored: int = 0
    at_risk: int = 0
    alerts: int = 0
    model_name: str | None = None
    model_version: int | None = None
    training_rows: int = 0
    holdout_roc_auc: float | None = None
    predicted_churn: float | None = None
    realised_churn: float | None = None
    full_retrain_cpu_seconds: float | None = None
    incremental_update_cpu_seconds: float | None = None
    incremental_model: str | None = None
    train_seconds: dict[str, float] = field(default_factory=dict)
    output_dir: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def total_seconds(self) -> float:
        return float(sum(self.timings.values()))

    @property
    def within_budget(self) -> bool:
        return self.total_seconds <= self.budget_seconds

    def as_dict(self) -> dict[str, object]:
        document = asdict(self)
        document["total_seconds"] = self.total_seconds
        document["within_budget"] = self.within_budget
        return document


class _Clock:
    """Wall and CPU seconds per step."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def add(self, step: str, wall: float, cpu: float) -> None:
        self.wall[step] = self.wall.get(step, 0.0) + wall
        self.cpu[step] = self.cpu.get(step, 0.0) + cpu

    def measure(self, step: str, function: Callable[[], object]) -> object:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return function()
        finally:
            self.add(step, time.perf_counter() - wall, time.process_time() - cpu)


class _RawSizer:
    """Bytes of the raw transactions as zstd Parquet, measured over fixed blocks of rows, so the figure
    does not depend on how the source cut its chunks."""

    def __init__(self, block_rows: int = 100_000) -> None:
        self.block_rows = block_rows
        self.bytes = 0
        self._buffer: list[pd.DataFrame] = []
        self._buffered = 0

    def add(self, chunk: pd.DataFrame) -> None:
        self._buffer.append(chunk)
        self._buffered += len(chunk)
        while self._buffered >= self.block_rows:
            rows = pd.concat(self._buffer, ignore_index=True)
            self.bytes += parquet_bytes(rows.iloc[: self.block_rows])
            rest = rows.iloc[self.block_rows :]
            self._buffer, self._buffered = [rest], len(rest)

    def finish(self) -> int:
        if self._buffered:
            self.bytes += parquet_bytes(pd.concat(self._buffer, ignore_index=True))
            self._buffer, self._buffered = [], 0
        return self.bytes


def _timed_chunks(chunks: Iterator[pd.DataFrame], clock: _Clock) -> Iterator[pd.DataFrame]:
    """The chunks, with the time spent producing each one counted as extract."""
    while True:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            chunk = next(chunks)
        except StopIteration:
            clock.add("extract", time.perf_counter() - wall, time.process_time() - cpu)
            return
        clock.add("extract", time.perf_counter() - wall, time.process_time() - cpu)
        yield chunk


class ChurnJob:
    """Runs the weekly job on a directory of its own.

    Parameters
    ----------
    settings
        The `[churn]` settings.
    root
        The job's directory (default `settings.output_dir`): `archive/`, `weeks/<week>/`, `partials/`.
    step_hook
        Called with each step's name once it is done (and `commit:archive` between the two renames of the
        commit); tests raise `InterruptedRun` from it to simulate a kill.

    >>> import tempfile
    >>> week = IsoWeek(2026, 48)
    >>> frame = pd.DataFrame({"customer_id": ["u-1", "u-2"], "amount": [12.0, 30.0],
    ...     "event_time": [week.start_seconds + 60.0, week.start_seconds + 7_200.0]})
    >>> job = ChurnJob(ChurnSettings(), Path(tempfile.mkdtemp()))
    >>> sinks = MemorySinks()
    >>> result = job.run(week, FrameSource(frame), sinks)
    >>> result.customers_profiled, result.model_name, len(sinks.published["2026-W48"].profiles)
    (2, None, 2)
    """

    def __init__(
        self,
        settings: ChurnSettings,
        root: Path | None = None,
        step_hook: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.root = Path(root if root is not None else settings.output_dir)
        self.archive = SummaryArchive(self.root / "archive")
        self.weeks_dir = self.root / "weeks"
        self.partials_dir = self.root / "partials"
        self.step_hook = step_hook
        self._current: tuple[IsoWeek, pd.DataFrame] = (IsoWeek(1970, 2), pd.DataFrame(columns=SUMMARY_INPUTS))
        self._week_cache: dict[int, pd.DataFrame | None] = {}
        self._buyer_cache: dict[int, pd.Index] = {}
        self.weeks_dir.mkdir(parents=True, exist_ok=True)
        clean_leftovers(self.weeks_dir)

    # -- paths and state ----------------------------------------------------------------------------------
    def week_dir(self, week: IsoWeek) -> Path:
        return self.weeks_dir / str(week)

    def has_run(self, week: IsoWeek) -> bool:
        """True once the week's outputs are committed."""
        return (self.week_dir(week) / "result.json").exists()

    def _done(self, step: str) -> None:
        if self.step_hook is not None:
            self.step_hook(step)

    # -- the partition-parallel part ------------------------------------------------------------------------
    def transform_partition(self, week: IsoWeek, source: TransactionSource, name: str) -> WeeklyPartial:
        """Summarise the transactions of some partitions and save the partial for the merging run."""
        builder = WeeklySummaryBuilder(week)
        for chunk in source.chunks():
            builder.add(chunk)
        partial = builder.partial()
        raw = source.raw_bytes
        with atomic_directory(self.partials_dir / str(week) / name) as directory:
            partial.write(directory)
            (directory / "raw_bytes.json").write_text(json.dumps({"raw_bytes": raw}))
        return partial

    def _merged_partials(self, week: IsoWeek) -> tuple[WeeklyPartial, int | None]:
        directory = self.partials_dir / str(week)
        clean_leftovers(directory)
        parts = sorted(path for path in directory.iterdir() if path.is_dir()) if directory.exists() else []
        if not parts:
            raise FileNotFoundError(f"no saved partials for {week} under {directory}")
        partial = WeeklyPartial.concat([WeeklyPartial.read(path) for path in parts])
        raw_values = [json.loads((path / "raw_bytes.json").read_text())["raw_bytes"] for path in parts]
        raw = None if any(value is None for value in raw_values) else int(sum(raw_values))
        return partial, raw

    # -- the run ------------------------------------------------------------------------------------------
    def run(
        self, week: IsoWeek, source: TransactionSource | None, sinks: ChurnSinks | None = None
    ) -> JobResult:
        """Run (or re-run, replacing) the week. Without a source, merge the saved partials of the week."""
        settings = self.settings
        clock = _Clock()
        result = JobResult(week=str(week), budget_seconds=settings.weekly_budget_seconds)
        staging = self.weeks_dir / f".{week}.staging"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            return self._run(week, source, sinks, clock, result, staging)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _run(
        self,
        week: IsoWeek,
        source: TransactionSource | None,
        sinks: ChurnSinks | None,
        clock: _Clock,
        result: JobResult,
        staging: Path,
    ) -> JobResult:
        settings = self.settings
        # 1-2. Extract and transform.
        raw_bytes: int | None
        partial: WeeklyPartial
        if source is None:
            wall, cpu = time.perf_counter(), time.process_time()
            partial, raw_bytes = self._merged_partials(week)
            clock.add("transform", time.perf_counter() - wall, time.process_time() - cpu)
            clock.add("extract", 0.0, 0.0)
        else:
            builder = WeeklySummaryBuilder(week)
            sizer = _RawSizer()
            for chunk in _timed_chunks(source.chunks(), clock):
                if source.raw_bytes is None:
                    clock.measure("extract", lambda chunk=chunk: sizer.add(chunk))  # type: ignore[misc]
                clock.measure("transform", lambda chunk=chunk: builder.add(chunk))  # type: ignore[misc]
            wall, cpu = time.perf_counter(), time.process_time()
            partial = builder.partial()
            clock.add("transform", time.perf_counter() - wall, time.process_time() - cpu)
            raw_bytes = source.raw_bytes if source.raw_bytes is not None else sizer.finish()
        self._done("extract")
        started_wall, started_cpu = time.perf_counter(), time.process_time()
        summaries = partial.summaries()
        categories = partial.category_totals()
        result.counts = {key: int(value) for key, value in vars(partial.counts).items()}
        self._current = (week, summaries)
        self._week_cache = {}  # each archived week is read once per run
        self._buyer_cache = {}
        recent = self._window(week - (settings.history_weeks - 1), week)
        profiles = build_profiles(
            recent, self._categories(week, categories), week, window_weeks=settings.profile_weeks
        )
        profile_events = profile_records(profiles, week, settings.profile_weeks)
        result.customers_profiled = len(profiles)
        clock.add("transform", time.perf_counter() - started_wall, time.process_time() - started_cpu)
        self._done("transform")
        # 3. Train.
        started_wall, started_cpu = time.perf_counter(), time.process_time()
        model, holdout, holdout_note = self._train(week, result, staging)
        clock.add("train", time.perf_counter() - started_wall, time.process_time() - started_cpu)
        self._done("train")
        # 4. Score.
        started_wall, started_cpu = time.perf_counter(), time.process_time()
        score_events: list[ChurnScore] = []
        alert_events: list[Alert] = []
        if model is not None:
            features = build_features(
                recent, week, active_weeks=settings.active_weeks, history_weeks=settings.history_weeks
            )
            scores = score_customers(
                model,
                features,
                week,
                medium=settings.medium_risk_probability,
                high=settings.high_risk_probability,
                top_reasons=settings.top_reasons,
            )
            scores.to_parquet(staging / "scores.parquet", compression="zstd", index=False)
            write_at_risk_list(at_risk_list(scores, settings.at_risk_probability), staging)
            policy = ChurnAlertPolicy(
                threshold=settings.alert_probability,
                min_monetary_value=settings.alert_min_monetary_value,
                value_quantile=settings.alert_value_quantile,
                rise=settings.alert_rise,
            )
            alerted, state = policy.select(scores, self._previous_alert_state(week), week)
            alert_events = policy.alerts(alerted, week, model.spec.name, model_version(week))
            alerted.to_parquet(staging / "alerts.parquet", compression="zstd", index=False)
            state.to_parquet(staging / "alert_state.parquet", index=False)
            score_events = score_records(scores, week, settings.horizon_weeks)
            result.customers_scored = len(scores)
            result.at_risk = int((scores["probability"] >= settings.at_risk_probability).sum())
            result.alerts = len(alert_events)
        else:
            empty_state().to_parquet(staging / "alert_state.parquet", index=False)
        profiles.to_parquet(staging / "profiles.parquet", compression="zstd", index=False)
        clock.add("score", time.perf_counter() - started_wall, time.process_time() - started_cpu)
        self._done("score")
        # 5. Report (timings so far; the commit's are in result.json).
        started_wall, started_cpu = time.perf_counter(), time.process_time()
        storage = WeekStorage(
            week=str(week),
            raw_bytes=int(raw_bytes or 0),
            summary_bytes=parquet_bytes(summaries) + parquet_bytes(categories),
            transactions=int(partial.counts.used),
            customers=len(summaries),
        )
        content = ReportContent(
            week=str(week),
            model_name=model.spec.name if model is not None else "(none yet)",
            model_version=model_version(week) if model is not None else 0,
            model_text=model.describe() if model is not None else "Not enough labelled history to train yet.",
            importances=model.importances() if model is not None else None,
            timings=dict(clock.wall),
            budget_seconds=settings.weekly_budget_seconds,
            holdout=holdout,
            holdout_note=holdout_note,
            facts=self._facts(result, storage),
        )
        write_report(content, staging / "report.html")
        clock.add("report", time.perf_counter() - started_wall, time.process_time() - started_cpu)
        self._done("report")
        # 6. Commit: archive week, week outputs, then the topics.
        started_wall, started_cpu = time.perf_counter(), time.process_time()
        storage = self.archive.write_week(
            week, summaries, categories, raw_bytes=int(raw_bytes or 0), transactions=int(partial.counts.used)
        )
        result.storage = {
            "raw_bytes": storage.raw_bytes,
            "summary_bytes": storage.summary_bytes,
            "reduction": storage.reduction,
        }
        self._done("commit:archive")
        result.output_dir = str(self.week_dir(week))
        clock.add("commit", time.perf_counter() - started_wall, time.process_time() - started_cpu)
        result.timings, result.cpu_seconds = dict(clock.wall), dict(clock.cpu)
        (staging / "result.json").write_text(json.dumps(result.as_dict(), indent=2, default=float) + "\n")
        with atomic_directory(self.week_dir(week)) as directory:
            for entry in staging.iterdir():
                shutil.move(str(entry), directory / entry.name)
        if sinks is not None:
            sinks.publish(WeekOutputs(week, profile_events, score_events, alert_events))
        self._done("commit")
        return result

    # -- helpers --------------------------------------------------------------------------------------------
    def _window(self, first: IsoWeek, last: IsoWeek) -> pd.DataFrame:
        """Summary rows (the columns features and labels read) of the weeks `first` to `last`: archived
        weeks, and this run's week (not archived until the commit). Read per window, so memory holds one
        window of weeks at a time, not the whole history."""
        current_week, current = self._current
        frames = []
        for index in range(first.index, last.index + 1):
            frame: pd.DataFrame | None
            if index == current_week.index:
                frame = current[list(SUMMARY_INPUTS)]
            elif index in self._week_cache:
                frame = self._week_cache[index]
            else:
                week = IsoWeek.from_index(index)
                has = index < current_week.index and self.archive.has(week)
                frame = self.archive.read(week, week, columns=list(SUMMARY_INPUTS)) if has else None
                self._week_cache[index] = frame
            if frame is not None and len(frame):
                frames.append(frame)
        if not frames:
            return current[list(SUMMARY_INPUTS)].iloc[:0]
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    def _categories(self, week: IsoWeek, current: pd.DataFrame) -> pd.DataFrame:
        first = week - (self.settings.profile_weeks - 1)
        archived = self.archive.read(first, week - 1, table="categories")
        frames = [frame for frame in (archived, current) if len(frame)]
        return pd.concat(frames, ignore_index=True) if frames else current

    def _previous_alert_state(self, week: IsoWeek) -> pd.DataFrame | None:
        path = self.week_dir(week - 1) / "alert_state.parquet"
        return pd.read_parquet(path) if path.exists() else None

    def _buyers(self, week: IsoWeek) -> pd.Index:
        """Customers with a purchase in `week` (cached: the horizons of successive cut-offs overlap)."""
        if week.index not in self._buyer_cache:
            frame = self._window(week, week)
            self._buyer_cache[week.index] = pd.Index(
                frame.loc[frame["purchase_count"] > 0, "customer_id"].unique()
            )
        return self._buyer_cache[week.index]

    def _forget_before(self, week_index: int, buyers_index: int) -> None:
        for index in [index for index in self._week_cache if index < week_index]:
            del self._week_cache[index]
        for index in [index for index in self._buyer_cache if index < buyers_index]:
            del self._buyer_cache[index]

    def _examples(self, cutoffs: list[IsoWeek], last_complete: IsoWeek) -> pd.DataFrame:
        """Labelled examples at `cutoffs`: features from each cut-off's own window of weeks, labels from
        the sets of buyers of the H weeks after it (the same definition as `labels.churn_labels`)."""
        settings = self.settings
        horizon = settings.horizon_weeks
        frames = []
        for cutoff in cutoffs:
            if cutoff + horizon > last_complete:
                raise ValueError(f"the labels of {cutoff} need the weeks up to {cutoff + horizon}")
            first = cutoff - (settings.history_weeks - 1)
            # Cut-offs go oldest first, so weeks before this window (and buyers of weeks up to the cut-off)
            # are not needed again: dropping them keeps one window of weeks in memory, not the history.
            self._forget_before(first.index, cutoff.index + 1)
            window = self._window(first, cutoff)
            features = build_features(
                window, cutoff, active_weeks=settings.active_weeks, history_weeks=settings.history_weeks
            )
            bought = [self._buyers(cutoff + offset) for offset in range(1, horizon + 1)]
            came_back = np.zeros(len(features), dtype=bool)
            for buyers in bought:
                came_back |= is_member(features.index, buyers)
            frame = features.assign(**{LABEL_COLUMN: ~came_back}).reset_index()
            frame.insert(0, CUTOFF_COLUMN, str(cutoff))
            frames.append(frame)
        frames = [frame for frame in frames if len(frame)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def _train(
        self, week: IsoWeek, result: JobResult, staging: Path
    ) -> tuple[ChurnModel | None, pd.DataFrame | None, str]:
        settings = self.settings
        horizon = settings.horizon_weeks
        newest = week - horizon  # the newest cut-off whose horizon is complete
        archived = self.archive.weeks()
        first_week = min([*archived, week])
        earliest = first_week + (_WARMUP_WEEKS - 1)
        if newest < earliest:
            result.notes.append(f"no model yet: the first model comes with week {earliest + horizon}")
            return None, None, f"Training starts once {earliest} has a complete {horizon}-week horizon."
        count = settings.training_cutoffs
        # The newest `count` labelled cut-offs train the model. Without stored scores for the newest one,
        # the `count` cut-offs labelled `horizon` weeks before it train a model for the holdout check.
        wanted = [newest - offset for offset in range(horizon + count) if newest - offset >= earliest]
        training_weeks = sorted(cutoff for cutoff in wanted if newest - cutoff < count)
        holdout_weeks = sorted(cutoff for cutoff in wanted if newest - cutoff >= horizon)[-count:]
        if (self.week_dir(newest) / "scores.parquet").exists() or not settings.train_holdout_when_missing:
            holdout_weeks = []
        started = time.perf_counter()
        examples = self._examples(sorted(set(training_weeks) | set(holdout_weeks)), week)
        result.train_seconds["examples"] = time.perf_counter() - started
        if examples.empty:
            return None, None, "No customer at the labelled cut-offs."
        week_of = week_indices(examples[CUTOFF_COLUMN])
        spec = settings.model_spec()
        training = self._bounded(examples[np.isin(week_of, [cutoff.index for cutoff in training_weeks])])
        rows = TrainingRows(training)
        if rows.labels.nunique() < 2:
            result.notes.append("no model: the training rows have a single class")
            return None, None, "The training rows have a single class."
        holdout_frame: pd.DataFrame | None = None
        note = f"No holdout: no cut-off labelled {horizon} weeks before {newest} yet."
        scored_then = self.week_dir(newest) / "scores.parquet"
        before = pd.DataFrame()
        if not scored_then.exists() and settings.train_holdout_when_missing:
            before = self._bounded(examples[np.isin(week_of, [cutoff.index for cutoff in holdout_weeks])])
        if scored_then.exists():
            # The honest backtest: what the job predicted at the newest labelled cut-off, against what
            # happened since. It costs no training.
            predicted = pd.read_parquet(scored_then, columns=["customer_id", "probability"])
            labelled = examples.loc[week_of == newest.index, [CUTOFF_COLUMN, "customer_id", LABEL_COLUMN]]
            holdout_frame = labelled.merge(predicted, on="customer_id", how="inner")
            note = (
                f"Holdout: the scores written for {newest} ({len(holdout_frame):,} customers), against churn "
                f"observed in the {horizon} weeks since."
            )
        elif len(before) and before[LABEL_COLUMN].nunique() == 2:
            started = time.perf_counter()
            check = ChurnModel(spec)
            check.fit(TrainingRows(before.reset_index(drop=True)))
            test = examples[week_of == newest.index].reset_index(drop=True)
            holdout_frame = test[[CUTOFF_COLUMN, "customer_id", LABEL_COLUMN]].copy()
            holdout_frame["probability"] = np.round(check.predict_proba(test), 6)
            result.train_seconds["holdout"] = time.perf_counter() - started
            note = (
                f"Holdout: cut-off {newest} ({len(test):,} customers, churn = no purchase in the {horizon} "
                f"weeks after), scored by a model trained on {len(holdout_weeks)} cut-off(s) labelled "
                "before it."
            )
        if holdout_frame is not None:
            if holdout_frame[LABEL_COLUMN].nunique() == 2:
                from sklearn.metrics import roc_auc_score

                result.holdout_roc_auc = float(
                    roc_auc_score(holdout_frame[LABEL_COLUMN], holdout_frame["probability"])
                )
            holdout_frame.to_parquet(staging / "holdout.parquet", index=False)
        started = time.perf_counter()
        model = ChurnModel(spec)
        result.full_retrain_cpu_seconds = model.fit(rows)
        result.train_seconds["fit"] = time.perf_counter() - started
        result.model_name, result.model_version = spec.name, model_version(week)
        result.training_rows = len(rows)
        with open(staging / "model.pkl", "wb") as handle:
            pickle.dump(model, handle)
        newest_rows = examples[week_of == newest.index]
        if len(newest_rows):
            result.realised_churn = float(newest_rows[LABEL_COLUMN].mean())
        scored_then = self.week_dir(newest) / "scores.parquet"
        if scored_then.exists():
            scored = pd.read_parquet(scored_then, columns=["probability"])
            result.predicted_churn = float(scored["probability"].mean())
        started = time.perf_counter()
        self._update_incremental(
            week, examples[np.isin(week_of, [c.index for c in training_weeks])], newest, result, staging
        )
        result.train_seconds["incremental"] = time.perf_counter() - started
        return model, holdout_frame, note

    def _bounded(self, examples: pd.DataFrame) -> pd.DataFrame:
        limit = self.settings.max_training_rows
        if len(examples) <= limit:
            return examples
        return examples.sample(n=limit, random_state=self.settings.seed).sort_index().reset_index(drop=True)

    def _update_incremental(
        self, week: IsoWeek, examples: pd.DataFrame, newest: IsoWeek, result: JobResult, staging: Path
    ) -> None:
        spec = self.settings.incremental_spec()
        if spec is None:
            return
        previous = self.week_dir(week - 1) / "incremental_model.pkl"
        model: ChurnModel
        if previous.exists():
            with open(previous, "rb") as handle:
                model = pickle.load(handle)
            new_rows = examples[examples[CUTOFF_COLUMN] == str(newest)]
        else:  # no state from last week: learn every labelled cut-off once
            model = ChurnModel(spec)
            new_rows = examples
        limit = self.settings.max_incremental_rows
        if len(new_rows) > limit:  # River learns row by row in Python: bound the weekly update
            new_rows = new_rows.sample(n=limit, random_state=self.settings.seed).sort_index()
        if len(new_rows):
            result.incremental_update_cpu_seconds = model.fit(TrainingRows(new_rows.reset_index(drop=True)))
        result.incremental_model = spec.name
        with open(staging / "incremental_model.pkl", "wb") as handle:
            pickle.dump(model, handle)

    def _facts(self, result: JobResult, storage: WeekStorage) -> dict[str, str]:
        def optional(value: float | None, pattern: str) -> str:
            return (
                "n/a"
                if value is None or (isinstance(value, float) and np.isnan(value))
                else pattern.format(value)
            )

        counts = result.counts
        return {
            "transactions summarised": f"{counts.get('used', 0):,}",
            "rows skipped (outside the week / no customer / bad amount)": (
                f"{counts.get('outside_week', 0):,} / {counts.get('without_customer', 0):,} / "
                f"{counts.get('not_positive', 0):,}"
            ),
            "customers profiled": f"{result.customers_profiled:,}",
            "customers scored": f"{result.customers_scored:,}",
            "at-risk list": f"{result.at_risk:,}",
            "churn alerts": f"{result.alerts:,}",
            "training rows": f"{result.training_rows:,}",
            "holdout ROC AUC": optional(result.holdout_roc_auc, "{:.3f}"),
            "predicted churn (newest labelled cut-off)": optional(result.predicted_churn, "{:.1%}"),
            "realised churn (newest labelled cut-off)": optional(result.realised_churn, "{:.1%}"),
            "full retrain CPU seconds": optional(result.full_retrain_cpu_seconds, "{:.2f}"),
            f"incremental update CPU seconds ({result.incremental_model or 'none'})": optional(
                result.incremental_update_cpu_seconds, "{:.2f}"
            ),
            "raw transaction bytes": f"{storage.raw_bytes:,}",
            "summary bytes": f"{storage.summary_bytes:,}",
            "storage reduction": optional(storage.reduction if storage.summary_bytes else None, "{:.1f}x"),
        }


def run_weeks(
    job: ChurnJob,
    weeks: list[IsoWeek],
    sources: Callable[[IsoWeek], TransactionSource],
    sinks: ChurnSinks | None,
) -> list[JobResult]:
    """Run several weeks in order (the scheduler catching up, the demo)."""
    return [job.run(week, sources(week), sinks) for week in weeks]


__all__ = [
    "STEPS",
    "ChunkCounts",
    "ChurnJob",
    "ChurnSinks",
    "FrameSource",
    "InterruptedRun",
    "JobResult",
    "MemorySinks",
    "ModelSpec",
    "ParquetSource",
    "TransactionSource",
    "WeekOutputs",
    "run_weeks",
]
