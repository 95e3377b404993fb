"""Per-customer weekly summaries, built from chunks of transactions and mergeable across partitions.

A summary row per customer and week: purchase count, total, mean and max amount, refunds, distinct merchants
and categories, active days, channel mix, first and last time.

Transactions are keyed by card, and one customer's cards can sit on different partitions, so a worker that
reads some partitions sees part of a customer's week. `WeeklyPartial` is what a worker holds: sums, maxima,
minima, and the *sets* behind the distinct counts ((customer, merchant) pairs, (customer, day) pairs, spend
per (customer, category)). Partials of the same week merge into exactly the partial of the whole week, and
only then are distinct counts taken. The state is bounded by customers x merchants, never by transactions.

Amounts are added up in whole cents (held exactly in float64), so sums do not depend on the order of
addition: any chunking and any partition split give bit-identical totals, and re-runs identical files.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from consumers.churn.weeks import IsoWeek
from contracts import Transaction

#: Columns a transaction chunk must have (see `normalize_chunk`).
REQUIRED_COLUMNS: tuple[str, ...] = ("customer_id", "event_time", "amount")
#: Optional columns and the value used when a source has none.
OPTIONAL_DEFAULTS: dict[str, object] = {
    "is_refund": False,
    "merchant_id": "unknown",
    "merchant_category": "unknown",
    "channel": "other",
}
CHANNELS: tuple[str, ...] = ("pos", "online", "atm", "contactless", "other")
CHANNEL_COLUMNS: tuple[str, ...] = tuple(f"channel_{name}" for name in CHANNELS)
_DAY_SECONDS = 86_400

#: Additive columns of the customer part of a partial, and how each merges.
_SUM_COLUMNS: tuple[str, ...] = ("purchase_count", "purchase_total", "refund_count", "refund_total")
_MAX_COLUMNS: tuple[str, ...] = ("purchase_max", "last_time", "last_purchase_time")
_MIN_COLUMNS: tuple[str, ...] = ("first_time",)
CUSTOMER_COLUMNS: tuple[str, ...] = _SUM_COLUMNS + _MAX_COLUMNS + _MIN_COLUMNS + CHANNEL_COLUMNS
#: The columns of a finished summary row, in order.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "week",
    "week_start",
    "customer_id",
    "purchase_count",
    "purchase_total",
    "purchase_mean",
    "purchase_max",
    "refund_count",
    "refund_total",
    "distinct_merchants",
    "distinct_categories",
    "active_days",
    *CHANNEL_COLUMNS,
    "first_time",
    "last_time",
    "last_purchase_time",
)


def transactions_frame(transactions: Iterable[Transaction]) -> pd.DataFrame:
    """A chunk in the canonical columns from `contracts.Transaction` events (what the Kafka layer reads).

    >>> from contracts import Transaction
    >>> tx = Transaction(transaction_id="t-1", card_id="c-1", customer_id="u-1", merchant_id="m-9",
    ...     merchant_category="grocery", amount=23.5, event_time=1.7e9, latitude=48.85, longitude=2.35,
    ...     device_id="d-1", transaction_type="refund")
    >>> transactions_frame([tx]).iloc[0].to_dict()["is_refund"]
    True
    """
    rows = [
        (
            tx.customer_id,
            tx.event_time,
            tx.amount,
            tx.transaction_type == "refund",
            tx.merchant_id,
            tx.merchant_category,
            tx.channel,
        )
        for tx in transactions
    ]
    columns = [
        "customer_id",
        "event_time",
        "amount",
        "is_refund",
        "merchant_id",
        "merchant_category",
        "channel",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"event_time": "float64", "amount": "float64", "is_refund": "bool"})


def normalize_chunk(chunk: pd.DataFrame) -> pd.DataFrame:
    """The chunk with the canonical columns and types; a clear ValueError when a required column is missing.

    Optional columns missing from the source get their default (`OPTIONAL_DEFAULTS`); an unknown channel
    counts as `other`.
    """
    missing = [column for column in REQUIRED_COLUMNS if column not in chunk.columns]
    if missing:
        raise ValueError(f"transaction chunk lacks column(s) {', '.join(missing)}")
    customers = chunk["customer_id"]
    frame = pd.DataFrame(
        {
            # Missing ids stay missing (not the text "nan"), so they are counted and skipped.
            "customer_id": customers.where(customers.notna(), "").astype("str"),
            "event_time": chunk["event_time"].astype("float64"),
            "amount": chunk["amount"].astype("float64"),
        },
        index=chunk.index,
    )
    for column, default in OPTIONAL_DEFAULTS.items():
        frame[column] = chunk[column] if column in chunk.columns else pd.Series(default, index=chunk.index)
    frame["is_refund"] = frame["is_refund"].astype(bool)
    frame["merchant_id"] = frame["merchant_id"].astype("str")
    frame["merchant_category"] = frame["merchant_category"].astype("str")
    frame["channel"] = frame["channel"].astype("str").where(frame["channel"].isin(CHANNELS), "other")
    return frame


@dataclass
class ChunkCounts:
    """What happened to the rows of the chunks a builder was given.

    Parameters
    ----------
    used
        Rows summarised.
    outside_week
        Rows whose event time is outside the week (skipped, counted: the extract reads by offsets for
        times, which is approximate, and late or early records exist).
    without_customer
        Rows with an empty customer id (skipped, counted).
    not_positive
        Rows whose amount is zero, negative or not a number (skipped, counted).

    >>> ChunkCounts(used=3).skipped
    0
    """

    used: int = 0
    outside_week: int = 0
    without_customer: int = 0
    not_positive: int = 0

    @property
    def skipped(self) -> int:
        return self.outside_week + self.without_customer + self.not_positive

    def add(self, other: ChunkCounts) -> None:
        self.used += other.used
        self.outside_week += other.outside_week
        self.without_customer += other.without_customer
        self.not_positive += other.not_positive


_SHIFT = 32  # pair keys: customer code in the high half, the other code (merchant, day, category) below
_LOW = (1 << _SHIFT) - 1


def _pairs(customer_codes: np.ndarray, other_codes: np.ndarray) -> np.ndarray:
    return (customer_codes.astype("int64") << _SHIFT) | other_codes.astype("int64")


def _remapped(keys: np.ndarray, customers: np.ndarray, others: np.ndarray | None) -> np.ndarray:
    """Pair keys re-coded into a merged vocabulary (`customers[old code]`, `others[old code]`)."""
    high = customers[keys >> _SHIFT]
    low = keys & _LOW
    return _pairs(high, others[low] if others is not None else low)


def _vocabulary(parts: list[pa.Array]) -> tuple[pa.Array, list[np.ndarray]]:
    """The union of several vocabularies, and each one's codes in it."""
    merged = pc.unique(pa.concat_arrays([part.cast(pa.string()) for part in parts]))
    return merged, [
        np.asarray(pc.index_in(part, value_set=merged).to_numpy(zero_copy_only=False), dtype="int64")
        for part in parts
    ]


