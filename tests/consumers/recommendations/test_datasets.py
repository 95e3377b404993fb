"""Reading online-retail and MovieLens files: counted skips, clear errors, shop events for replay."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumers.recommendations.datasets import (
    DatasetError,
    detect_format,
    event_records,
    load_dataset,
    product_records,
    products,
    shop_events,
)
from contracts.shop import Product, ShopEvent
from streaming.schemas import Codec, encode
from tests.consumers.recommendations.movielens_files import (
    ONLINE_RETAIL,
    write_movielens,
    write_online_retail,
)


def test_online_retail_rows_are_kept_or_counted_by_reason(tmp_path: Path) -> None:
    data = load_dataset(write_online_retail(tmp_path / "retail.csv"))
    assert data.rows_read == 11
    assert data.skipped == {
        "duplicate": 1,
        "cancellation": 1,
        "missing_customer": 1,
        "unparsable_time": 1,
        "non_positive_price": 1,
    }
    frame = data.interactions
    assert len(frame) == 6 and set(frame["event_type"]) == {"purchase"}
    assert set(frame["customer_id"]) == {"17850", "13047", "15311"}
    assert frame["timestamp"].iloc[0] == pytest.approx(1_291_191_960.0)  # 2010-12-01 08:26 UTC, in seconds
    assert data.notes["single_interaction_customers"] == 1
    holder = data.items.set_index("item_id").loc["85123A"]
    assert holder["category"] == "holder" and holder["price"] == pytest.approx(2.55)
    assert "retail.csv" in data.summary() and "cancellation 1" in data.summary()


def test_a_missing_column_is_one_clear_message(tmp_path: Path) -> None:
    path = write_online_retail(tmp_path / "broken.csv", ONLINE_RETAIL.replace("CustomerID", "Customer"))
    with pytest.raises(DatasetError, match=r"missing column.*CustomerID"):
        load_dataset(path, "online-retail")


def test_empty_unreadable_and_absent_files(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DatasetError, match="empty"):
        load_dataset(tmp_path / "empty.csv", "interactions")
    with pytest.raises(DatasetError, match="no such file"):
        load_dataset(tmp_path / "absent.csv")
    only_header = tmp_path / "header.csv"
    only_header.write_text(ONLINE_RETAIL.splitlines()[0] + "\n")
    with pytest.raises(DatasetError, match="no usable rows"):
        load_dataset(only_header)
    with pytest.raises(DatasetError, match="unknown format"):
        load_dataset(only_header, "excel")


def test_movielens_files_with_metadata(tmp_path: Path) -> None:
    directory = write_movielens(tmp_path / "ml", users=10, items=30, ratings_per_user=8)
    assert detect_format(directory) == "movielens" and detect_format(directory / "u.data") == "movielens"
    data = load_dataset(directory)
    assert len(data.interactions) == 80 and data.skipped == {}
    assert set(data.interactions.columns) >= {"customer_id", "item_id", "timestamp", "rating"}
    assert data.interactions["timestamp"].is_monotonic_increasing
    assert data.items["category"].notna().all() and data.items["brand"].iloc[0] == "1990s"


def test_movielens_bad_rows_are_counted(tmp_path: Path) -> None:
    directory = write_movielens(tmp_path / "ml", users=10, items=30, ratings_per_user=8)
    lines = (directory / "u.data").read_text().splitlines()
    lines += [lines[0], "3\t7\t4\tyesterday", "\t5\t3\t881250949"]
    (directory / "u.data").write_text("\n".join(lines) + "\n")
    data = load_dataset(directory)
    assert data.skipped == {"duplicate": 1, "unparsable_time": 1, "missing_id": 1}
    (directory / "u.data").write_text("1 2 3\n")
    with pytest.raises(DatasetError, match="4 tab-separated columns"):
        load_dataset(directory)


def test_a_generic_interactions_file(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        "customer_id,item_id,timestamp,event_type\n"
        "a,x,2024-01-01T00:00:00Z,view\nb,x,1704067200,purchase\nc,y,garbage,view\nd,z,1704067200,wink\n"
    )
    data = load_dataset(path)
    assert data.skipped == {"unparsable_time": 1, "unknown_event_type": 1}
    assert data.interactions["timestamp"].tolist() == [1_704_067_200.0, 1_704_067_200.0]


def test_interactions_become_shop_events_and_products(tmp_path: Path) -> None:
    data = load_dataset(write_online_retail(tmp_path / "retail.csv"))
    events = list(shop_events(data))
    assert len(events) == len(data.interactions)
    decoded = Codec(ShopEvent).decode(encode(events[0]))
    assert (
        decoded.customer_id == "17850" and decoded.event_type == "purchase" and decoded.session_id == "536365"
    )
    catalogue = products(data)
    assert {p.product_id for p in catalogue} == set(data.interactions["item_id"])
    assert all(Codec(Product).decode(encode(p)).price > 0 for p in catalogue)


def test_replay_records_are_keyed_and_timestamped(tmp_path: Path) -> None:
    data = load_dataset(write_online_retail(tmp_path / "retail.csv"))
    records = list(event_records(data))
    assert [record.key for record in records][:1] == [b"17850"]
    assert records[0].timestamp_ms == round(data.interactions["timestamp"].iloc[0] * 1000)
    catalogue = list(product_records(data))
    assert {(record.key or b"").decode() for record in catalogue} == set(data.interactions["item_id"])
