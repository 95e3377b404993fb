"""Real interaction logs onto one interactions frame plus item metadata, and onto shop events for replay.

Two formats:

- online retail (UCI): InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID;
  cancellations have an InvoiceNo starting with "C"; some rows lack CustomerID. Every kept row is a
  purchase. The catalogue has no categories, so an item's category is the last word of its description
  ("... T-LIGHT HOLDER" -> "holder") and its subcategory the last two.
- MovieLens 100k: `u.data` (tab-separated user, item, rating, timestamp) and `u.item` (pipe-separated id,
  title, release date, video release date, IMDb URL, 19 genre flags). Every rating is an interaction
  ("purchase": the customer consumed the item); the rating is kept in its own column.

Bad input never raises a traceback: a missing column, an empty file or a file with nothing usable raises
`DatasetError` with a one-line message; bad rows (no customer, cancellations, unparsable times, exact
duplicates, non-positive quantities or prices) are dropped and counted by reason in `skipped`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from consumers.recommendations.catalogue import UNKNOWN, ItemInfo
from contracts.shop import Product as ProductType
from contracts.shop import ShopEvent as ShopEventType
from streaming.replay.mapping import MappedRecord
from streaming.schemas import encode

INTERACTION_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "item_id",
    "event_type",
    "timestamp",
    "quantity",
    "price",
)
ONLINE_RETAIL_COLUMNS: tuple[str, ...] = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
)
MOVIELENS_COLUMNS: tuple[str, ...] = ("user_id", "item_id", "rating", "timestamp")
MOVIELENS_GENRES: tuple[str, ...] = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
FORMATS: tuple[str, ...] = ("auto", "online-retail", "movielens", "interactions")


class DatasetError(ValueError):
    """The file cannot be used at all; the message says why in one line."""


@dataclass
class InteractionData:
    """Interactions (`INTERACTION_COLUMNS`, plus `rating` for MovieLens), item metadata, what was dropped.

    Parameters
    ----------
    interactions
        One row per event, in time order.
    items
        One row per item: item_id and whatever metadata the source has.
    source
        Where it came from (a path), for messages.
    rows_read
        Rows in the file.
    skipped
        Dropped rows by reason.
    notes
        Things kept but worth knowing (customers with a single interaction, whom no split can evaluate).
    """

    interactions: pd.DataFrame
    items: pd.DataFrame
    source: str
    rows_read: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line: what was read, kept and dropped.

        >>> data = InteractionData(pd.DataFrame({"customer_id": ["u"], "item_id": ["i"]}), pd.DataFrame(),
        ...     "x.csv", rows_read=3, skipped={"duplicate": 2})
        >>> data.summary()
        'x.csv: 3 rows read, 1 interactions of 1 customers on 1 items kept; dropped: duplicate 2'
        """
        frame = self.interactions
        dropped = ", ".join(f"{reason} {count:,}" for reason, count in sorted(self.skipped.items()) if count)
        notes = ", ".join(f"{name} {count:,}" for name, count in sorted(self.notes.items()) if count)
        text = (
            f"{self.source}: {self.rows_read:,} rows read, {len(frame):,} interactions of "
            f"{frame['customer_id'].nunique():,} customers on {frame['item_id'].nunique():,} items kept"
        )
        if dropped:
            text += f"; dropped: {dropped}"
        if notes:
            text += f"; notes: {notes}"
        return text

    def item_infos(self) -> list[ItemInfo]:
        """The item metadata as catalogue entries."""
        infos: list[ItemInfo] = []
        for row in self.items.itertuples(index=False):
            price = getattr(row, "price", None)
            infos.append(
                ItemInfo(
                    item_id=str(row.item_id),
                    category=str(getattr(row, "category", UNKNOWN) or UNKNOWN),
                    subcategory=str(getattr(row, "subcategory", UNKNOWN) or UNKNOWN),
                    brand=str(getattr(row, "brand", UNKNOWN) or UNKNOWN),
                    price=None
                    if price is None or (isinstance(price, float) and math.isnan(price))
                    else float(price),
                    description=str(getattr(row, "description", "") or ""),
                    repeatable=bool(getattr(row, "repeatable", False)),
                )
            )
        return infos


