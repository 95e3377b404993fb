"""The temporal backtest of churn strategies on any transaction log (CSV or Parquet).

The log is read with the columns the user names (customer id, timestamp, amount; optionally merchant,
category, channel, and a refund convention), summarised week by week, and turned into examples at weekly
cut-offs: features from the weeks up to the cut-off only, the label from the H weeks after it.

Each strategy is judged at every evaluation cut-off after training only on cut-offs whose labels were
known by then (cut-off + H <= evaluation cut-off). A log too short for that (fewer than 2H + 2 weeks, but
at least H + 2) is still evaluated, on customers held out: the training cut-offs come before the
evaluation cut-off and their customers are a disjoint half of the base, so no customer's future is learnt.
The result says which scheme ran.

Reported for each strategy, pooled over the evaluation cut-offs: ROC AUC, PR AUC (average precision),
lift and recall in the top decile (per cut-off, as a retention team would act), and the Brier score.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from consumers.churn.labels import CUTOFF_COLUMN, LABEL_COLUMN, labelled_cutoffs, labelled_examples
from consumers.churn.models import ChurnModel, ModelSpec
from consumers.churn.sampling import EvaluationRows, TrainingRows
from consumers.churn.summaries import WeeklySummaryBuilder
from consumers.churn.weeks import IsoWeek, week_indices

#: Every strategy the issue asks for; the first is the baseline.
ALL_STRATEGIES: tuple[str, ...] = (
    "recency",
    "logistic_rfm",
    "decision_tree",
    "decision_tree+oversample",
    "decision_tree+class_weight",
    "random_forest",
    "random_forest+oversample",
    "random_forest+class_weight",
    "hoeffding_tree+oversample",
    "arf+oversample",
)
BASELINE = "recency"


class TransactionLogError(ValueError):
    """A user mistake in the log or its options; the message is one line, fit for the terminal."""


@dataclass(frozen=True)
class LogColumns:
    """Which columns of the log hold what, and how refunds are told.

    Parameters
    ----------
    customer, time, amount
        Required columns: customer id, timestamp (ISO dates, or epoch numbers in `time_unit`), amount.
    merchant, category, channel
        Optional columns.
    refund_sign
        `"negative"`: a negative amount is a refund (of its absolute value). Without it, negative
        amounts are an error.
    refund_column
        Optional column that is true (1, true, yes, refund) for refunds; amounts then stay as they are
        (their absolute value is used).
    time_unit
        Unit of numeric timestamps: `s` or `ms`.

    >>> LogColumns(customer="CustomerID", time="InvoiceDate", amount="Total").refund_sign is None
    True
    """

    customer: str = "customer_id"
    time: str = "event_time"
    amount: str = "amount"
    merchant: str | None = None
    category: str | None = None
    channel: str | None = None
    refund_sign: Literal["negative"] | None = None
    refund_column: str | None = None
    time_unit: Literal["s", "ms"] = "s"


@dataclass
class LoadedLog:
    """A log in the canonical columns, with what was skipped.

    Parameters
    ----------
    frame
        `customer_id`, `event_time`, `amount`, `is_refund` and the optional columns given.
    rows
        Rows read from the file.
    without_customer
        Rows with no customer id (skipped).
    zero_amount
        Rows with an amount of zero (skipped).

    >>> LoadedLog(pd.DataFrame(), rows=3, without_customer=1).skipped
    1
    """

    frame: pd.DataFrame
    rows: int
    without_customer: int = 0
    zero_amount: int = 0

    @property
    def skipped(self) -> int:
        return self.without_customer + self.zero_amount


def read_table(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A CSV or Parquet file as a frame; a `TransactionLogError` when it cannot be read."""
    path = Path(path)
    if not path.exists():
        raise TransactionLogError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".csv", ".txt", ".gz"):
            return pd.read_csv(path, low_memory=False)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise TransactionLogError(f"{path}: cannot read it ({first_line})") from None
    raise TransactionLogError(f"{path}: unknown file type {suffix!r} (use .csv or .parquet)")


