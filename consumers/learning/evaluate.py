"""Progressive (test-then-train) validation with delayed labels over a labelled CSV or Parquet file.

Each row is scored before its label is known; the label is revealed `delay` seconds of event time later,
and only then does the model learn from it. The pipeline is the services' own: the fraud task builds the
per-card features and applies the prefilter, the maintenance task builds window + history features, and
every strategy's model comes from the model factory. Two baselines are available: `constant` (every row
scores 0, without rules: ROC AUC 0.5) and, for fraud, `rules` (the prefilter alone, 0.5 where no rule fires).
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from consumers.fraud.features import FraudFeatures
from consumers.fraud.prefilter import Prefilter
from consumers.fraud.settings import FraudSettings
from consumers.learning.champion import ModelSlot
from consumers.learning.settings import ModelSettings, ScorerSettings, ThresholdSettings
from consumers.learning.thresholds import build_threshold
from consumers.maintenance.features import STATISTICS, MaintenanceFeatures
from consumers.maintenance.settings import MaintenanceSettings
from contracts import Transaction
from streaming.config import Settings
from streaming.schemas import WindowAggregate

__all__ = [
    "BASELINES",
    "StrategyResult",
    "average_precision",
    "evaluate_frame",
    "load_frame",
    "roc_auc",
]

Task = Literal["maintenance", "fraud", "generic"]
BASELINES: tuple[str, ...] = ("constant", "rules")


def roc_auc(labels: Sequence[bool] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Exact ROC AUC (ties count half); NaN when one class is missing.

    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y = np.asarray(labels, dtype=bool)
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    ranks = rankdata(np.asarray(scores, dtype=float))
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def average_precision(labels: Sequence[bool] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """PR AUC as average precision (the step-wise area, no interpolation); NaN without positives.

    >>> average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.8333333333333333
    """
    y = np.asarray(labels, dtype=bool)
    if not y.any():
        return math.nan
    s = np.asarray(scores, dtype=float)
    order = np.argsort(-s, kind="stable")
    y_sorted, s_sorted = y[order], s[order]
    # Group tied scores: a threshold cannot separate them.
    last_of_group = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    true_positives = np.cumsum(y_sorted)[last_of_group]
    alerted = (np.arange(len(y_sorted)) + 1)[last_of_group]
    precision = true_positives / alerted
    recall_gain = np.diff(np.r_[0, true_positives]) / y.sum()
    return float((precision * recall_gain).sum())


@dataclass
class StrategyResult:
    """One row of the strategies table."""

    strategy: str
    model: str
    roc_auc: float
    pr_auc: float
    precision: float
    recall: float
    f1: float
    threshold: float
    microseconds_per_event: float
    events: int
    positives: int
    learned: int
    skipped_by_rules: int = 0
    curve: list[tuple[int, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("curve")
        return {
            key: (None if isinstance(value, float) and math.isnan(value) else value)
            for key, value in data.items()
        }


def load_frame(path: str | Path) -> pd.DataFrame:
    """A CSV or Parquet file, by suffix."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if path.suffix.lower() in (".csv", ".gz", ".txt"):
        return pd.read_csv(path)
    raise ValueError(f"{path}: unknown format (use .csv or .parquet)")


# Per-task featurisers: a function from a row to (features, rule score or None) ---------------------------

Featuriser = Callable[[dict[str, Any], float], tuple[dict[str, float], float | None]]


def _fraud_featuriser(settings: Settings, use_rules: bool) -> tuple[Featuriser, Prefilter]:
    features = FraudFeatures(ttl_seconds=settings.section("fraud", FraudSettings).card_state_ttl_seconds)
    config = settings.section("fraud", FraudSettings).model_copy(update={"prefilter_enabled": use_rules})
    prefilter = Prefilter(config, export=False)

    def featurise(row: dict[str, Any], event_time: float) -> tuple[dict[str, float], float | None]:
        tx = _transaction(row, event_time)
        x = features.transform(tx)
        decision = prefilter.decide(x)
        return x, (decision.score if decision is not None else None)

    return featurise, prefilter


def _transaction(row: dict[str, Any], event_time: float) -> Transaction:
    def text(name: str, default: str) -> str:
        value = row.get(name)
        return default if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)

    return Transaction(
        transaction_id=text("transaction_id", "t"),
        card_id=text("card_id", "card"),
        customer_id=text("customer_id", text("card_id", "card")),
        merchant_id=text("merchant_id", "merchant"),
        merchant_category=text("merchant_category", "unknown"),
        amount=float(row["amount"]),
        event_time=event_time,
        latitude=float(row.get("latitude", 0.0) or 0.0),
        longitude=float(row.get("longitude", 0.0) or 0.0),
        device_id=text("device_id", "device"),
        channel=text("channel", "pos"),  # type: ignore[arg-type]
    )


