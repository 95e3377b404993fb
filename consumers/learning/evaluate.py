"""Progressive (test-then-train) validation with delayed labels over a labelled CSV or Parquet file.

Each row is scored before its label is known; the label is revealed `delay` seconds of event time later,
and only then does the model learn from it. The pipeline is the services' own: the fraud task builds the
per-card features and applies the prefilter, the maintenance task builds window + history features, and
every strategy's model, calibrator, threshold and alert budget come from the same classes the services
use. Decisions follow the services' rules too: a model that has not learned a positive yet never alerts,
and at most `alerts_per_hour` alerts are raised per hour of event time (the recall "at the alert budget").

Two baselines are available: `constant` (every row scores 0, without rules: ROC AUC 0.5) and, for fraud,
`rules` (the prefilter alone, 0.5 where no rule fires). `default` is the task's configured champion.
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

from consumers.fraud.features import FraudFeatures
from consumers.fraud.prefilter import Prefilter
from consumers.fraud.settings import FraudSettings
from consumers.learning.champion import ModelSlot
from consumers.learning.inputs import (
    FeaturePlan,
    InputError,
    event_times,
    load_frame,
    parse_labels,
    plan_features,
)
from consumers.learning.ranking import average_precision, roc_auc
from consumers.learning.settings import ModelSettings, ScorerSettings, ThresholdSettings
from consumers.learning.thresholds import AlertBudget, build_threshold
from consumers.maintenance.features import MaintenanceFeatures
from consumers.maintenance.settings import MaintenanceSettings
from contracts import Transaction
from streaming.config import Settings
from streaming.schemas import WindowAggregate

__all__ = [
    "BASELINES",
    "InputError",
    "StrategyResult",
    "average_precision",
    "evaluate_frame",
    "load_frame",
    "roc_auc",
    "strategy_model",
]

Task = Literal["maintenance", "fraud", "generic"]
BASELINES: tuple[str, ...] = ("constant", "rules")
_CHANNELS = frozenset({"pos", "online", "atm", "contactless"})


@dataclass
class StrategyResult:
    """One row of the strategies table.

    `roc_auc`/`pr_auc` rank the raw scores (what thresholds see); `calibrated_roc_auc`/`calibrated_pr_auc`
    rank the probabilities as they were emitted (the calibration changes as it learns, which may reorder
    scores from different moments). Precision and recall are of the alerts raised within the budget.
    """

    strategy: str
    model: str
    roc_auc: float
    pr_auc: float
    calibrated_roc_auc: float
    calibrated_pr_auc: float
    precision: float
    recall: float
    f1: float
    alerts: int
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


# Per-task featurisers: a row to (features, rule score or None); `learn` sees each revealed label --------


class _Featuriser:
    def __call__(self, row: dict[str, Any], event_time: float) -> tuple[dict[str, float], float | None]:
        raise NotImplementedError

    def learn(self, row: dict[str, Any], label: bool) -> None:
        """A revealed label (the fraud features count labels per merchant and category)."""


class _FraudFeaturiser(_Featuriser):
    def __init__(self, settings: Settings, use_rules: bool) -> None:
        section = settings.section("fraud", FraudSettings)
        self.features = FraudFeatures(ttl_seconds=section.card_state_ttl_seconds)
        self.prefilter = Prefilter(section.model_copy(update={"prefilter_enabled": use_rules}), export=False)

    def __call__(self, row: dict[str, Any], event_time: float) -> tuple[dict[str, float], float | None]:
        x = self.features.transform(_transaction(row, event_time))
        decision = self.prefilter.decide(x)
        return x, (decision.score if decision is not None else None)

    def learn(self, row: dict[str, Any], label: bool) -> None:
        self.features.learn(
            _text(row, "merchant_id", "merchant"), _text(row, "merchant_category", "unknown"), label
        )


def _text(row: dict[str, Any], name: str, default: str) -> str:
    value = row.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return default
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(row: dict[str, Any], name: str, default: float) -> float:
    value = row.get(name)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


def _transaction(row: dict[str, Any], event_time: float) -> Transaction:
    channel = _text(row, "channel", "pos").lower()
    country = _text(row, "country", "FR").upper()
    card = _text(row, "card_id", "card")
    return Transaction(
        transaction_id=_text(row, "transaction_id", "t"),
        card_id=card,
        customer_id=_text(row, "customer_id", card),
        merchant_id=_text(row, "merchant_id", "merchant"),
        merchant_category=_text(row, "merchant_category", "unknown")[:64] or "unknown",
        amount=min(float(row["amount"]), 1_000_000.0),
        event_time=event_time,
        latitude=max(-90.0, min(90.0, _number(row, "latitude", 0.0))),
        longitude=max(-180.0, min(180.0, _number(row, "longitude", 0.0))),
        device_id=_text(row, "device_id", "device"),
        channel=channel if channel in _CHANNELS else "pos",  # type: ignore[arg-type]
        country=country if len(country) == 2 and country.isalpha() else "FR",
    )


class _MaintenanceFeaturiser(_Featuriser):
    def __init__(self, settings: Settings, plan: FeaturePlan) -> None:
        self.history = MaintenanceFeatures(
            history_windows=settings.section("maintenance", MaintenanceSettings).history_windows
        )
        self.plan = plan

    def __call__(self, row: dict[str, Any], event_time: float) -> tuple[dict[str, float], float | None]:
        aggregates: dict[str, dict[str, float]] = {}
        for column, (name, statistic) in self.plan.sensors.items():
            value = row.get(column)
            if isinstance(value, int | float) and math.isfinite(value):
                aggregates.setdefault(name, {})[statistic] = float(value)
        key = self.plan.key_column
        machine_type = _text(row, self.plan.type_column, "") if self.plan.type_column else ""
        window = WindowAggregate(
            key=_text(row, key, "machine") if key else "machine",
            window_start=event_time,
            window_end=event_time,
            count=int(_number(row, "count", 1.0)) if "count" in row else 1,
            aggregates=aggregates,
            closed_by="watermark",
            attributes={"machine_type": machine_type},
        )
        return self.history.transform(window), None


class _GenericFeaturiser(_Featuriser):
    def __init__(self, plan: FeaturePlan) -> None:
        self.numeric = list(plan.numeric.items())
        self.categories = list(plan.categories)

    def __call__(self, row: dict[str, Any], event_time: float) -> tuple[dict[str, float], float | None]:
        x: dict[str, float] = {}
        for column, name in self.numeric:
            value = row.get(column)
            if isinstance(value, bool) or (isinstance(value, int | float) and math.isfinite(value)):
                x[name] = float(value)
        for column in self.categories:
            value = row.get(column)
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                x[f"{column}={value}"] = 1.0
        return x, None


def _featuriser(task: Task, settings: Settings, plan: FeaturePlan, rules: bool) -> _Featuriser:
    if task == "fraud":
        return _FraudFeaturiser(settings, rules)
    if task == "maintenance":
        return _MaintenanceFeaturiser(settings, plan)
    return _GenericFeaturiser(plan)


# The progressive loop ------------------------------------------------------------------------------------


def _section(settings: Settings, task: Task) -> ScorerSettings:
    if task == "fraud":
        return settings.section("fraud", FraudSettings)
    return settings.section("maintenance", MaintenanceSettings)


def strategy_model(strategy: str, task: Task, settings: Settings | None = None) -> ModelSettings:
    """The model a strategy name stands for: `default` is the task's configured champion (generic files
    use the maintenance champion without its sensor pairs), other names are resolved against it.

    >>> strategy_model("default", "fraud").model, strategy_model("arf3", "fraud").arf_models
    ('additive', 3)
    """
    from consumers.learning.models import strategy_settings

    champion = _section(settings or Settings(), task).champion
    if task == "generic":
        champion = champion.model_copy(update={"pairs": []})
    if strategy == "default":
        return champion
    return strategy_settings(strategy, champion)


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
    positive: str | None = None,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    key_column: str | None = None,
    plan_out: list[FeaturePlan] | None = None,
    starting: Callable[[int, str], None] | None = None,
) -> list[StrategyResult]:
    """Run every strategy over the frame; see the module docstring. Bad input raises `InputError`.

    `plan_out`, if given, receives the feature plan (which columns are used, and why others are not);
    `starting(index, strategy)` is called before each strategy runs.

    >>> import pandas as pd, random
    >>> rng = random.Random(0)
    >>> rows = [{"x": rng.random()} for _ in range(400)]
    >>> frame = pd.DataFrame([{**row, "y": row["x"] + rng.gauss(0, 0.2) > 0.9} for row in rows])
    >>> [result.strategy for result in evaluate_frame(frame, "y", ["constant", "plain"], delay_seconds=5)]
    ['constant', 'plain']
    """
    settings = settings or Settings()
    if label_column not in frame.columns:
        raise InputError(f"no label column {label_column!r}; columns: {', '.join(map(str, frame.columns))}")
    if frame.empty:
        raise InputError("no rows to evaluate")
    if delay_seconds < 0:
        raise InputError("--delay must not be negative")
    for strategy in strategies:
        if strategy == "rules" and task != "fraud":
            raise InputError("the rules baseline exists for --task fraud only")
        if strategy not in BASELINES:
            try:
                strategy_model(strategy, task, settings)
            except ValueError as error:
                raise InputError(str(error)) from None
    labels = parse_labels(frame[label_column], label_column, positive)
    times = event_times(frame, time_column)
    order = np.argsort(times, kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    times, labels = times[order], labels[order]
    plan = plan_features(frame, task, labels, label_column, time_column, key_column, features, exclude)
    if plan_out is not None:
        plan_out.append(plan)
    rows: list[dict[str, Any]] = frame[plan.used].to_dict("records")  # type: ignore[assignment]
    threshold = threshold or _section(settings, task).threshold
    results = []
    for index, strategy in enumerate(strategies):
        if starting is not None:
            starting(index, strategy)
        results.append(
            _run_strategy(
                strategy,
                rows,
                times,
                labels,
                task,
                plan,
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
    plan: FeaturePlan,
    delay_seconds: float,
    settings: Settings,
    threshold_settings: ThresholdSettings,
    use_rules: bool,
    curve_points: int,
    advance: Callable[[int], None] | None,
) -> StrategyResult:
    baseline = strategy if strategy in BASELINES else None
    rules = task == "fraud" and ((use_rules and strategy != "constant") or strategy == "rules")
    featurise = _featuriser(task, settings, plan, rules)
    model_settings = strategy_model("default" if baseline else strategy, task, settings)
    slot = ModelSlot("evaluate", "champion", model_settings, top_features=0, export=False)
    threshold = build_threshold(threshold_settings)
    budget = AlertBudget(threshold_settings.alerts_per_hour)
    # (due time, row, features, label, score, decided by a rule)
    waiting: list[tuple[float, int, dict[str, float], bool, float, bool]] = []
    scores = np.zeros(len(rows))
    probabilities = np.zeros(len(rows))
    alerted = np.zeros(len(rows), dtype=bool)
    skipped = 0
    started = time.perf_counter()
    for index, row in enumerate(rows):
        now = float(times[index])
        while waiting and waiting[0][0] <= now:
            _, old, x_old, y_old, score_old, ruled = heapq.heappop(waiting)
            featurise.learn(rows[old], y_old)
            if ruled:
                continue
            threshold.observe_label(score_old, y_old)
            if baseline is None:
                slot.learn(x_old, y_old, score_old)
        x, rule_score = featurise(row, now)
        if rule_score is not None:
            score = probability = rule_score
            decision = rule_score >= 1.0
            skipped += 1
        else:
            if baseline == "rules":
                score = 0.5
            elif baseline == "constant":
                score = 0.0
            else:
                score = slot.score(x)
            probability = slot.probability(score) if baseline is None else score
            # An untrained model's scores mean nothing: like the services, it does not alert.
            decision = baseline is None and slot.knows_positives and threshold.decide(score)
            threshold.observe_score(score, now)
        scores[index] = score
        probabilities[index] = probability
        alerted[index] = decision and budget.take(now)
        heapq.heappush(
            waiting, (now + delay_seconds, index, x, bool(labels[index]), score, rule_score is not None)
        )
        if advance is not None:
            advance(1)
    elapsed = time.perf_counter() - started
    return _result(
        strategy,
        slot.name if baseline is None else baseline,
        labels,
        scores,
        probabilities,
        alerted,
        threshold.value,
        elapsed,
        slot.learned if baseline is None else 0,
        skipped,
        curve_points,
    )


def _result(
    strategy: str,
    model: str,
    labels: np.ndarray,
    scores: np.ndarray,
    probabilities: np.ndarray,
    alerted: np.ndarray,
    threshold: float,
    elapsed: float,
    learned: int,
    skipped: int,
    curve_points: int,
) -> StrategyResult:
    true_positives = int((alerted & labels).sum())
    alerts = int(alerted.sum())
    positives = int(labels.sum())
    precision = true_positives / alerts if alerts else math.nan
    recall = true_positives / positives if positives else math.nan
    f1 = (
        math.nan
        if math.isnan(precision) or math.isnan(recall)
        else (2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    )
    return StrategyResult(
        strategy=strategy,
        model=model,
        roc_auc=roc_auc(labels, scores),
        pr_auc=average_precision(labels, scores),
        calibrated_roc_auc=roc_auc(labels, probabilities),
        calibrated_pr_auc=average_precision(labels, probabilities),
        precision=precision,
        recall=recall,
        f1=f1,
        alerts=alerts,
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
