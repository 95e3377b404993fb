"""The shop simulator on its own: determinism, time order, hidden tastes, long tail, cold start, faults."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest

from contracts.shop import Product, ShopEvent
from producers.runner import ProducerLoop
from producers.shop import ShopSimulationSettings, ShopWorld
from streaming.config import Settings
from streaming.schemas import Codec, EventDecodeError
from tests.consumers.recommendations.simulated import START, simulate


def test_same_seed_same_records_and_another_seed_differs() -> None:
    def values(seed: int) -> list[bytes]:
        world = ShopWorld(ShopSimulationSettings(products=50, customers=40), seed=seed, start_time=START)
        return [record.value for _ in range(20) for record in world.generate(None)]

    assert values(3) == values(3)
    assert values(3) != values(4)


def test_records_decode_are_keyed_and_in_time_order() -> None:
    world = ShopWorld(ShopSimulationSettings(products=60, customers=50), seed=1, start_time=START)
    records = [record for _ in range(10) for record in world.generate(None)]
    events, products = Codec(ShopEvent), Codec(Product)
    due = [record.due_time for record in records]
    assert due == sorted(due)
    for record in records:
        if record.topic == "products":
            product = products.decode(record.value)
            assert record.key == product.product_id.encode()
        else:
            event = events.decode(record.value)
            assert record.key == event.customer_id.encode()
            assert record.timestamp_ms == int(event.event_time * 1000)
    assert sum(record.topic == "shop_events" for record in records) == 2_560


def test_products_are_announced_before_their_first_event() -> None:
    simulation = simulate(events=5_000, products=50, customers=100, new_products_per_day=200.0)
    announced: set[str] = set()
    for item in simulation.order:
        if isinstance(item, Product):
            announced.add(item.product_id)
        else:
            assert item.product_id in announced
    assert len(simulation.products) > 50  # new products arrived


def test_purchases_follow_hidden_tastes_and_a_long_tail() -> None:
    simulation = simulate(events=20_000, products=300, customers=300, new_customers_per_day=0.0)
    world = simulation.world
    purchases = [event for event in simulation.events if event.event_type == "purchase"]
    category = {product.product_id: product.category for product in simulation.products}
    in_preferred = np.mean(
        [
            category[event.product_id] in world.taste(event.customer_id).preferred_categories
            for event in purchases
        ]
    )
    share_of_preferred_catalogue = np.mean(
        [
            np.mean(
                [
                    product.category in world.taste(customer).preferred_categories
                    for product in simulation.products
                ]
            )
            for customer in world.customer_ids[:100]
        ]
    )
    assert in_preferred > 2 * share_of_preferred_catalogue
    views = Counter(event.product_id for event in simulation.events if event.event_type == "view")
    counts = np.sort(np.array(list(views.values())))[::-1]
    assert counts[: len(counts) // 10].sum() > 0.3 * counts.sum()  # the top tenth gets far more than a tenth
    bought = {(event.customer_id, event.product_id) for event in purchases}
    customer = purchases[0].customer_id
    mine = [product for (who, product) in bought if who == customer]
    others = [product.product_id for product in simulation.products[:50]]
    assert world.utility(customer, mine).mean() > world.utility(customer, others).mean()


def test_new_customers_arrive_and_tastes_drift() -> None:
    simulation = simulate(
        events=10_000, products=100, customers=100, new_customers_per_day=500.0, taste_drift_per_day=0.5
    )
    world = simulation.world
    assert len(world.customer_ids) > 100
    assert any(int(event.customer_id.removeprefix("u-")) >= 100 for event in simulation.events)
    before = [world.taste(customer).latent for customer in world.customer_ids[:50]]
    for _ in range(40):
        world.next_items(None)
    after = [world.taste(customer).latent for customer in world.customer_ids[:50]]
    assert sum(not np.allclose(old, new) for old, new in zip(before, after, strict=True)) >= 10


def test_faults_are_injected_and_counted() -> None:
    simulation = simulate(
        events=30_000,
        products=200,
        customers=300,
        faults=True,
        duplicate_fraction=0.01,
        outdated_fraction=0.005,
        incorrect_fraction=0.005,
    )
    injected = simulation.world.injected
    assert set(injected) == {"duplicate", "outdated", "unknown_product", "price_mismatch"}
    ids = Counter(event.event_id for event in simulation.events)
    assert sum(count - 1 for count in ids.values()) == injected["duplicate"]
    unknown = sum(event.product_id.startswith("p-unknown-") for event in simulation.events)
    assert unknown == injected["unknown_product"]


def test_customer_ids_match_the_payment_customers_format() -> None:
    world = ShopWorld(ShopSimulationSettings(products=10, customers=5), seed=0, start_time=START)
    assert world.customer_ids[:2] == ["u-000000", "u-000001"]
    with pytest.raises(KeyError):
        world.taste("c-000001")


def test_the_producer_loop_uses_the_simulators_own_topics() -> None:
    world = ShopWorld(ShopSimulationSettings(products=10, customers=5), seed=0, start_time=START)
    loop = ProducerLoop(Settings(), world, count=1, progress=False)
    # The lead registers the topics in the catalogue; until then only the logical names are checked.
    loop.settings = SimpleNamespace(topic_name=lambda logical: logical.replace("_", "-"))  # type: ignore[assignment]
    names = loop._names()
    assert set(names) == {"shop_events", "products"}


def test_a_malformed_event_is_refused_by_the_contract() -> None:
    with pytest.raises(EventDecodeError):
        Codec(ShopEvent).decode(
            b'{"event_id":"e","customer_id":"u","session_id":"s","product_id":"p","event_type":"stare","event_time":1.7e9}'
        )
