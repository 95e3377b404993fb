"""What `streaming evaluate` reads from a labelled file, checked: the labels, the event times, and the feature
columns, with the reason for every column left out and a count of every cell that could not be used.

Nothing is dropped silently: a label that is not clearly binary is refused unless `--positive` names the
positive value, an unusable time is refused, and every column the features do not use is listed with why.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from consumers.maintenance.features import STATISTICS
from contracts import SENSOR_FIELDS
from streaming.timeparse import epoch_seconds

__all__ = [
    "FRAUD_COLUMNS",
    "FeaturePlan",
    "InputError",
    "event_times",
    "load_frame",
    "normalise",
    "parse_labels",
    "plan_features",
]

Task = Literal["maintenance", "fraud", "generic"]

#: Transaction fields the fraud features read from a file; only `amount` is required.
FRAUD_COLUMNS: tuple[str, ...] = (
    "transaction_id",
    "card_id",
    "customer_id",
    "merchant_id",
    "merchant_category",
    "amount",
    "latitude",
    "longitude",
    "device_id",
    "channel",
    "country",
)
#: Text columns with at most this many distinct values become one-hot features (generic task).
MAX_CATEGORIES = 20
#: A text column whose cells parse as numbers at least this often is numeric (the rest are bad cells).
NUMERIC_SHARE = 0.95
_TRUE = frozenset({"1", "1.0", "true", "t"})
_FALSE = frozenset({"0", "0.0", "false", "f"})
_KEY_NAMES = ("machine_id", "key", "entity_id", "unit", "unit_number", "unit_id")
_ID_NAMES = frozenset({"id", "udi", "index", "unnamed_0", "row", "row_id", "row_number"})


class InputError(ValueError):
    """A problem with the file or the options, said in one line."""


def normalise(name: str) -> str:
    """A column name as a feature name: lower case, runs of other characters as `_`.

    >>> normalise("Air temperature [K]"), normalise("Rotational speed [rpm]"), normalise("Product ID")
    ('air_temperature_k', 'rotational_speed_rpm', 'product_id')
    """
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def load_frame(path: str | Path) -> pd.DataFrame:
    """A CSV (a UTF-8 byte-order mark is ignored) or Parquet file, by suffix, with at least one row."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif suffix in (".csv", ".gz", ".txt"):
            frame = pd.read_csv(path, encoding="utf-8-sig", low_memory=False)
        else:
            raise InputError(f"{path}: unknown format {suffix or '(none)'} (use .csv or .parquet)")
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, OSError) as error:
        raise InputError(f"{path}: cannot read it: {str(error).splitlines()[0]}") from None
    if frame.empty:
        raise InputError(f"{path}: no rows (only a header?)")
    return frame


def _first_row(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0]) + 2  # the file's line: 1-based, after the header


def parse_labels(values: pd.Series, column: str, positive: str | None = None) -> np.ndarray:
    """The label column as booleans.

    Without `positive`, only clearly binary labels are accepted: booleans, 0/1, or the words true/false.
    Anything else (yes/no, -1/1, several classes, words) needs `positive`, the value that means positive;
    every other value is then negative. Missing labels are refused either way.

    >>> parse_labels(pd.Series([0, 1, 1]), "y").tolist()
    [False, True, True]
    >>> parse_labels(pd.Series(["UP", "DOWN"]), "y", "DOWN").tolist()
    [False, True]
    >>> parse_labels(pd.Series(["UP", "DOWN"]), "y")
    Traceback (most recent call last):
    ...
    consumers.learning.inputs.InputError: label column 'y' is not binary (values DOWN, UP): ...
    """
    missing = values.isna().to_numpy()
    if missing.any():
        raise InputError(
            f"label column {column!r} is empty in {int(missing.sum()):,} rows (first at line "
            f"{_first_row(missing)}): drop those rows or fill them"
        )
    text = values.astype(str).str.strip()
    if positive is not None:
        wanted = str(positive).strip()
        matches = text.str.lower() == wanted.lower()
        if not matches.any():
            # A numeric label read as 1.0 matches a --positive 1.
            numbers = pd.to_numeric(values, errors="coerce")
            with contextlib.suppress(ValueError):
                matches = numbers == float(wanted)
        if not matches.any():
            shown = ", ".join(sorted(text.unique().tolist())[:8])
            raise InputError(f"--positive {wanted!r} matches no value of {column!r} (values {shown})")
        return matches.to_numpy(dtype=bool)
    lowered = text.str.lower()
    distinct = set(lowered.unique().tolist())
    if pd.api.types.is_bool_dtype(values.dtype) or distinct <= _TRUE | _FALSE:
        return lowered.isin(_TRUE).to_numpy(dtype=bool)
    shown = ", ".join(sorted(text.unique().tolist())[:8]) + (", ..." if len(distinct) > 8 else "")
    raise InputError(
        f"label column {column!r} is not binary (values {shown}): "
        "name the positive value with --positive VALUE"
    )