def _require(frame: pd.DataFrame, columns: tuple[str, ...], source: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DatasetError(
            f"{source}: missing column(s) {', '.join(missing)} "
            f"(found: {', '.join(map(str, frame.columns)) or 'none'})"
        )


def _read_csv(path: Path, **options: object) -> pd.DataFrame:
    if not path.exists():
        raise DatasetError(f"{path}: no such file")
    if path.is_dir():
        raise DatasetError(f"{path}: is a directory, not a file")
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        try:
            return pd.read_csv(path, **options)  # type: ignore[call-overload]
        except UnicodeDecodeError:
            return pd.read_csv(path, encoding="latin-1", **options)  # type: ignore[call-overload]
    except pd.errors.EmptyDataError:
        raise DatasetError(f"{path}: the file is empty") from None
    except (pd.errors.ParserError, ValueError, OSError) as error:
        raise DatasetError(f"{path}: cannot be read as a table ({str(error).splitlines()[0]})") from None


def _seconds(values: pd.Series) -> np.ndarray:
    """Epoch seconds from numbers or date strings; NaN where neither (pandas 3 parses at microseconds)."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(numbers).all() or values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
        seconds = (
            (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=float, na_value=np.nan)
        )
        numbers = np.where(np.isnan(numbers), seconds, numbers)
    return numbers


def _count(skipped: dict[str, int], reason: str, mask: np.ndarray | pd.Series) -> None:
    number = int(np.asarray(mask).sum())
    if number:
        skipped[reason] = skipped.get(reason, 0) + number


def _finish(frame: pd.DataFrame, skipped: dict[str, int], source: str) -> pd.DataFrame:
    duplicated = frame.duplicated(keep="first").to_numpy()
    _count(skipped, "duplicate", duplicated)
    frame = frame[~duplicated]
    if frame.empty:
        raise DatasetError(
            f"{source}: no usable rows (dropped: {', '.join(f'{k} {v}' for k, v in skipped.items())})"
        )
    return frame.sort_values(["timestamp", "customer_id"], kind="stable").reset_index(drop=True)


def _single_interaction_customers(frame: pd.DataFrame) -> int:
    counts = frame.groupby("customer_id")["item_id"].nunique()
    return int((counts < 2).sum())


def read_online_retail(path: Path) -> InteractionData:
    """The UCI online-retail format; every kept row is a purchase."""
    raw = _read_csv(path, dtype={"InvoiceNo": str, "StockCode": str})
    _require(raw, ONLINE_RETAIL_COLUMNS, str(path))
    skipped: dict[str, int] = {}
    frame = raw
    duplicated = frame.duplicated(keep="first").to_numpy()
    _count(skipped, "duplicate", duplicated)
    frame = frame[~duplicated]
    no_customer = frame["CustomerID"].isna().to_numpy()
    _count(skipped, "missing_customer", no_customer)
    frame = frame[~no_customer]
    cancelled = frame["InvoiceNo"].astype(str).str.upper().str.startswith("C").to_numpy()
    _count(skipped, "cancellation", cancelled)
    frame = frame[~cancelled]
    quantity = pd.to_numeric(frame["Quantity"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    price = pd.to_numeric(frame["UnitPrice"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    times = _seconds(frame["InvoiceDate"])
    bad_time = np.isnan(times)
    bad_quantity = ~bad_time & ~(quantity > 0)
    bad_price = ~bad_time & ~bad_quantity & ~(price > 0)
    _count(skipped, "unparsable_time", bad_time)
    _count(skipped, "non_positive_quantity", bad_quantity)
    _count(skipped, "non_positive_price", bad_price)
    keep = ~(bad_time | bad_quantity | bad_price)
    frame = frame[keep]
    customer = frame["CustomerID"]
    customer_ids = [
        str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        for value in customer.tolist()
    ]
    interactions = pd.DataFrame(
        {
            "customer_id": customer_ids,
            "item_id": frame["StockCode"].astype(str).str.strip().to_numpy(),
            "event_type": "purchase",
            "timestamp": times[keep],
            "quantity": quantity[keep].astype(np.int64),
            "price": price[keep],
            "session_id": frame["InvoiceNo"].astype(str).to_numpy(),
        }
    )
    interactions = _finish(interactions, skipped, str(path))
    described = frame.assign(StockCode=frame["StockCode"].astype(str).str.strip(), price=price[keep])
    descriptions = (
        described.dropna(subset=["Description"])
        .groupby("StockCode")["Description"]
        .agg(lambda values: values.mode().iloc[0])
    )
    prices = described.groupby("StockCode")["price"].median()
    item_ids = pd.Index(sorted(interactions["item_id"].unique()))
    text = descriptions.reindex(item_ids).fillna("").astype(str).str.strip()
    words = text.str.lower().str.split()
    items = pd.DataFrame(
        {
            "item_id": item_ids,
            "category": [tokens[-1] if tokens else UNKNOWN for tokens in words],
            "subcategory": [" ".join(tokens[-2:]) if tokens else UNKNOWN for tokens in words],
            "brand": UNKNOWN,
            "price": prices.reindex(item_ids).to_numpy(),
            "description": text.str.lower().to_numpy(),
            "repeatable": True,  # a wholesale shop's customers restock the same items
        }
    )
    data = InteractionData(interactions, items, str(path), rows_read=len(raw), skipped=skipped)
    data.notes["single_interaction_customers"] = _single_interaction_customers(interactions)
    return data


def _movielens_paths(path: Path, item_path: Path | None) -> tuple[Path, Path | None]:
    if path.is_dir():
        data_path = path / "u.data"
        if not data_path.exists():
            raise DatasetError(f"{path}: no u.data in this directory")
        default_items = path / "u.item"
    else:
        data_path = path
        default_items = path.with_name("u.item")
    if item_path is None and default_items.exists():
        item_path = default_items
    return data_path, item_path


def read_movielens(path: Path, item_path: Path | None = None) -> InteractionData:
    """MovieLens 100k: `path` is u.data or its directory; u.item next to it is read when present."""
    data_path, item_path = _movielens_paths(path, item_path)
    raw = _read_csv(data_path, sep="\t", header=None, dtype=str, keep_default_na=False)
    if raw.shape[1] < 4:
        raise DatasetError(
            f"{data_path}: expected 4 tab-separated columns (user, item, rating, timestamp), "
            f"found {raw.shape[1]}"
        )
    raw = raw.iloc[:, :4]
    raw.columns = list(MOVIELENS_COLUMNS)
    skipped: dict[str, int] = {}
    missing = (raw["user_id"].str.strip() == "") | (raw["item_id"].str.strip() == "")
    _count(skipped, "missing_id", missing)
    frame = raw[~missing.to_numpy()]
    times = pd.to_numeric(frame["timestamp"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    rating = pd.to_numeric(frame["rating"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad_time = np.isnan(times) | (times <= 0)
    bad_rating = ~bad_time & np.isnan(rating)
    _count(skipped, "unparsable_time", bad_time)
    _count(skipped, "unparsable_rating", bad_rating)
    keep = ~(bad_time | bad_rating)
    frame = frame[keep]
    interactions = pd.DataFrame(
        {
            "customer_id": frame["user_id"].str.strip().to_numpy(),
            "item_id": frame["item_id"].str.strip().to_numpy(),
            "event_type": "purchase",
            "timestamp": times[keep],
            "quantity": 1,
            "price": np.nan,
            "rating": rating[keep],
        }
    )
    interactions = _finish(interactions, skipped, str(data_path))
    item_ids = sorted(interactions["item_id"].unique(), key=lambda value: (len(value), value))
    items = _movielens_items(item_path, item_ids, skipped)
    data = InteractionData(interactions, items, str(data_path), rows_read=len(raw), skipped=skipped)
    data.notes["single_interaction_customers"] = _single_interaction_customers(interactions)
    return data


def _movielens_items(item_path: Path | None, item_ids: list[str], skipped: dict[str, int]) -> pd.DataFrame:
    if item_path is None:
        return pd.DataFrame({"item_id": item_ids})
    raw = _read_csv(item_path, sep="|", header=None, dtype=str, keep_default_na=False, encoding="latin-1")
    if raw.shape[1] < 5 + len(MOVIELENS_GENRES):
        raise DatasetError(
            f"{item_path}: expected {5 + len(MOVIELENS_GENRES)} pipe-separated columns "
            f"(id, title, dates, URL, 19 genre flags), found {raw.shape[1]}"
        )
    rows = []
    for values in raw.itertuples(index=False):
        flags = [str(flag).strip() == "1" for flag in values[5 : 5 + len(MOVIELENS_GENRES)]]
        genres = [genre for genre, flag in zip(MOVIELENS_GENRES, flags, strict=True) if flag] or [UNKNOWN]
        release = str(values[2])
        year = release[-4:] if release[-4:].isdigit() else ""
        decade = f"{year[:3]}0s" if year else UNKNOWN
        title = str(values[1]).strip()
        rows.append(
            {
                "item_id": str(values[0]).strip(),
                "category": genres[0].lower(),
                "subcategory": "/".join(genre.lower() for genre in genres[:2]),
                "brand": decade,
                "price": np.nan,
                "description": f"{title} {' '.join(genres)}",
                "repeatable": False,
            }
        )
    items = pd.DataFrame(rows).drop_duplicates("item_id")
    described = set(items["item_id"])
    without = [item for item in item_ids if item not in described]
    if without:
        skipped["items_without_metadata"] = len(without)  # kept, with unknown attributes
        items = pd.concat([items, pd.DataFrame({"item_id": without})], ignore_index=True)
    return items[items["item_id"].isin(set(item_ids))].reset_index(drop=True)


def read_generic(path: Path) -> InteractionData:
    """A CSV/Parquet with customer_id, item_id, timestamp (and optionally event_type, quantity, price)."""
    raw = _read_csv(path)
    _require(raw, ("customer_id", "item_id", "timestamp"), str(path))
    skipped: dict[str, int] = {}
    missing = raw["customer_id"].isna().to_numpy() | raw["item_id"].isna().to_numpy()
    _count(skipped, "missing_id", missing)
    frame = raw[~missing]
    times = _seconds(frame["timestamp"])
    _count(skipped, "unparsable_time", np.isnan(times))
    keep = ~np.isnan(times)
    frame = frame[keep]
    event_type = (
        frame["event_type"].astype(str)
        if "event_type" in frame.columns
        else pd.Series("purchase", index=frame.index)
    )
    interactions = pd.DataFrame(
        {
            "customer_id": [_text(value) for value in frame["customer_id"].tolist()],
            "item_id": [_text(value) for value in frame["item_id"].tolist()],
            "event_type": event_type.to_numpy(),
            "timestamp": times[keep],
            "quantity": pd.to_numeric(frame["quantity"], errors="coerce")
            .fillna(1)
            .astype(np.int64)
            .to_numpy()
            if "quantity" in frame.columns
            else 1,
            "price": pd.to_numeric(frame["price"], errors="coerce").to_numpy()
            if "price" in frame.columns
            else np.nan,
        }
    )
    unknown_type = ~interactions["event_type"].isin(
        ["view", "add_to_cart", "purchase", "impression", "click"]
    )
    _count(skipped, "unknown_event_type", unknown_type)
    interactions = _finish(interactions[~unknown_type.to_numpy()], skipped, str(path))
    metadata = [
        column for column in ("category", "subcategory", "brand", "description") if column in frame.columns
    ]
    item_ids = sorted(interactions["item_id"].unique())
    if metadata:
        described = frame.assign(item_id=[_text(value) for value in frame["item_id"].tolist()])
        items = described.groupby("item_id")[metadata].first().reindex(item_ids).reset_index()
    else:
        items = pd.DataFrame({"item_id": item_ids})
    data = InteractionData(interactions, items, str(path), rows_read=len(raw), skipped=skipped)
    data.notes["single_interaction_customers"] = _single_interaction_customers(interactions)
    return data


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def detect_format(path: Path) -> str:
    """Which reader fits a file, from its name and first line.

    >>> detect_format(Path("ml-100k/u.data"))
    'movielens'
    """
    if path.is_dir() or path.name == "u.data":
        return "movielens"
    try:
        with path.open("rb") as handle:
            first = handle.readline().decode("latin-1")
    except OSError as error:
        raise DatasetError(f"{path}: cannot be opened ({error.strerror})") from None
    if "StockCode" in first and "InvoiceNo" in first:
        return "online-retail"
    if "\t" in first and "customer_id" not in first and len(first.split("\t")) == 4:
        return "movielens"
    return "interactions"


def load_dataset(path: Path, file_format: str = "auto", item_path: Path | None = None) -> InteractionData:
    """Reads any supported format (`FORMATS`); `auto` detects it."""
    if file_format not in FORMATS:
        raise DatasetError(f"unknown format {file_format!r}: use one of {', '.join(FORMATS)}")
    if not path.exists():
        raise DatasetError(f"{path}: no such file or directory")
    chosen = detect_format(path) if file_format == "auto" else file_format
    if chosen == "online-retail":
        return read_online_retail(path)
    if chosen == "movielens":
        return read_movielens(path, item_path)
    return read_generic(path)


# --- replay: onto shop events -------------------------------------------------------------------------------


def shop_events(data: InteractionData, prefix: str = "replay") -> Iterator[ShopEventType]:
    """The interactions as `ShopEvent`s in time order (the replay's records; keys are customer ids)."""
    frame = data.interactions
    sessions = frame["session_id"] if "session_id" in frame.columns else None
    prices = frame["price"].to_numpy(dtype=float, na_value=np.nan)
    columns = zip(
        frame["customer_id"].tolist(),
        frame["item_id"].tolist(),
        frame["event_type"].tolist(),
        frame["timestamp"].tolist(),
        frame["quantity"].tolist(),
        strict=True,
    )
    for position, (customer, item, event_type, at, quantity) in enumerate(columns):
        price = prices[position]
        yield ShopEventType(
            event_id=f"{prefix}-{position:09d}",
            customer_id=str(customer),
            session_id=str(sessions.iat[position]) if sessions is not None else f"{prefix}-{customer}",
            product_id=str(item),
            event_type=event_type,
            quantity=max(1, min(int(quantity), 10_000)),
            price=None if math.isnan(price) or price <= 0 else float(price),
            event_time=float(at),
        )


def event_records(data: InteractionData, prefix: str = "replay") -> Iterator[MappedRecord]:
    """The shop events as the replay's `MappedRecord`s (key: customer id, timestamp: event time), in order."""

    for row, event in enumerate(shop_events(data, prefix)):
        yield MappedRecord(
            event.customer_id.encode(), encode(event), round(event.event_time * 1000), event.event_time, row
        )


def product_records(data: InteractionData) -> Iterator[MappedRecord]:
    """The catalogue as `MappedRecord`s for the compacted `products` topic (key = product id)."""

    for row, product in enumerate(products(data)):
        yield MappedRecord(
            product.product_id.encode(),
            encode(product),
            round(product.created_at * 1000),
            product.created_at,
            row,
        )


def products(data: InteractionData, created_at: float | None = None) -> list[ProductType]:
    """The item metadata as `Product`s for the `products` topic (price 0.01 where the data has none)."""
    start = float(data.interactions["timestamp"].min()) if created_at is None else created_at
    out: list[ProductType] = []
    for info in data.item_infos():
        out.append(
            ProductType(
                product_id=info.item_id,
                category=info.category[:64] or UNKNOWN,
                subcategory=info.subcategory[:64] or UNKNOWN,
                brand=info.brand[:64] or UNKNOWN,
                price=info.price if info.price and info.price > 0 else 0.01,
                description=info.description[:2_000],
                created_at=start,
                repeatable=info.repeatable,
            )
        )
    return out
