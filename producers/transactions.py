"""`TransactionProducer`: simulated payments into the transactions topic, chargebacks into labels."""

from __future__ import annotations

import time

from producers.payments import PaymentWorld
from producers.runner import SimulatedProducer
from producers.settings import ProducerSettings
from streaming.config import Settings


class TransactionProducer(SimulatedProducer):
    """Produces simulated payments. Every argument left as None comes from the `[producers]` settings.

    >>> from streaming.config import Settings
    >>> producer = TransactionProducer(Settings(), cards=100, seed=7, start_time=1.7e9, fraud_rate=0.01)
    >>> len(producer.world.card_ids), producer.world.fraud_rate
    (100, 0.01)

    `producer.run(count=1_000, rate="max")` then sends to the broker and returns a `ProducerSummary`.
    Chargebacks still pending when a bounded run ends are sent at the end (`flush_labels=True`), keeping
    their future reported times as timestamps, so the ground truth of every fraud is complete.
    """

    def __init__(
        self,
        settings: Settings,
        cards: int | None = None,
        seed: int | None = None,
        start_time: float | None = None,
        fraud_rate: float | None = None,
        chargeback_delay_seconds: float | None = None,
        merchants: int | None = None,
    ) -> None:
        config = settings.section("producers", ProducerSettings)
        self.settings = settings
        self.seed = config.seed if seed is None else seed
        self.world = PaymentWorld(
            cards=config.cards if cards is None else cards,
            merchants=config.merchants if merchants is None else merchants,
            seed=self.seed,
            start_time=time.time() if start_time is None else start_time,
            fraud_rate=config.fraud_rate if fraud_rate is None else fraud_rate,
            chargeback_delay_seconds=(
                config.chargeback_delay_seconds
                if chargeback_delay_seconds is None
                else chargeback_delay_seconds
            ),
            chargeback_delay_jitter=config.chargeback_delay_jitter,
            transactions_per_card_day=config.transactions_per_card_day,
            lifecycle=config.customers,
        )
