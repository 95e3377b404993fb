"""`SensorProducer`: the machine fleet into the sensor-readings topic, failures into the labels topic."""

from __future__ import annotations

import time

from producers.fleet import MachineFleet
from producers.runner import SimulatedProducer
from producers.settings import ProducerSettings
from streaming.config import Settings


class SensorProducer(SimulatedProducer):
    """Produces a simulated fleet's readings. Every argument left as None comes from `[producers]`.

    >>> from streaming.config import Settings
    >>> producer = SensorProducer(Settings(), machines=20, seed=7, start_time=1.7e9)
    >>> producer.fleet.machines, producer.fleet.ids[0]
    (20, 'm-0000')

    `producer.run(duration=10, rate=5_000)` then sends to the broker and returns a `ProducerSummary`.
    """

    def __init__(
        self,
        settings: Settings,
        machines: int | None = None,
        seed: int | None = None,
        start_time: float | None = None,
        failure_rate_per_machine_day: float | None = None,
        readings_per_record: int | None = None,
    ) -> None:
        config = settings.section("producers", ProducerSettings)
        self.settings = settings
        self.seed = config.seed if seed is None else seed
        self.world = self.fleet = MachineFleet(
            machines=config.machines if machines is None else machines,
            seed=self.seed,
            start_time=time.time() if start_time is None else start_time,
            reading_interval_seconds=config.reading_interval_seconds,
            readings_per_record=config.readings_per_record
            if readings_per_record is None
            else readings_per_record,
            failure_rate_per_machine_day=(
                config.failure_rate_per_machine_day
                if failure_rate_per_machine_day is None
                else failure_rate_per_machine_day
            ),
            degradation_seconds=config.degradation_seconds,
            repair_seconds=config.repair_seconds,
        )