def _maintenance_featuriser(settings: Settings, columns: Sequence[str]) -> Featuriser:
    history = MaintenanceFeatures(
        history_windows=settings.section("maintenance", MaintenanceSettings).history_windows
    )
    key_column = next((name for name in ("machine_id", "key", "entity_id") if name in columns), None)
    fields: dict[str, tuple[str, str]] = {}
    for column in columns:
        head, _, statistic = column.rpartition("_")
        if head and statistic in STATISTICS | {"first", "last", "count"}:
            fields[column] = (head, statistic)

    def featurise(row: dict[str, Any], event_time: float) -> tuple[dict[str, float], float | None]:
        aggregates: dict[str, dict[str, float]] = {}
        for column, (name, statistic) in fields.items():
            value = row.get(column)
            if isinstance(value, int | float) and math.isfinite(value):
                aggregates.setdefault(name, {})[statistic] = float(value)
        window = WindowAggregate(
            key=str(row[key_column]) if key_column else "machine",
            window_start=event_time,
            window_end=event_time,
            count=int(row.get("count", 1) or 1),
            aggregates=aggregates,
            closed_by="watermark",
            attributes={"machine_type": str(row.get("machine_type", ""))},
        )
        return history.transform(window), None

    return featurise


def _generic_featuriser(columns: Sequence[str]) -> Featuriser:
    def featurise(row: dict[str, Any], event_time: float) -> tuple[dict[str, float], float | None]:
        x = {}
        for column in columns:
            value = row.get(column)
            if isinstance(value, bool) or (isinstance(value, int | float) and math.isfinite(value)):
                x[column] = float(value)
        return x, None

    return featurise


# The progressive loop ------------------------------------------------------------------------------------


def _event_times(frame: pd.DataFrame, time_column: str | None) -> np.ndarray:
    if time_column is None:
        # Without a time column, rows are one second apart: --delay then counts rows.
        return np.arange(len(frame), dtype=float) + 1_767_225_600.0
    values = frame[time_column]
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=float)
    parsed = pd.to_datetime(values, utc=True)
    return (parsed.astype("int64") / 1e9).to_numpy(dtype=float)


