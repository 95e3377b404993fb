"""Real interaction logs replayed onto the shop's topics (`streaming replay FILE --log-format NAME`): the
catalogue to `products` first, then the interactions to `shop-events` in time order, keyed by customer."""

from __future__ import annotations

from pathlib import Path

from consumers.recommendations.datasets import DatasetError, event_records, load_dataset, product_records
from streaming.services import LogStreams


def _streams(path: Path, file_format: str, item_path: Path | None) -> LogStreams:
    try:
        data = load_dataset(path, file_format, item_path)
    except DatasetError as error:
        raise ValueError(str(error)) from None
    return LogStreams(
        streams=[("products", product_records(data)), ("shop_events", event_records(data, prefix=path.stem))],
        skipped=dict(data.skipped),
        summary=data.summary(),
    )


def online_retail(path: Path, item_path: Path | None = None) -> LogStreams:
    """The online-retail format (InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice,
    CustomerID): each line a purchase; cancelled invoices, returns and rows without a customer skipped."""
    return _streams(path, "online-retail", item_path)


def movielens(path: Path, item_path: Path | None = None) -> LogStreams:
    """MovieLens 100k (`u.data`: user, item, rating, timestamp, tab-separated; `u.item` beside it or given
    with `--items`): each rating an interaction, the genres the items' categories."""
    return _streams(path, "movielens", item_path)
