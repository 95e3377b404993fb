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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

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


@dataclass
class WeeklyPartial:
    """The mergeable state of one week's summaries (all of it, or the part some partitions saw).

    Parameters
    ----------
    week
        The week summarised.
    customers
        Indexed by customer id: sums, maxima and minima (`CUSTOMER_COLUMNS`).
    merchants
        Distinct (customer_id, merchant_id) pairs with a purchase.
    categories
        (customer_id, merchant_category) -> purchase_count, purchase_total (in cents).
    days
        Distinct (customer_id, day) pairs with a purchase, day = epoch day (UTC).

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
    customers: pd.DataFrame
    merchants: pd.DataFrame
    categories: pd.DataFrame
    days: pd.DataFrame
    counts: ChunkCounts = field(default_factory=ChunkCounts)

    @classmethod
    def empty(cls, week: IsoWeek) -> WeeklyPartial:
        customers = pd.DataFrame({column: pd.Series(dtype="float64") for column in CUSTOMER_COLUMNS})
        customers.index = pd.Index([], dtype="str", name="customer_id")
        return cls(
            week,
            customers,
            pd.DataFrame({"customer_id": pd.Series(dtype="str"), "merchant_id": pd.Series(dtype="str")}),
            pd.DataFrame(
                {
                    "customer_id": pd.Series(dtype="str"),
                    "merchant_category": pd.Series(dtype="str"),
                    "purchase_count": pd.Series(dtype="float64"),
                    "purchase_total": pd.Series(dtype="float64"),
                }
            ),
            pd.DataFrame({"customer_id": pd.Series(dtype="str"), "day": pd.Series(dtype="int64")}),
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
        customers = pd.concat([part.customers for part in parts])
        grouped = customers.groupby(level=0, sort=False)
        merged = pd.concat(
            [
                grouped[list(_SUM_COLUMNS + CHANNEL_COLUMNS)].sum(),
                grouped[list(_MAX_COLUMNS)].max(),
                grouped[list(_MIN_COLUMNS)].min(),
            ],
            axis=1,
        )[list(CUSTOMER_COLUMNS)]
        merchants = pd.concat([part.merchants for part in parts], ignore_index=True).drop_duplicates()
        days = pd.concat([part.days for part in parts], ignore_index=True).drop_duplicates()
        categories = (
            pd.concat([part.categories for part in parts], ignore_index=True)
            .groupby(["customer_id", "merchant_category"], sort=False, as_index=False)[
                ["purchase_count", "purchase_total"]
            ]
            .sum()
        )
        counts = ChunkCounts()
        for part in parts:
            counts.add(part.counts)
        return cls(
            week, merged, merchants.reset_index(drop=True), categories, days.reset_index(drop=True), counts
        )

    def merge(self, other: WeeklyPartial) -> WeeklyPartial:
        return WeeklyPartial.concat([self, other])

    @property
    def size(self) -> int:
        """Rows held, all parts together: what bounds memory."""
        return len(self.customers) + len(self.merchants) + len(self.categories) + len(self.days)

    def summaries(self) -> pd.DataFrame:
        """One row per customer (`SUMMARY_COLUMNS`), sorted by customer id: equal inputs give equal frames."""
        customers = self.customers.sort_index()
        frame = pd.DataFrame(index=customers.index)
        frame["week"] = str(self.week)
        frame["week_start"] = np.int64(self.week.start_seconds)
        counts = customers["purchase_count"].to_numpy()
        cents = customers["purchase_total"].to_numpy()
        frame["purchase_count"] = counts.astype("int64")
        frame["purchase_total"] = cents / 100.0
        frame["purchase_mean"] = np.divide(cents, counts * 100.0, out=np.zeros_like(cents), where=counts > 0)
        frame["purchase_max"] = customers["purchase_max"].fillna(0.0).to_numpy() / 100.0
        frame["refund_count"] = customers["refund_count"].to_numpy().astype("int64")
        frame["refund_total"] = customers["refund_total"].to_numpy() / 100.0
        for name, table in (
            ("distinct_merchants", self.merchants),
            ("distinct_categories", self.categories),
            ("active_days", self.days),
        ):
            sizes = table.groupby("customer_id", sort=False).size()
            frame[name] = sizes.reindex(customers.index, fill_value=0).to_numpy().astype("int64")
        for column in CHANNEL_COLUMNS:
            frame[column] = customers[column].to_numpy().astype("int64")
        frame["first_time"] = customers["first_time"].to_numpy()
        frame["last_time"] = customers["last_time"].to_numpy()
        frame["last_purchase_time"] = customers["last_purchase_time"].to_numpy()
        return frame.reset_index()[list(SUMMARY_COLUMNS)]

    def category_totals(self) -> pd.DataFrame:
        """Purchases per customer and category this week (for preferred categories), sorted."""
        frame = self.categories.sort_values(["customer_id", "merchant_category"], ignore_index=True)
        frame.insert(0, "week", str(self.week))
        frame["purchase_count"] = frame["purchase_count"].astype("int64")
        frame["purchase_total"] = frame["purchase_total"] / 100.0
        return frame

    def write(self, directory: Path) -> None:
        """Save as Parquet files in `directory` (one per part), for a merge step elsewhere."""
        directory.mkdir(parents=True, exist_ok=True)
        self.customers.reset_index().to_parquet(directory / "customers.parquet", compression="zstd")
        self.merchants.to_parquet(directory / "merchants.parquet", compression="zstd")
        self.categories.to_parquet(directory / "categories.parquet", compression="zstd")
        self.days.to_parquet(directory / "days.parquet", compression="zstd")
        counts = pd.DataFrame([vars(self.counts)])
        counts.insert(0, "week", str(self.week))
        counts.to_parquet(directory / "counts.parquet")

    @classmethod
    def read(cls, directory: Path) -> WeeklyPartial:
        counts = pd.read_parquet(directory / "counts.parquet").iloc[0].to_dict()
        week = IsoWeek.parse(str(counts.pop("week")))
        customers = pd.read_parquet(directory / "customers.parquet").set_index("customer_id")
        return cls(
            week,
            customers,
            pd.read_parquet(directory / "merchants.parquet"),
            pd.read_parquet(directory / "categories.parquet"),
            pd.read_parquet(directory / "days.parquet"),
            ChunkCounts(**{str(key): int(value) for key, value in counts.items()}),
        )


def _chunk_partial(week: IsoWeek, frame: pd.DataFrame, counts: ChunkCounts) -> WeeklyPartial:
    refund = frame["is_refund"].to_numpy()
    amount = np.round(frame["amount"].to_numpy() * 100.0)  # cents: exact, order-free sums
    is_purchase = ~refund
    work = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].to_numpy(),
            "purchase_count": is_purchase.astype("float64"),
            "purchase_total": np.where(is_purchase, amount, 0.0),
            "refund_count": refund.astype("float64"),
            "refund_total": np.where(refund, amount, 0.0),
            "purchase_max": np.where(is_purchase, amount, np.nan),
            "last_time": frame["event_time"].to_numpy(),
            "last_purchase_time": np.where(is_purchase, frame["event_time"].to_numpy(), np.nan),
            "first_time": frame["event_time"].to_numpy(),
        }
    )
    channel = frame["channel"].to_numpy()
    for name, column in zip(CHANNELS, CHANNEL_COLUMNS, strict=True):
        work[column] = (channel == name).astype("float64")
    grouped = work.groupby("customer_id", sort=False)
    customers = pd.concat(
        [
            grouped[list(_SUM_COLUMNS + CHANNEL_COLUMNS)].sum(),
            grouped[list(_MAX_COLUMNS)].max(),
            grouped[list(_MIN_COLUMNS)].min(),
        ],
        axis=1,
    )[list(CUSTOMER_COLUMNS)]
    bought = frame[is_purchase]
    merchants = bought[["customer_id", "merchant_id"]].drop_duplicates(ignore_index=True)
    days = pd.DataFrame(
        {
            "customer_id": bought["customer_id"].to_numpy(),
            "day": (bought["event_time"].to_numpy() // _DAY_SECONDS).astype("int64"),
        }
    ).drop_duplicates(ignore_index=True)
    categories = (
        bought.assign(cents=amount[is_purchase])
        .groupby(["customer_id", "merchant_category"], sort=False, as_index=False)
        .agg(purchase_count=("cents", "size"), purchase_total=("cents", "sum"))
    )
    categories["purchase_count"] = categories["purchase_count"].astype("float64")
    return WeeklyPartial(week, customers, merchants, categories, days, counts)


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

    def __init__(self, week: IsoWeek, compact_rows: int = 4_000_000) -> None:
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
        merged = WeeklyPartial(
            merged.week, merged.customers, merged.merchants, merged.categories, merged.days, ChunkCounts()
        )
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