def event_times(frame: pd.DataFrame, column: str | None) -> np.ndarray:
    """Epoch seconds of every row; without a column, rows one second apart (a delay then counts rows)."""
    if column is None:
        return np.arange(len(frame), dtype=float) + 1_767_225_600.0
    if column not in frame.columns:
        raise InputError(f"no time column {column!r}; columns: {', '.join(map(str, frame.columns))}")
    times = epoch_seconds(frame[column])
    bad = ~np.isfinite(times)
    if bad.any():
        example = frame[column].iloc[int(np.flatnonzero(bad)[0])]
        raise InputError(
            f"time column {column!r}: {int(bad.sum()):,} rows are neither epoch seconds nor ISO-8601 dates "
            f"(first at line {_first_row(bad)}: {example!r})"
        )
    return times


@dataclass
class FeaturePlan:
    """Which columns feed the features, and why the others do not.

    `numeric` maps a column to its feature name; `categories` maps a text column to its values, each a 0/1
    feature `<name>=<value>`; `sensors` (maintenance) maps a column to (field, statistic) of a window.
    """

    task: Task
    numeric: dict[str, str] = field(default_factory=dict)
    categories: dict[str, list[str]] = field(default_factory=dict)
    sensors: dict[str, tuple[str, str]] = field(default_factory=dict)
    key_column: str | None = None
    type_column: str | None = None
    transaction_columns: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    cell_problems: dict[str, str] = field(default_factory=dict)

    @property
    def used(self) -> list[str]:
        columns = [*self.numeric, *self.categories, *self.sensors, *self.transaction_columns]
        for extra in (self.key_column, self.type_column):
            if extra is not None and extra not in columns:
                columns.append(extra)
        return columns

    def lines(self) -> list[str]:
        """What a person reads before the results: the columns used, the ones left out and why."""
        used = self.used
        lines = [f"features from {len(used)} columns: {', '.join(used)}"]
        if self.key_column:
            lines.append(f"  history per {self.key_column!r}")
        for column, reason in self.dropped.items():
            lines.append(f"  not used: {column!r}: {reason}")
        for column, problem in self.cell_problems.items():
            lines.append(f"  cells left out: {column!r}: {problem}")
        return lines