def _encoded(values: pd.Series) -> tuple[pa.Array, np.ndarray]:
    encoded = pc.dictionary_encode(pa.array(values, type=pa.string()))
    return encoded.dictionary, np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype="int64")


def _unique(keys: list[np.ndarray]) -> np.ndarray:
    """The distinct keys, sorted (a sort and a comparison: faster than hashing int64s here)."""
    joined = np.sort(np.concatenate(keys)) if keys else np.zeros(0, dtype="int64")
    if len(joined) == 0:
        return joined.astype("int64")
    first = np.empty(len(joined), dtype=bool)
    first[0] = True
    np.not_equal(joined[1:], joined[:-1], out=first[1:])
    return joined[first].astype("int64", copy=False)


def _category_sums(
    keys: np.ndarray, counts: np.ndarray, totals: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct key, the sums of `counts` and `totals` (whole numbers, so any order gives the same)."""
    if len(keys) == 0:
        return keys.astype("int64"), np.zeros(0), np.zeros(0)
    order = np.argsort(keys)
    ordered = keys[order]
    first = np.empty(len(ordered), dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return (
        ordered[starts].astype("int64"),
        np.add.reduceat(counts[order], starts),
        np.add.reduceat(totals[order], starts),
    )


@dataclass
class WeeklyPartial:
    """The mergeable state of one week's summaries (all of it, or the part some partitions saw).

    Ids are held once each, in vocabularies; everything else is numbers. A customer's row is its
    position in `customer_ids`; a distinct pair (customer and merchant, day or category) is one int64
    whose high half is the customer's code. Merging and de-duplicating integers is many times faster than
    grouping strings, and a pair costs eight bytes.

    Parameters
    ----------
    week
        The week summarised.
    customer_ids, merchant_ids, category_ids
        The vocabularies (unique strings).
    customers
        `CUSTOMER_COLUMNS` -> one float64 per customer (sums; maxima and minima, NaN where none).
    merchants
        Distinct (customer, merchant) pairs with a purchase.
    days
        Distinct (customer, day of the week 0-6) pairs with a purchase.
    category_keys, category_counts, category_cents
        Per distinct (customer, category): purchases and their total in cents.

    >>> week = IsoWeek(2026, 48)
    >>> chunk = pd.DataFrame({"customer_id": ["u-1", "u-1", "u-2"],
    ...     "event_time": [week.start_seconds + seconds for seconds in (10.0, 90_000.0, 5.0)],
    ...     "amount": [10.0, 30.0, 7.0], "merchant_id": ["m-1", "m-2", "m-1"]})
    >>> one = WeeklySummaryBuilder(week).add(chunk.iloc[:2]).partial()
    >>> two = WeeklySummaryBuilder(week).add(chunk.iloc[2:]).partial()
    >>> one.merge(two).summaries()[["customer_id", "purchase_count", "purchase_mean", "active_days"]]
      customer_id  purchase_count  purchase_mean  active_days
    0         u-1               2           20.0            2
    1         u-2               1            7.0            1
    """

    week: IsoWeek
    customer_ids: pa.Array
    customers: dict[str, np.ndarray]
    merchant_ids: pa.Array
    merchants: np.ndarray
    days: np.ndarray
    category_ids: pa.Array
    category_keys: np.ndarray
    category_counts: np.ndarray
    category_cents: np.ndarray
    counts: ChunkCounts = field(default_factory=ChunkCounts)

    @classmethod
    def empty(cls, week: IsoWeek) -> WeeklyPartial:
        nothing = pa.array([], type=pa.string())
        no_keys = np.zeros(0, dtype="int64")
        return cls(
            week,
            nothing,
            {column: np.zeros(0) for column in CUSTOMER_COLUMNS},
            nothing,
            no_keys,
            no_keys,
            nothing,
            no_keys,
            np.zeros(0),
            np.zeros(0),
        )

    @classmethod
    def concat(cls, parts: list[WeeklyPartial]) -> WeeklyPartial:
        """Merge any number of partials of the same week at once (cheaper than pairwise merges)."""
        if not parts:
            raise ValueError("nothing to merge")
        week = parts[0].week
        if any(part.week != week for part in parts):
            raise ValueError("partials of different weeks cannot merge")
        if len(parts) == 1:
            return parts[0]
        customer_ids, customer_codes = _vocabulary([part.customer_ids for part in parts])
        merchant_ids, merchant_codes = _vocabulary([part.merchant_ids for part in parts])
        category_ids, category_codes = _vocabulary([part.category_ids for part in parts])
        size = len(customer_ids)
        customers: dict[str, np.ndarray] = {}
        for column in _SUM_COLUMNS + CHANNEL_COLUMNS:
            merged = np.zeros(size)
            for part, codes in zip(parts, customer_codes, strict=True):
                merged[codes] += part.customers[column]  # codes are unique within a part
            customers[column] = merged
        for column, pick in [*((c, np.fmax) for c in _MAX_COLUMNS), *((c, np.fmin) for c in _MIN_COLUMNS)]:
            merged = np.full(size, np.nan)
            for part, codes in zip(parts, customer_codes, strict=True):
                merged[codes] = pick(merged[codes], part.customers[column])
            customers[column] = merged
        counts = ChunkCounts()
        for part in parts:
            counts.add(part.counts)
        categories = _category_sums(
            np.concatenate(
                [
                    _remapped(part.category_keys, codes, categories)
                    for part, codes, categories in zip(parts, customer_codes, category_codes, strict=True)
                ]
            ),
            np.concatenate([part.category_counts for part in parts]),
            np.concatenate([part.category_cents for part in parts]),
        )
        return cls(
            week,
            customer_ids,
            customers,
            merchant_ids,
            _unique(
                [
                    _remapped(part.merchants, codes, merchants)
                    for part, codes, merchants in zip(parts, customer_codes, merchant_codes, strict=True)
                ]
            ),
            _unique(
                [_remapped(part.days, codes, None) for part, codes in zip(parts, customer_codes, strict=True)]
            ),
            category_ids,
            *categories,
            counts,
        )

    def merge(self, other: WeeklyPartial) -> WeeklyPartial:
        return WeeklyPartial.concat([self, other])

    @property
    def size(self) -> int:
        """Rows held, all parts together: what bounds memory."""
        return len(self.customer_ids) + len(self.merchants) + len(self.days) + len(self.category_keys)

    def summaries(self) -> pd.DataFrame:
        """One row per customer (`SUMMARY_COLUMNS`), sorted by customer id: equal inputs give equal frames."""
        order = np.asarray(pc.sort_indices(self.customer_ids).to_numpy(), dtype="int64")
        size = len(self.customer_ids)
        values = {column: array[order] for column, array in self.customers.items()}
        frame = pd.DataFrame({"customer_id": self.customer_ids.take(pa.array(order)).to_pandas()})
        frame.insert(0, "week_start", np.int64(self.week.start_seconds))
        frame.insert(0, "week", str(self.week))
        counts, cents = values["purchase_count"], values["purchase_total"]
        frame["purchase_count"] = counts.astype("int64")
        frame["purchase_total"] = cents / 100.0
        frame["purchase_mean"] = np.divide(cents, counts * 100.0, out=np.zeros_like(cents), where=counts > 0)
        frame["purchase_max"] = np.nan_to_num(values["purchase_max"], nan=0.0) / 100.0
        frame["refund_count"] = values["refund_count"].astype("int64")
        frame["refund_total"] = values["refund_total"] / 100.0
        for name, keys in (
            ("distinct_merchants", self.merchants),
            ("distinct_categories", self.category_keys),
            ("active_days", self.days),
        ):
            frame[name] = np.bincount(keys >> _SHIFT, minlength=size)[order].astype("int64")
        for channel in CHANNEL_COLUMNS:
            frame[channel] = values[channel].astype("int64")
        for column in ("first_time", "last_time", "last_purchase_time"):
            frame[column] = values[column]
        return frame[list(SUMMARY_COLUMNS)]

    def category_totals(self) -> pd.DataFrame:
        """Purchases per customer and category this week (for preferred categories), sorted."""
        keys = self.category_keys
        frame = pd.DataFrame(
            {
                "week": str(self.week),
                "customer_id": self.customer_ids.take(pa.array(keys >> _SHIFT)).to_pandas(),
                "merchant_category": self.category_ids.take(pa.array(keys & _LOW)).to_pandas(),
                "purchase_count": self.category_counts.astype("int64"),
                "purchase_total": self.category_cents / 100.0,
            }
        )
        return frame.sort_values(["customer_id", "merchant_category"], ignore_index=True)

    def write(self, directory: Path) -> None:
        """Save as Parquet files in `directory`, for a merge step elsewhere."""
        directory.mkdir(parents=True, exist_ok=True)
        customers = pa.table({"customer_id": self.customer_ids, **self.customers})
        pq.write_table(customers, directory / "customers.parquet", compression="zstd")
        pq.write_table(pa.table({"merchant_id": self.merchant_ids}), directory / "merchant_ids.parquet")
        pq.write_table(pa.table({"category": self.category_ids}), directory / "category_ids.parquet")
        pq.write_table(pa.table({"key": self.merchants}), directory / "merchants.parquet", compression="zstd")
        pq.write_table(pa.table({"key": self.days}), directory / "days.parquet", compression="zstd")
        categories = pa.table(
            {"key": self.category_keys, "count": self.category_counts, "total": self.category_cents}
        )
        pq.write_table(categories, directory / "categories.parquet", compression="zstd")
        counts = pd.DataFrame([vars(self.counts)])
        counts.insert(0, "week", str(self.week))
        counts.to_parquet(directory / "counts.parquet")

    @classmethod
    def read(cls, directory: Path) -> WeeklyPartial:
        counts = pd.read_parquet(directory / "counts.parquet").iloc[0].to_dict()
        week = IsoWeek.parse(str(counts.pop("week")))
        customers = pq.read_table(directory / "customers.parquet")
        categories = pq.read_table(directory / "categories.parquet")

        def numbers(name: str) -> np.ndarray:
            return np.asarray(pq.read_table(directory / f"{name}.parquet")["key"].to_numpy(), dtype="int64")

        return cls(
            week,
            customers["customer_id"].combine_chunks(),
            {column: customers[column].to_numpy() for column in CUSTOMER_COLUMNS},
            pq.read_table(directory / "merchant_ids.parquet")["merchant_id"].combine_chunks(),
            numbers("merchants"),
            numbers("days"),
            pq.read_table(directory / "category_ids.parquet")["category"].combine_chunks(),
            np.asarray(categories["key"].to_numpy(), dtype="int64"),
            categories["count"].to_numpy(),
            categories["total"].to_numpy(),
            ChunkCounts(**{str(key): int(value) for key, value in counts.items()}),
        )


def _chunk_partial(week: IsoWeek, frame: pd.DataFrame, counts: ChunkCounts) -> WeeklyPartial:
    refund = frame["is_refund"].to_numpy(dtype=bool)
    amount = np.round(frame["amount"].to_numpy(dtype="float64") * 100.0)  # cents: exact, order-free sums
    event_time = frame["event_time"].to_numpy(dtype="float64")
    is_purchase = ~refund
    customer_ids, codes = _encoded(frame["customer_id"])
    size = len(customer_ids)

    def total(weights: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=weights, minlength=size)

    def extreme(function: np.ufunc, values: np.ndarray, start: float) -> np.ndarray:
        result = np.full(size, start)
        function.at(result, codes, values)
        result[np.isinf(result)] = np.nan  # no value of that kind (a customer with refunds only)
        return result

    customers = {
        "purchase_count": total(is_purchase.astype("float64")),
        "purchase_total": total(np.where(is_purchase, amount, 0.0)),
        "refund_count": total(refund.astype("float64")),
        "refund_total": total(np.where(refund, amount, 0.0)),
        "purchase_max": extreme(np.maximum, np.where(is_purchase, amount, -np.inf), -np.inf),
        "last_time": extreme(np.maximum, event_time, -np.inf),
        "last_purchase_time": extreme(np.maximum, np.where(is_purchase, event_time, -np.inf), -np.inf),
        "first_time": extreme(np.minimum, event_time, np.inf),
    }
    channel = frame["channel"].to_numpy()
    for name, column in zip(CHANNELS, CHANNEL_COLUMNS, strict=True):
        customers[column] = total((channel == name).astype("float64"))
    merchant_ids, merchant_codes = _encoded(frame["merchant_id"])
    category_ids, category_codes = _encoded(frame["merchant_category"])
    bought = codes[is_purchase]
    day = ((event_time[is_purchase] - week.start_seconds) // _DAY_SECONDS).astype("int64")
    categories = _category_sums(
        _pairs(bought, category_codes[is_purchase]), np.ones(len(bought)), amount[is_purchase]
    )
    return WeeklyPartial(
        week,
        customer_ids,
        customers,
        merchant_ids,
        _unique([_pairs(bought, merchant_codes[is_purchase])]),
        _unique([_pairs(bought, day)]),
        category_ids,
        *categories,
        counts,
    )


class WeeklySummaryBuilder:
    """Summarises one week from chunks of transactions, keeping memory bounded.

    Each chunk is reduced to a partial at once; partials are merged whenever together they hold more than
    `compact_rows` rows, so memory follows the number of customers, not of transactions.

    Parameters
    ----------
    week
        The week to summarise; rows outside it are counted and skipped.
    compact_rows
        Merge the pending partials when they hold more rows than this.

    >>> week = IsoWeek(2026, 48)
    >>> chunk = pd.DataFrame({"customer_id": ["u-1", "u-2", ""], "amount": [10.0, 5.0, 1.0],
    ...     "event_time": [week.start_seconds + 1.0, week.end_seconds + 1.0, week.start_seconds + 2.0]})
    >>> builder = WeeklySummaryBuilder(week).add(chunk)
    >>> builder.counts
    ChunkCounts(used=1, outside_week=1, without_customer=1, not_positive=0)
    >>> builder.partial().summaries()["customer_id"].tolist()
    ['u-1']
    """

    def __init__(self, week: IsoWeek, compact_rows: int = 32_000_000) -> None:
        self.week = week
        self.compact_rows = compact_rows
        self.counts = ChunkCounts()
        self._pending: list[WeeklyPartial] = []
        self._pending_rows = 0

    def add(self, chunk: pd.DataFrame) -> WeeklySummaryBuilder:
        """Summarise one chunk (any columns `normalize_chunk` accepts)."""
        if chunk.empty:
            return self
        frame = normalize_chunk(chunk)
        counts = ChunkCounts()
        inside = (frame["event_time"] >= self.week.start_seconds) & (
            frame["event_time"] < self.week.end_seconds
        )
        has_customer = frame["customer_id"].str.strip().str.len().gt(0)
        positive = frame["amount"].gt(0)  # NaN compares False
        counts.outside_week = int((~inside).sum())
        counts.without_customer = int((inside & ~has_customer).sum())
        counts.not_positive = int((inside & has_customer & ~positive).sum())
        keep = inside & has_customer & positive
        counts.used = int(keep.sum())
        self.counts.add(counts)
        if counts.used == 0:
            return self
        partial = _chunk_partial(self.week, frame[keep], ChunkCounts())
        self._pending.append(partial)
        self._pending_rows += partial.size
        if self._pending_rows > self.compact_rows and len(self._pending) > 1:
            merged = WeeklyPartial.concat(self._pending)
            self._pending = [merged]
            self._pending_rows = merged.size
        return self

    def add_all(self, chunks: Iterable[pd.DataFrame]) -> WeeklySummaryBuilder:
        for chunk in chunks:
            self.add(chunk)
        return self

    def partial(self) -> WeeklyPartial:
        """Everything summarised so far, as one partial (with the row counts)."""
        merged = WeeklyPartial.concat(self._pending) if self._pending else WeeklyPartial.empty(self.week)
        merged = replace(merged, counts=ChunkCounts())
        merged.counts.add(self.counts)
        self._pending = [merged]
        self._pending_rows = merged.size
        return merged


def summarize_week(week: IsoWeek, chunks: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """The week's summary rows from an iterable of chunks (a shortcut for one process and all partitions)."""
    return WeeklySummaryBuilder(week).add_all(chunks).partial().summaries()


def iter_frame_chunks(frame: pd.DataFrame, rows: int) -> Iterator[pd.DataFrame]:
    """`frame` in consecutive chunks of at most `rows` rows.

    >>> [len(chunk) for chunk in iter_frame_chunks(pd.DataFrame({"a": range(5)}), 2)]
    [2, 2, 1]
    """
    for start in range(0, len(frame), rows):
        yield frame.iloc[start : start + rows]
