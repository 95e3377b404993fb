"""`streaming replay FILE --log-format online-retail|movielens` onto the real broker: the catalogue reaches
`products`, the interactions reach `shop-events` keyed by customer and stamped with event time, and bad
input is one clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.shop import Product, ShopEvent
from streaming.cli.main import main
from streaming.config import Settings
from streaming.schemas import Codec
from tests.consumers.recommendations.movielens_files import (
    ONLINE_RETAIL,
    write_movielens,
    write_online_retail,
)
from tests.support.kafka import read_all

pytestmark = pytest.mark.kafka


def _arguments(settings: Settings) -> list[str]:
    return ["--bootstrap", settings.kafka.bootstrap_servers or "", "--topic-prefix", settings.topics.prefix]


def test_online_retail_reaches_products_and_shop_events(topics: Settings, tmp_path: Path) -> None:
    path = write_online_retail(tmp_path / "retail.csv")
    assert main(["replay", str(path), "--log-format", "online-retail", "--quiet", *_arguments(topics)]) == 0
    products = [Codec(Product).decode(r.value) for r in read_all(topics, topics.topic_name("products"))]
    events = read_all(topics, topics.topic_name("shop_events"))
    decoded = [Codec(ShopEvent).decode(record.value) for record in events]
    assert products and decoded
    assert {event.product_id for event in decoded} <= {product.product_id for product in products}
    assert all(
        record.key == event.customer_id.encode() for record, event in zip(events, decoded, strict=True)
    )
    assert all(
        record.timestamp == round(event.event_time * 1000)
        for record, event in zip(events, decoded, strict=True)
    )


def test_movielens_with_its_item_file(topics: Settings, tmp_path: Path) -> None:
    directory = write_movielens(tmp_path / "ml", users=10, items=20, ratings_per_user=6)
    arguments = ["replay", str(directory / "u.data"), "--log-format", "movielens", "--quiet"]
    assert main([*arguments, "--items", str(directory / "u.item"), *_arguments(topics)]) == 0
    events = read_all(topics, topics.topic_name("shop_events"), expected=60)
    assert len(events) == 60
    assert len(read_all(topics, topics.topic_name("products"), expected=20)) == 20


def test_a_log_missing_a_column_is_refused_with_one_line(
    topics: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_online_retail(tmp_path / "broken.csv", ONLINE_RETAIL.replace("CustomerID", "Customer"))
    code = main(["replay", str(path), "--log-format", "online-retail", "--quiet", *_arguments(topics)])
    error = capsys.readouterr().err
    assert code == 2
    assert "CustomerID" in error and "Traceback" not in error