def _epoch_seconds(values: pd.Series, name: str, unit: str) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        seconds = values.to_numpy(dtype="float64") / (1_000.0 if unit == "ms" else 1.0)
        bad = ~np.isfinite(seconds)
        if bad.any():
            raise TransactionLogError(
                f"column {name!r} has {int(bad.sum())} missing or non-finite timestamps"
            )
        if unit == "s" and np.nanmedian(seconds) > 1e11:
            raise TransactionLogError(f"column {name!r} looks like milliseconds; pass --time-unit ms")
        return seconds
    text = values.astype("str")
    parsed = pd.to_datetime(text, utc=True, errors="coerce", format="mixed")
    bad = parsed.isna().to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise TransactionLogError(
            f"column {name!r} has {int(bad.sum())} values that are not dates, e.g. {text.iloc[first]!r} "
            f"(row {first + 1})"
        )
    return (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()


def load_transaction_log(path: Path, columns: LogColumns) -> LoadedLog:
    """Read and check a log; every user mistake is a `TransactionLogError` with a one-line message."""
    raw = read_table(path)
    return prepare_log(raw, columns, source=str(path))


def prepare_log(raw: pd.DataFrame, columns: LogColumns, source: str = "log") -> LoadedLog:
    """Check and convert a log frame already in memory (see `load_transaction_log`).

    >>> raw = pd.DataFrame({"who": ["a", None, "b"], "when": ["2026-01-05", "2026-01-06", "2026-01-07"],
    ...     "paid": [10.0, 3.0, -4.0]})
    >>> log = prepare_log(raw, LogColumns(customer="who", time="when", amount="paid", refund_sign="negative"))
    >>> log.without_customer, log.frame["is_refund"].tolist(), log.frame["amount"].tolist()
    (1, [False, True], [10.0, 4.0])
    """
    wanted = {
        "customer": columns.customer,
        "time": columns.time,
        "amount": columns.amount,
        "merchant": columns.merchant,
        "category": columns.category,
        "channel": columns.channel,
        "refund column": columns.refund_column,
    }
    missing = [
        f"{name} {column!r}" for name, column in wanted.items() if column and column not in raw.columns
    ]
    if missing:
        available = ", ".join(map(str, raw.columns[:20]))
        raise TransactionLogError(
            f"{source}: missing column(s) {', '.join(missing)}; columns are: {available}"
        )
    if raw.empty:
        raise TransactionLogError(f"{source}: the log has no rows")
    rows = len(raw)
    customer = raw[columns.customer]
    text = customer.where(customer.notna(), "").astype("str").str.strip()
    if pd.api.types.is_float_dtype(customer):  # ids read as floats (12346.0) from CSVs with gaps
        text = text.str.replace(r"\.0$", "", regex=True)
    has_customer = (text != "") & (text.str.lower() != "nan")
    amount = pd.to_numeric(raw[columns.amount], errors="coerce")
    if amount.isna().any():
        first = int(np.flatnonzero(amount.isna().to_numpy())[0])
        raise TransactionLogError(
            f"column {columns.amount!r} has {int(amount.isna().sum())} values that are not numbers, "
            f"e.g. {raw[columns.amount].iloc[first]!r} (row {first + 1})"
        )
    if columns.refund_column:
        flag = raw[columns.refund_column].astype("str").str.strip().str.lower()
        is_refund = flag.isin(["1", "true", "yes", "y", "refund", "t"]).to_numpy()
    else:
        negative = (amount < 0).to_numpy()
        if negative.any() and columns.refund_sign != "negative":
            raise TransactionLogError(
                f"column {columns.amount!r} has {int(negative.sum())} negative amounts; if they are refunds, "
                "pass --refund-sign negative (or name a refund column with --refund-column)"
            )
        is_refund = negative
    zero = (amount == 0).to_numpy()
    keep = has_customer.to_numpy() & ~zero
    seconds = _epoch_seconds(raw[columns.time][keep], columns.time, columns.time_unit)
    frame = pd.DataFrame(
        {
            "customer_id": text[keep].to_numpy(),
            "event_time": seconds,
            "amount": amount[keep].abs().to_numpy(dtype="float64"),
            "is_refund": is_refund[keep],
        }
    )
    for name, column in (("merchant_id", columns.merchant), ("merchant_category", columns.category)):
        if column:
            frame[name] = raw[column][keep].astype("str").to_numpy()
    if columns.channel:
        frame["channel"] = raw[columns.channel][keep].astype("str").str.lower().to_numpy()
    frame = frame.sort_values(["event_time", "customer_id"], kind="stable", ignore_index=True)
    return LoadedLog(
        frame,
        rows,
        without_customer=int((~has_customer).sum()),
        zero_amount=int((zero & has_customer.to_numpy()).sum()),
    )


def weekly_summaries(log: pd.DataFrame, advance: Callable[[float], None] | None = None) -> pd.DataFrame:
    """Summaries of every week the log touches (weeks without transactions have no rows)."""
    week_index = np.floor((log["event_time"].to_numpy() - 4 * 86_400) / (7 * 86_400)).astype("int64")
    frames = []
    for index in np.unique(week_index):
        week = IsoWeek.from_index(int(index))
        chunk = log[week_index == index]
        frames.append(WeeklySummaryBuilder(week).add(chunk).partial().summaries())
        if advance is not None:
            advance(len(chunk))
    return pd.concat(frames, ignore_index=True)


def log_weeks(log: pd.DataFrame) -> tuple[IsoWeek, IsoWeek]:
    """First week, and last complete week (the last week counts when the log reaches its last day)."""
    first = IsoWeek.containing(float(log["event_time"].min()))
    latest = float(log["event_time"].max())
    last = IsoWeek.containing(latest)
    if latest < last.end_seconds - 86_400:
        last = last - 1
    return first, last


@dataclass
class StrategyResult:
    """How one strategy did over the evaluation cut-offs.

    Parameters
    ----------
    strategy
        Its name, e.g. `random_forest+oversample`.
    roc_auc, pr_auc, lift_top_decile, recall_top_decile, brier
        The pooled metrics.
    rows, positives
        Evaluation rows and churners among them.
    fit_cpu_seconds
        Mean CPU seconds of one training (a full retrain, or an incremental update).
    """

    strategy: str
    roc_auc: float
    pr_auc: float
    lift_top_decile: float
    recall_top_decile: float
    brier: float
    rows: int
    positives: int
    fit_cpu_seconds: float
    incremental: bool = False


@dataclass
class BacktestResult:
    """Every strategy's result, the scheme used, and the data behind the plots."""

    results: list[StrategyResult]
    scheme: Literal["temporal", "customer holdout"]
    evaluation_cutoffs: list[str]
    horizon_weeks: int
    first_week: str
    last_week: str
    customers: int
    predictions: dict[str, pd.DataFrame] = field(default_factory=dict)

    def result(self, strategy: str) -> StrategyResult:
        return next(result for result in self.results if result.strategy == strategy)


def top_decile(labels: np.ndarray, scores: np.ndarray) -> tuple[int, int]:
    """(churners among the top 10 % by score, size of the top 10 %), ties broken by position.

    >>> top_decile(np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 1]), np.linspace(1, 0, 10))
    (1, 1)
    """
    size = max(1, int(np.ceil(0.1 * len(scores))))
    order = np.argsort(-scores, kind="stable")[:size]
    return int(labels[order].sum()), size


def metrics(frame: pd.DataFrame) -> dict[str, float]:
    """Pooled metrics of a prediction frame (`cutoff`, `churned`, `probability`)."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    labels = frame[LABEL_COLUMN].to_numpy(dtype=bool)
    scores = frame["probability"].to_numpy(dtype="float64")
    both = 0 < labels.sum() < len(labels)
    captured = size = 0
    for _cutoff, group in frame.groupby(CUTOFF_COLUMN, sort=True):
        hit, count = top_decile(group[LABEL_COLUMN].to_numpy(dtype=bool), group["probability"].to_numpy())
        captured, size = captured + hit, size + count
    base_rate = labels.mean() if len(labels) else 0.0
    return {
        "roc_auc": float(roc_auc_score(labels, scores)) if both else float("nan"),
        "pr_auc": float(average_precision_score(labels, scores)) if both else float("nan"),
        "lift_top_decile": float((captured / size) / base_rate) if size and base_rate else float("nan"),
        "recall_top_decile": float(captured / labels.sum()) if labels.sum() else float("nan"),
        "brier": float(brier_score_loss(labels, np.clip(scores, 0, 1))) if len(labels) else float("nan"),
    }


def _half(customers: pd.Series) -> np.ndarray:
    """A stable split of customers in two halves (by a hash of the id, so any re-run splits the same)."""
    return np.array([zlib.crc32(str(customer).encode()) % 2 for customer in customers], dtype=np.int8)


def backtest(
    log: pd.DataFrame,
    strategies: tuple[str, ...] | list[str] = ALL_STRATEGIES,
    horizon_weeks: int = 8,
    warmup_weeks: int = 4,
    training_cutoffs: int = 8,
    active_weeks: int = 4,
    seed: int = 0,
    model_options: dict[str, object] | None = None,
    advance: Callable[[float], None] | None = None,
    summaries: pd.DataFrame | None = None,
) -> BacktestResult:
    """Run the backtest of `strategies` on a canonical log (see `prepare_log`).

    `training_cutoffs` bounds how many past cut-offs a batch model trains on (the most recent ones);
    `advance` is called with a count of work done, for a progress display.
    """
    if log.empty:
        raise TransactionLogError("the log has no usable rows")
    first, last = log_weeks(log)
    span = last.index - first.index + 1
    if span < horizon_weeks + 2:
        raise TransactionLogError(
            f"the log covers {max(span, 0)} complete week(s) ({first} to {last}); a backtest with a "
            f"{horizon_weeks}-week horizon needs at least {horizon_weeks + 2}"
        )
    specs = [ModelSpec.parse(name, seed=seed, **(model_options or {})) for name in strategies]
    if summaries is None:
        summaries = weekly_summaries(log)
    warmup = max(1, min(warmup_weeks, span - horizon_weeks - 1))
    cutoffs = labelled_cutoffs(first, last, horizon_weeks, warmup)
    examples = labelled_examples(summaries, cutoffs, horizon_weeks, last, active_weeks=active_weeks)
    strict = [cutoff for cutoff in cutoffs if cutoff - cutoffs[0] >= horizon_weeks]
    scheme: Literal["temporal", "customer holdout"] = "temporal" if strict else "customer holdout"
    evaluation = strict or cutoffs[1:]
    half = _half(examples["customer_id"])
    predictions: dict[str, list[pd.DataFrame]] = {spec.name: [] for spec in specs}
    cpu: dict[str, list[float]] = {spec.name: [] for spec in specs}
    incremental = {spec.name: ChurnModel(spec) for spec in specs if spec.incremental}
    learnt: dict[str, set[str]] = {name: set() for name in incremental}
    week_of = week_indices(examples[CUTOFF_COLUMN])
    for cutoff in evaluation:
        if scheme == "temporal":
            known = week_of + horizon_weeks <= cutoff.index
            test_mask = week_of == cutoff.index
        else:
            known = (week_of < cutoff.index) & (half == 0)
            test_mask = (week_of == cutoff.index) & (half == 1)
        recent = (
            known & (week_of > cutoff.index - horizon_weeks - training_cutoffs)
            if scheme == "temporal"
            else known
        )
        test = EvaluationRows(examples[test_mask].reset_index(drop=True))
        if len(test) == 0:
            continue
        for spec in specs:
            if spec.incremental:
                model = incremental[spec.name]
                new = known & ~examples[CUTOFF_COLUMN].isin(learnt[spec.name]).to_numpy()
                rows = TrainingRows(examples[new].reset_index(drop=True))
                if len(rows):
                    cpu[spec.name].append(model.fit(rows))
                    learnt[spec.name].update(rows.frame[CUTOFF_COLUMN].unique())
                if not model.fitted:
                    continue
            else:
                model = ChurnModel(spec)
                rows = TrainingRows(examples[recent].reset_index(drop=True))
                if rows.labels.nunique() < 2:
                    continue
                cpu[spec.name].append(model.fit(rows))
            frame = test.frame[[CUTOFF_COLUMN, "customer_id", LABEL_COLUMN, "monetary_13w"]].copy()
            frame["probability"] = model.predict_proba(test.frame)
            predictions[spec.name].append(frame)
            if advance is not None:
                advance(1)
    results = []
    pooled: dict[str, pd.DataFrame] = {}
    for spec in specs:
        if not predictions[spec.name]:
            continue
        frame = pd.concat(predictions[spec.name], ignore_index=True)
        pooled[spec.name] = frame
        values = metrics(frame)
        results.append(
            StrategyResult(
                strategy=spec.name,
                rows=len(frame),
                positives=int(frame[LABEL_COLUMN].sum()),
                fit_cpu_seconds=float(np.mean(cpu[spec.name])) if cpu[spec.name] else 0.0,
                incremental=spec.incremental,
                **values,
            )
        )
    return BacktestResult(
        results=results,
        scheme=scheme,
        evaluation_cutoffs=[str(cutoff) for cutoff in evaluation],
        horizon_weeks=horizon_weeks,
        first_week=str(first),
        last_week=str(last),
        customers=int(log["customer_id"].nunique()),
        predictions=pooled,
    )