def _numeric(values: pd.Series) -> tuple[pd.Series | None, int]:
    """The column as floats and the count of text cells that are not numbers, or None if it is text."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(float), 0
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.astype(float), 0
    present = values.notna()
    numbers = pd.to_numeric(values, errors="coerce")
    parsed = int(numbers.notna().sum())
    if present.sum() and parsed / int(present.sum()) >= NUMERIC_SHARE:
        return numbers.astype(float), int(present.sum()) - parsed
    return None, 0


def _cell_problem(numbers: pd.Series, text_cells: int) -> str | None:
    array = numbers.to_numpy(dtype=float)
    missing = int(np.isnan(array).sum()) - text_cells
    infinite = int(np.isinf(array).sum())
    parts = []
    if missing:
        parts.append(f"{missing:,} empty or NaN")
    if infinite:
        parts.append(f"{infinite:,} infinite")
    if text_cells:
        parts.append(f"{text_cells:,} not numbers")
    return ", ".join(parts) + " (those rows go without this feature)" if parts else None


def _looks_like_id(name: str, numbers: pd.Series) -> str | None:
    if normalise(name) in _ID_NAMES or normalise(name).endswith("_id"):
        return "an id column"
    array = numbers.to_numpy(dtype=float)
    finite = array[np.isfinite(array)]
    if len(finite) > 20 and len(np.unique(finite)) > 0.9 * len(finite) and np.all(np.diff(finite) >= 0):
        return "increases with every row (an id, a counter or a time: pass it as --time, or --features)"
    return None


def _leak(numbers: pd.Series, labels: np.ndarray) -> str | None:
    array = numbers.to_numpy(dtype=float)
    finite = np.isfinite(array)
    values = set(np.unique(array[finite]).tolist())
    if not values or not values <= {0.0, 1.0}:
        return None
    ones = (array == 1.0) & finite
    if ones.sum() >= 5 and labels[ones].all():
        return (
            f"1 in {int(ones.sum()):,} rows, all of them positive: it leaks the label "
            "(keep it with --features if it is known before the label)"
        )
    if np.array_equal(ones, labels):
        return "equals the label"
    return None


def _chosen(
    frame: pd.DataFrame, reserved: Sequence[str], features: Sequence[str] | None, exclude: Sequence[str]
) -> tuple[list[str], dict[str, str]]:
    columns = [str(column) for column in frame.columns]
    for name in [*(features or ()), *exclude]:
        if name not in columns:
            raise InputError(f"no column {name!r}; columns: {', '.join(columns)}")
    dropped: dict[str, str] = {}
    candidates = []
    for column in columns:
        if column in reserved:
            continue
        if features is not None and column not in features:
            dropped[column] = "not in --features"
        elif column in exclude:
            dropped[column] = "--exclude"
        else:
            candidates.append(column)
    return candidates, dropped


def plan_features(
    frame: pd.DataFrame,
    task: Task,
    labels: np.ndarray,
    label_column: str,
    time_column: str | None = None,
    key_column: str | None = None,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
) -> FeaturePlan:
    """Decide the feature columns of `task`; columns named in `features` are used as they are.

    >>> frame = pd.DataFrame({"UDI": range(1, 61), "Torque [Nm]": [40.0 + i % 7 for i in range(60)],
    ...                       "TWF": [int(i % 10 == 0) for i in range(60)],
    ...                       "y": [i % 5 == 0 for i in range(60)]})
    >>> plan = plan_features(frame, "generic", frame["y"].to_numpy(), "y")
    >>> list(plan.numeric), sorted(plan.dropped)
    (['Torque [Nm]'], ['TWF', 'UDI'])
    """
    reserved = [label_column, *([time_column] if time_column else [])]
    if key_column is not None and key_column not in frame.columns:
        raise InputError(f"no key column {key_column!r}; columns: {', '.join(map(str, frame.columns))}")
    candidates, dropped = _chosen(frame, reserved, features, exclude)
    forced = set(features or ())
    plan = FeaturePlan(task, dropped=dropped)
    if task == "fraud":
        return _fraud_plan(frame, plan, candidates)
    if task == "maintenance":
        plan.key_column = key_column or next(
            (column for column in candidates if normalise(column) in _KEY_NAMES), None
        )
        plan.type_column = next(
            (column for column in candidates if normalise(column) in ("machine_type", "type")), None
        )
        candidates = [column for column in candidates if column not in (plan.key_column, plan.type_column)]
    elif key_column is not None:
        candidates = [column for column in candidates if column != key_column]
        plan.dropped[key_column] = "the --key column (generic features keep no history)"
    for column in candidates:
        values = frame[column]
        numbers, text_cells = _numeric(values)
        if numbers is None:
            distinct = values.dropna().astype(str).unique().tolist()
            if task == "generic" and len(distinct) <= MAX_CATEGORIES:
                plan.categories[column] = sorted(distinct)
            else:
                plan.dropped[column] = f"text with {len(distinct):,} distinct values"
            continue
        if column not in forced:
            finite = numbers[np.isfinite(numbers.to_numpy(dtype=float))]
            reason = (
                "no numbers"
                if finite.empty
                else "constant"
                if finite.nunique() <= 1
                else _looks_like_id(column, numbers) or _leak(numbers, labels)
            )
            if reason:
                plan.dropped[column] = reason
                continue
        problem = _cell_problem(numbers, text_cells)
        if problem:
            plan.cell_problems[column] = problem
        if task == "maintenance":
            plan.sensors[column] = _sensor(column)
        else:
            plan.numeric[column] = column
    if not plan.numeric and not plan.categories and not plan.sensors:
        raise InputError(
            "no usable feature columns"
            + (
                f" ({'; '.join(f'{c}: {r}' for c, r in list(plan.dropped.items())[:6])})"
                if plan.dropped
                else ""
            )
        )
    return plan


def _sensor(column: str) -> tuple[str, str]:
    """(field, statistic) of a maintenance column: `torque_nm_mean`, or a single reading `Torque [Nm]`."""
    name = normalise(column)
    if name in SENSOR_FIELDS:
        return name, "mean"
    head, _, statistic = name.rpartition("_")
    if head and statistic in STATISTICS | {"first", "last", "count"}:
        return head, statistic
    return name, "mean"


def recognised_sensors(plan: FeaturePlan) -> list[str]:
    """The maintenance columns that are one of the known sensors (the physics features need them)."""
    return [column for column, (name, _) in plan.sensors.items() if name in SENSOR_FIELDS]


def _fraud_plan(frame: pd.DataFrame, plan: FeaturePlan, candidates: list[str]) -> FeaturePlan:
    if "amount" not in frame.columns:
        raise InputError("the fraud task needs an 'amount' column (and ideally card_id, merchant_id, ...)")
    amounts = pd.to_numeric(frame["amount"], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(amounts) & (amounts > 0))
    if bad.any():
        raise InputError(
            f"amount: {int(bad.sum()):,} rows are not positive numbers (first at line {_first_row(bad)})"
        )
    for column in candidates:
        if column in FRAUD_COLUMNS:
            plan.transaction_columns.append(column)
        else:
            plan.dropped[column] = "not a transaction field the fraud features read"
    return plan


def finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