def evaluate_frame(
    frame: pd.DataFrame,
    label_column: str,
    strategies: Sequence[str],
    task: Task = "generic",
    time_column: str | None = None,
    delay_seconds: float = 0.0,
    settings: Settings | None = None,
    threshold: ThresholdSettings | None = None,
    use_rules: bool = True,
    curve_points: int = 50,
    advance: Callable[[int], None] | None = None,
) -> list[StrategyResult]:
    """Run every strategy over the frame; see the module docstring.

    >>> import pandas as pd, random
    >>> rng = random.Random(0)
    >>> rows = [{"x": rng.random()} for _ in range(400)]
    >>> frame = pd.DataFrame([{**row, "y": row["x"] + rng.gauss(0, 0.2) > 0.9} for row in rows])
    >>> [result.strategy for result in evaluate_frame(frame, "y", ["constant", "plain"], delay_seconds=5)]
    ['constant', 'plain']
    """
    settings = settings or Settings()
    if label_column not in frame.columns:
        raise ValueError(f"no label column {label_column!r}; columns: {', '.join(map(str, frame.columns))}")
    if time_column is not None and time_column not in frame.columns:
        raise ValueError(f"no time column {time_column!r}")
    times = _event_times(frame, time_column)
    order = np.argsort(times, kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    times = times[order]
    labels = frame[label_column].astype(bool).to_numpy()
    feature_columns = [column for column in frame.columns if column not in (label_column, time_column)]
    rows: list[dict[str, Any]] = frame[feature_columns].to_dict("records")  # type: ignore[assignment]
    if threshold is None:
        section: ScorerSettings = (
            settings.section("fraud", FraudSettings)
            if task == "fraud"
            else settings.section("maintenance", MaintenanceSettings)
        )
        threshold = section.threshold
    results = []
    for strategy in strategies:
        results.append(
            _run_strategy(
                strategy,
                rows,
                times,
                labels,
                task,
                feature_columns,
                delay_seconds,
                settings,
                threshold,
                use_rules,
                curve_points,
                advance,
            )
        )
    return results


def _run_strategy(
    strategy: str,
    rows: list[dict[str, Any]],
    times: np.ndarray,
    labels: np.ndarray,
    task: Task,
    columns: Sequence[str],
    delay_seconds: float,
    settings: Settings,
    threshold_settings: ThresholdSettings,
    use_rules: bool,
    curve_points: int,
    advance: Callable[[int], None] | None,
) -> StrategyResult:
    from consumers.learning.models import strategy_settings

    if task == "fraud":
        rules = (use_rules and strategy != "constant") or strategy == "rules"
        featurise, _ = _fraud_featuriser(settings, rules)
    elif task == "maintenance":
        featurise = _maintenance_featuriser(settings, columns)
    else:
        featurise = _generic_featuriser(columns)
    baseline = strategy if strategy in BASELINES else None
    if baseline == "rules" and task != "fraud":
        raise ValueError("the rules baseline exists for --task fraud only")
    defaults = (
        settings.section("fraud", FraudSettings)
        if task == "fraud"
        else settings.section("maintenance", MaintenanceSettings)
    ).champion
    model_settings: ModelSettings = defaults if baseline else strategy_settings(strategy, defaults)
    slot = ModelSlot("evaluate", "champion", model_settings, top_features=0, export=False)
    threshold = build_threshold(threshold_settings)
    waiting: list[tuple[float, int, dict[str, float], bool, float]] = []
    scores = np.zeros(len(rows))
    decisions = np.zeros(len(rows), dtype=bool)
    skipped = 0
    started = time.perf_counter()
    for index, row in enumerate(rows):
        now = float(times[index])
        while waiting and waiting[0][0] <= now:
            _, _, x_old, y_old, score_old = heapq.heappop(waiting)
            threshold.observe_label(score_old, y_old)
            if baseline is None:
                slot.learn(x_old, y_old)
        x, rule_score = featurise(row, now)
        if rule_score is not None:
            score = rule_score
            skipped += 1
        elif baseline == "rules":
            score = 0.5
        elif baseline == "constant":
            score = 0.0
        else:
            score = slot.score(x)
        scores[index] = score
        decisions[index] = score >= threshold.value
        threshold.observe_score(score, now)
        if rule_score is None:
            heapq.heappush(waiting, (now + delay_seconds, index, x, bool(labels[index]), score))
        if advance is not None:
            advance(1)
    elapsed = time.perf_counter() - started
    return _result(
        strategy,
        slot.name if baseline is None else baseline,
        labels,
        scores,
        decisions,
        threshold.value,
        elapsed,
        slot.learned,
        skipped,
        curve_points,
    )


def _result(
    strategy: str,
    model: str,
    labels: np.ndarray,
    scores: np.ndarray,
    decisions: np.ndarray,
    threshold: float,
    elapsed: float,
    learned: int,
    skipped: int,
    curve_points: int,
) -> StrategyResult:
    true_positives = int((decisions & labels).sum())
    alerted = int(decisions.sum())
    positives = int(labels.sum())
    precision = true_positives / alerted if alerted else 0.0
    recall = true_positives / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return StrategyResult(
        strategy=strategy,
        model=model,
        roc_auc=roc_auc(labels, scores),
        pr_auc=average_precision(labels, scores),
        precision=precision,
        recall=recall,
        f1=f1,
        threshold=threshold,
        microseconds_per_event=elapsed / max(1, len(labels)) * 1e6,
        events=len(labels),
        positives=positives,
        learned=learned,
        skipped_by_rules=skipped,
        curve=list(_curve(labels, scores, curve_points)),
    )


def _curve(labels: np.ndarray, scores: np.ndarray, points: int) -> Iterator[tuple[int, float]]:
    """ROC AUC over consecutive chunks of the stream: how quality evolves (and where it drifts)."""
    if len(labels) == 0:
        return
    size = max(1, math.ceil(len(labels) / points))
    for start in range(0, len(labels), size):
        value = roc_auc(labels[start : start + size], scores[start : start + size])
        yield start + size, value


def plot(results: Sequence[StrategyResult], path: str | Path, title: str) -> Path:
    """ROC AUC over the stream, one line per strategy, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(9, 4.5))
    for result in results:
        xs = [point[0] for point in result.curve]
        ys = [point[1] for point in result.curve]
        axis.plot(xs, ys, label=f"{result.strategy} ({result.roc_auc:.3f})", linewidth=1.4)
    axis.set_xlabel("events")
    axis.set_ylabel("ROC AUC per chunk")
    axis.set_ylim(0.0, 1.02)
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    target = Path(path)
    figure.savefig(target, dpi=110)
    plt.close(figure)
    return target
