"""`ShopProducer`: the simulated shop's catalogue into `products`, its customers' sessions into
`shop-events`."""

from __future__ import annotations

import time

from producers.runner import SimulatedProducer
from producers.settings import ProducerSettings
from producers.shop import ShopSimulationSettings, ShopWorld
from streaming.config import Settings


class ShopProducer(SimulatedProducer):
    """Produces a simulated shop. Arguments left as None come from `[shop]` and `[producers]`.

    >>> producer = ShopProducer(Settings(), seed=3, start_time=1.7e9, customers=50, products=30)
    >>> producer.world.settings.customers
    50
    """

    def __init__(
        self,
        settings: Settings,
        seed: int | None = None,
        start_time: float | None = None,
        customers: int | None = None,
        products: int | None = None,
    ) -> None:
        shop = settings.section("shop", ShopSimulationSettings)
        updates = {"customers": customers, "products": products}
        shop = shop.model_copy(update={name: value for name, value in updates.items() if value is not None})
        self.settings = settings
        self.seed = settings.section("producers", ProducerSettings).seed if seed is None else seed
        self.world = ShopWorld(
            shop, seed=self.seed, start_time=time.time() if start_time is None else start_time
        )
