"""Small seeded streams with a known signal, for tests, benchmarks and trying the services out.

They are deliberately simple: the point is a stream where a good model must beat a constant predictor and
the fraud rules, with labels that arrive late, and an optional concept change at a known point.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from contracts import Label, Transaction
from streaming.schemas import WindowAggregate

__all__ = ["FraudStream", "MaintenanceStream"]

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@dataclass(frozen=True)
class _Card:
    card_id: str
    latitude: float
    longitude: float
    usual_amount: float
    merchants: tuple[str, ...]
    device: str


class FraudStream:
    """Transactions of `cards` cards at `rate_per_second`, a share `fraud_rate` fraudulent, with chargebacks
    reported `chargeback_delay_seconds` later. After `drift_after` transactions (if set) fraud changes its
    pattern: small amounts at the card's usual merchants and place, on a new device online.

    >>> stream = FraudStream(seed=1, cards=50)
    >>> events = list(stream.events(200))
    >>> sum(isinstance(event, Transaction) for event in events), all(
    ...     isinstance(event, (Transaction, Label)) for event in events)
    (200, True)
    """

    def __init__(
        self,
        seed: int = 7,
        cards: int = 500,
        merchants: int = 200,
        fraud_rate: float = 0.03,
        rate_per_second: float = 20.0,
        chargeback_delay_seconds: float = 600.0,
        drift_after: int | None = None,
        start: float = START,
    ) -> None:
        self.rng = random.Random(seed)
        self.fraud_rate = fraud_rate
        self.rate_per_second = rate_per_second
        self.chargeback_delay_seconds = chargeback_delay_seconds
        self.drift_after = drift_after
        self.merchant_ids = [f"m-{index}" for index in range(merchants)]
        self.categories = ["grocery", "fuel", "restaurant", "travel", "electronics", "fashion", "pharmacy"]
        self.cards = [self._card(index) for index in range(cards)]
        self.time = start
        self.count = 0
        self.frauds: set[str] = set()

    def _card(self, index: int) -> _Card:
        rng = self.rng
        return _Card(
            card_id=f"c-{index}",
            latitude=rng.uniform(43.0, 51.0),
            longitude=rng.uniform(-1.0, 7.0),
            usual_amount=math.exp(rng.gauss(3.3, 0.6)),
            merchants=tuple(rng.sample(self.merchant_ids, 5)),
            device=f"d-{index}",
        )

    def _category(self, merchant_id: str) -> str:
        return self.categories[int(merchant_id.split("-")[1]) % len(self.categories)]

    def transaction(self) -> tuple[Transaction, bool]:
        rng = self.rng
        self.time += rng.expovariate(self.rate_per_second)
        card = rng.choice(self.cards)
        fraud = rng.random() < self.fraud_rate
        drifted = self.drift_after is not None and self.count >= self.drift_after
        self.count += 1
        amount = card.usual_amount * math.exp(rng.gauss(0.0, 0.35))
        merchant = rng.choice(card.merchants) if rng.random() < 0.9 else rng.choice(self.merchant_ids)
        latitude = card.latitude + rng.gauss(0.0, 0.01)
        longitude = card.longitude + rng.gauss(0.0, 0.01)
        device, channel = card.device, rng.choice(["pos", "pos", "contactless", "online"])
        if fraud and not drifted:
            amount = card.usual_amount * rng.uniform(4.0, 15.0)
            merchant = rng.choice(self.merchant_ids)
            if rng.random() < 0.25:
                latitude += rng.uniform(2.0, 6.0)  # far away: the impossible-travel rule may catch it
            device = f"d-x{rng.randrange(1_000_000)}"
            channel = rng.choice(["online", "online", "pos", "atm"])
        elif fraud:
            amount = card.usual_amount * rng.uniform(0.2, 0.6)
            device = f"d-x{rng.randrange(1_000_000)}"
            channel = "online"
        elif rng.random() < 0.03:
            device = f"d-n{rng.randrange(1_000_000)}"  # legitimate new phone
        tx = Transaction(
            transaction_id=f"t-{self.count}",
            card_id=card.card_id,
            customer_id=f"u-{card.card_id[2:]}",
            merchant_id=merchant,
            merchant_category=self._category(merchant),
            amount=round(max(0.5, min(amount, 50_000.0)), 2),
            event_time=self.time,
            latitude=max(-90.0, min(90.0, latitude)),
            longitude=longitude,
            device_id=device,
            channel=channel,  # type: ignore[arg-type]
        )
        if fraud:
            self.frauds.add(tx.transaction_id)
        return tx, fraud

    def labelled(self, count: int) -> Iterator[tuple[Transaction, bool]]:
        for _ in range(count):
            yield self.transaction()

    def events(self, count: int) -> Iterator[Transaction | Label]:
        """Transactions, with each chargeback placed where it is reported (in event-time order)."""
        waiting: list[Label] = []
        for _ in range(count):
            tx, fraud = self.transaction()
            while waiting and waiting[0].reported_time <= tx.event_time:
                yield waiting.pop(0)
            yield tx
            if fraud:
                waiting.append(
                    Label(
                        kind="chargeback",
                        entity_id=tx.card_id,
                        event_time=tx.event_time,
                        reported_time=tx.event_time + self.chargeback_delay_seconds,
                        transaction_id=tx.transaction_id,
                        fraud_pattern="drifted"
                        if self.drift_after and self.count > self.drift_after
                        else "takeover",
                    )
                )
        yield from waiting


class MaintenanceStream:
    """Closed 60 s windows of `machines` machines. Each machine degrades for `degradation_seconds` before
    it fails (torque, vibration and temperature creep up); failures are reported `report_delay_seconds`
    after they happen, then the machine is repaired.

    >>> stream = MaintenanceStream(seed=1, machines=5)
    >>> events = list(stream.events(minutes=30))
    >>> sum(isinstance(event, WindowAggregate) for event in events)
    150
    """

    def __init__(
        self,
        seed: int = 11,
        machines: int = 20,
        window_seconds: float = 60.0,
        failure_rate_per_hour: float = 0.08,
        degradation_seconds: float = 1_800.0,
        report_delay_seconds: float = 120.0,
        start: float = START,
    ) -> None:
        self.rng = random.Random(seed)
        self.machines = [f"m-{index}" for index in range(machines)]
        self.types = {machine: self.rng.choice("LLLMMH") for machine in self.machines}
        self.window_seconds = window_seconds
        self.failure_rate_per_hour = failure_rate_per_hour
        self.degradation_seconds = degradation_seconds
        self.report_delay_seconds = report_delay_seconds
        self.start = start
        self.wear = {machine: self.rng.uniform(0, 150) for machine in self.machines}
        #: Event time at which each degrading machine fails.
        self.failing_at: dict[str, float] = {}

    def _window(self, machine: str, start: float) -> WindowAggregate:
        rng = self.rng
        end = start + self.window_seconds
        progress = 0.0
        if machine in self.failing_at:
            remaining = self.failing_at[machine] - end
            progress = max(0.0, 1.0 - remaining / self.degradation_seconds)
        self.wear[machine] += self.window_seconds / 60.0
        air = 300.0 + rng.gauss(0, 0.8)
        process = air + 10.0 - 3.0 * progress + rng.gauss(0, 0.6)
        speed = 1_500.0 + rng.gauss(0, 60) - 150.0 * progress
        torque = 40.0 + rng.gauss(0, 3.0) + 12.0 * progress
        vibration = 2.0 + abs(rng.gauss(0, 0.3)) + 2.5 * progress
        aggregates = {
            "air_temperature_k": {"mean": air, "std": abs(rng.gauss(0.3, 0.05)), "max": air + 0.6},
            "process_temperature_k": {
                "mean": process,
                "std": abs(rng.gauss(0.3, 0.05)),
                "max": process + 0.6,
            },
            "rotational_speed_rpm": {"mean": speed, "std": abs(rng.gauss(20, 3)), "max": speed + 40},
            "torque_nm": {"mean": torque, "std": abs(rng.gauss(2, 0.3)) + progress, "max": torque + 4},
            "vibration_mm_s": {"mean": vibration, "std": 0.2 + 0.3 * progress, "max": vibration + 0.5},
            "tool_wear_min": {"mean": self.wear[machine], "max": self.wear[machine]},
        }
        return WindowAggregate(
            key=machine,
            window_start=start,
            window_end=end,
            count=int(self.window_seconds),
            aggregates=aggregates,
            closed_by="watermark",
            attributes={"machine_type": self.types[machine]},
        )

    def events(self, minutes: float) -> Iterator[WindowAggregate | Label]:
        """Windows in event-time order, each failure label placed where it is reported."""
        steps = int(minutes * 60 / self.window_seconds)
        per_window = self.failure_rate_per_hour * self.window_seconds / 3_600.0
        waiting: list[Label] = []
        for step in range(steps):
            start = self.start + step * self.window_seconds
            end = start + self.window_seconds
            while waiting and waiting[0].reported_time <= end:
                yield waiting.pop(0)
            for machine in self.machines:
                if machine not in self.failing_at and self.rng.random() < per_window:
                    self.failing_at[machine] = end + self.degradation_seconds
                yield self._window(machine, start)
                failure_time = self.failing_at.get(machine)
                if failure_time is not None and failure_time <= end:
                    del self.failing_at[machine]
                    self.wear[machine] = 0.0
                    waiting.append(
                        Label(
                            kind="machine_failure",
                            entity_id=machine,
                            event_time=end,
                            reported_time=end + self.report_delay_seconds,
                            failure_mode="overstrain",
                        )
                    )
        yield from waiting
