"""Simulated card payments: customers with habits, merchants with categories, and four fraud patterns.

Legitimate payments come from the customers of a `CustomerBase` (`producers/customers.py`): each card
belongs to a customer, and every transaction carries its `customer_id`. They arrive as a Poisson process
per card (with a daily cycle) whose rate follows the customer's lifecycle week by week, mostly at the
customer's habitual merchants near home, with amounts from the category's typical basket scaled by the
customer's spending profile. Some purchases are refunded a few days later (a `refund` transaction of the
same amount at the same merchant); customers about to churn refund more. When a customer churns, a
`customer_churned` ground-truth label goes to the labels topic. A fraud episode starts, with a small
probability, on a card's payment and adds one or more fraudulent payments:

- card_testing: a burst of 5-15 tiny online payments at digital-goods merchants, seconds apart;
- account_takeover: a new device in another country, 2-5 online payments of 3-10x the usual amount at
  gift-card or money-transfer merchants;
- unusual_large: one large payment at a category the card never uses (jewellery, luxury, crypto);
- impossible_travel: one card-present payment on another continent minutes after a payment at home.

Each fraudulent payment gets a chargeback label, reported `chargeback_delay_seconds` (with jitter) of
event time later: labels arrive late, as in real payments.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from contracts import Label, Transaction
from producers.customers import CustomerBase, CustomerLifecycleSettings
from producers.records import OutgoingRecord
from streaming.schemas import encode

#: (name, latitude, longitude, country). The first group is home to cards; the rest only see fraud.
HOME_CITIES: tuple[tuple[str, float, float, str], ...] = (
    ("Paris", 48.857, 2.352, "FR"),
    ("Lyon", 45.764, 4.836, "FR"),
    ("Marseille", 43.296, 5.370, "FR"),
    ("Berlin", 52.520, 13.405, "DE"),
    ("Munich", 48.135, 11.582, "DE"),
    ("Madrid", 40.417, -3.704, "ES"),
    ("Barcelona", 41.385, 2.173, "ES"),
    ("Rome", 41.903, 12.496, "IT"),
    ("Milan", 45.464, 9.190, "IT"),
    ("Amsterdam", 52.368, 4.904, "NL"),
    ("Brussels", 50.850, 4.352, "BE"),
    ("Lisbon", 38.722, -9.139, "PT"),
    ("Vienna", 48.208, 16.374, "AT"),
    ("Dublin", 53.350, -6.260, "IE"),
    ("Warsaw", 52.230, 21.012, "PL"),
)
FAR_CITIES: tuple[tuple[str, float, float, str], ...] = (
    ("New York", 40.713, -74.006, "US"),
    ("Lagos", 6.524, 3.379, "NG"),
    ("Singapore", 1.352, 103.820, "SG"),
    ("Sao Paulo", -23.551, -46.633, "BR"),
    ("Mumbai", 19.076, 72.878, "IN"),
    ("Sydney", -33.869, 151.209, "AU"),
    ("Bangkok", 13.756, 100.502, "TH"),
    ("Mexico City", 19.433, -99.133, "MX"),
)
#: (category, median amount in EUR, share of merchants, online)
CATEGORIES: tuple[tuple[str, float, float, bool], ...] = (
    ("grocery", 35.0, 0.22, False),
    ("restaurant", 30.0, 0.18, False),
    ("fuel", 60.0, 0.08, False),
    ("transport", 15.0, 0.07, False),
    ("pharmacy", 20.0, 0.06, False),
    ("clothing", 70.0, 0.09, False),
    ("electronics", 250.0, 0.04, False),
    ("online_retail", 45.0, 0.12, True),
    ("entertainment", 25.0, 0.06, True),
    ("utilities", 80.0, 0.04, True),
    ("travel", 400.0, 0.04, True),
)
#: Categories only fraud uses; legitimate cards never shop there in this simulation.
FRAUD_CATEGORIES: tuple[tuple[str, float, bool], ...] = (
    ("digital_goods", 5.0, True),
    ("gift_cards", 300.0, True),
    ("money_transfer", 800.0, True),
    ("jewelry", 1_500.0, False),
    ("luxury", 2_000.0, False),
    ("crypto_exchange", 1_000.0, True),
)
FRAUD_PATTERNS: tuple[str, ...] = ("card_testing", "account_takeover", "unusual_large", "impossible_travel")
FRAUD_PATTERN_SHARES: tuple[float, ...] = (0.3, 0.3, 0.25, 0.15)
#: Mean fraudulent payments per episode of each pattern (used to hit the requested fraud rate).
_EPISODE_SIZES: tuple[float, ...] = (10.0, 3.5, 1.0, 1.0)
_DAY = 86_400.0


@dataclass(slots=True)
class _Merchant:
    merchant_id: str
    category: str
    median: float
    online: bool
    latitude: float
    longitude: float
    country: str


class PaymentWorld:
    """Cards, merchants and the payment stream; `generate()` returns the next payments and due labels.

    Parameters
    ----------
    cards
        Cards the customers hold at the start (the base grows from there).
    merchants
        Number of merchants.
    seed
        Seed of the simulation.
    start_time
        Event time of the first payment, epoch seconds.
    fraud_rate
        Share of payments that are fraudulent.
    chargeback_delay_seconds, chargeback_delay_jitter
        Chargebacks are reported this long after the fraud, times a uniform factor in
        [1 - jitter, 1 + jitter].
    transactions_per_card_day
        Mean visits per card and day of an active customer.
    lifecycle
        The customers' lifecycle settings (default: `CustomerLifecycleSettings()`).

    >>> world = PaymentWorld(cards=50, merchants=40, seed=3, start_time=1.7e9, fraud_rate=0.0)
    >>> records = world.generate(5)
    >>> len(records), records[0].topic, records[0].key.startswith(b"c-")
    (5, 'transactions', True)
    """

    service = "producer-transactions"
    data_topic = "transactions"
    numeric_fields: tuple[str, ...] = ("amount", "latitude", "longitude", "event_time")
    required_fields: tuple[str, ...] = ("transaction_id", "card_id", "amount", "event_time", "merchant_id")

    def __init__(
        self,
        cards: int,
        merchants: int,
        seed: int,
        start_time: float,
        fraud_rate: float = 0.002,
        chargeback_delay_seconds: float = 3_600.0,
        chargeback_delay_jitter: float = 0.5,
        transactions_per_card_day: float = 3.0,
        lifecycle: CustomerLifecycleSettings | None = None,
    ) -> None:
        if cards < 1 or merchants < 1:
            raise ValueError("the simulation needs at least one card and one merchant")
        if not 0.0 <= fraud_rate < 1.0:
            raise ValueError("fraud_rate must be in [0, 1)")
        self.start_time = float(start_time)
        self.now = float(start_time)
        self.fraud_rate = fraud_rate
        self.chargeback_delay_seconds = chargeback_delay_seconds
        self.chargeback_delay_jitter = chargeback_delay_jitter
        self.seed = seed
        rng = self._rng = np.random.default_rng(seed)
        mean_size = float(np.dot(FRAUD_PATTERN_SHARES, _EPISODE_SIZES))
        # An episode adds `mean_size` fraud payments; this makes fraud / all payments equal fraud_rate.
        self.episode_probability = fraud_rate / ((1.0 - fraud_rate) * mean_size) if fraud_rate else 0.0
        self.transactions = 0
        self.fraud_transactions = 0
        self.refund_transactions = 0
        self._build_merchants(merchants)
        self.customers = CustomerBase(
            lifecycle or CustomerLifecycleSettings(),
            cards=cards,
            seed=seed,
            start_time=self.start_time,
            merchants_by_city=self._merchants_by_city,
            merchant_categories=[merchant.category for merchant in self.merchants],
            category_shares={name: share for name, _median, share, _online in CATEGORIES},
            city_count=len(HOME_CITIES),
            transactions_per_card_day=transactions_per_card_day,
        )
        self._refresh_cards()
        # Fraud payments and refunds to come; the pattern is "" for a refund.
        self._scheduled: list[tuple[float, int, Transaction, str]] = []
        self._labels: list[tuple[float, int, OutgoingRecord]] = []  # labels not yet reported
        self._sequence = 0
        self._arrivals: list[tuple[float, int]] = []
        self._arrival_index = 0
        self._arrival_cursor = self.start_time
        self._last_home_payment: dict[int, float] = {}
        del rng

    def _build_merchants(self, count: int) -> None:
        rng = self._rng
        shares = np.array([category[2] for category in CATEGORIES])
        chosen = rng.choice(len(CATEGORIES), size=count, p=shares / shares.sum())
        cities = rng.integers(len(HOME_CITIES), size=count)
        self.merchants: list[_Merchant] = []
        for index in range(count):
            name, median, _share, online = CATEGORIES[chosen[index]]
            _city, latitude, longitude, country = HOME_CITIES[cities[index]]
            self.merchants.append(
                _Merchant(
                    f"mer-{index:05d}",
                    name,
                    median,
                    online,
                    latitude + rng.normal(0, 0.05),
                    longitude + rng.normal(0, 0.05),
                    country,
                )
            )
        self._merchants_by_city: list[list[int]] = [
            [index for index in range(count) if cities[index] == city or self.merchants[index].online]
            for city in range(len(HOME_CITIES))
        ]
        self.fraud_merchants: dict[str, list[_Merchant]] = {}
        for offset, (name, median, online) in enumerate(FRAUD_CATEGORIES):
            self.fraud_merchants[name] = [
                _Merchant(f"mer-f{offset}{index:03d}", name, median, online, *self._far_place()[1:])
                for index in range(5)
            ]

    def _far_place(self) -> tuple[str, float, float, str]:
        return FAR_CITIES[int(self._rng.integers(len(FAR_CITIES)))]

    def _refresh_cards(self) -> None:
        """Per-card views of the customer base, extended when new customers (and cards) arrive."""
        base = self.customers
        self.card_ids = base.card_ids
        self.devices = base.devices
        owners = base.card_customer
        self.home_city = base.home_city[owners]
        cities = np.array([(city[1], city[2]) for city in HOME_CITIES])
        self.home_latitude = cities[self.home_city, 0] + base.home_latitude_offset[owners]
        self.home_longitude = cities[self.home_city, 1] + base.home_longitude_offset[owners]
        self.rates = base.card_rates_per_second
        self._total_rate = float(self.rates.sum())
        self._card_probabilities = self.rates / self._total_rate if self._total_rate > 0 else self.rates

    @property
    def customer_ids(self) -> list[str]:
        """Every customer so far, by index (`customers.card_customer` maps a card to its index)."""
        return self.customers.customer_ids

    @property
    def natural_rate(self) -> float:
        """Legitimate payments per second of event time (daily average) in the current week."""
        return self._total_rate

    def _advance_week(self) -> None:
        boundary = self.customers.next_boundary
        for label in self.customers.advance(boundary):
            record = OutgoingRecord(
                "labels",
                label.entity_id.encode(),
                encode(label),
                int(label.reported_time * 1000),
                1,
                label.reported_time,
            )
            self._sequence += 1
            heapq.heappush(self._labels, (label.reported_time, self._sequence, record))
        self._refresh_cards()

    def _refill_arrivals(self) -> None:
        """The next legitimate arrival times (thinned for a daily cycle) and their cards, in a batch.

        A batch never crosses a week boundary: there the customer base moves on (rates change), and the
        Poisson process restarts at the boundary, which memorylessness allows.
        """
        rng = self._rng
        size = 4_096
        peak = 1.6
        while True:
            boundary = self.customers.next_boundary
            if self._arrival_cursor >= boundary:
                self._advance_week()
                continue
            if self._total_rate <= 0.0:  # nobody buys this week
                self._arrival_cursor = boundary
                continue
            gaps = rng.exponential(1.0 / (self._total_rate * peak), size)
            times = self._arrival_cursor + np.cumsum(gaps)
            inside = times < boundary
            self._arrival_cursor = float(times[-1]) if inside.all() else boundary
            times = times[inside]
            hour = (times % _DAY) / 3_600.0
            intensity = 1.0 + 0.6 * np.sin(
                2 * math.pi * (hour - 9.0) / 24.0
            )  # busiest mid-afternoon, quiet at night
            accepted = rng.random(len(times)) < intensity / peak
            cards = rng.choice(len(self.card_ids), size=len(times), p=self._card_probabilities)
            arrivals = list(zip(times[accepted].tolist(), cards[accepted].tolist(), strict=True))
            if arrivals:
                self._arrivals = arrivals
                self._arrival_index = 0
                return

    def _next_arrival(self) -> tuple[float, int]:
        if self._arrival_index >= len(self._arrivals):
            self._refill_arrivals()
        arrival = self._arrivals[self._arrival_index]
        self._arrival_index += 1
        return arrival

    def _transaction_id(self) -> str:
        self.transactions += 1
        return f"tx-{self.seed:x}-{self.transactions:010d}"

    def _legit(self, time: float, card: int) -> Transaction:
        rng = self._rng
        behaviour = self.customers.behaviour(card)
        habitual = behaviour.habitual_merchants
        if rng.random() < behaviour.habitual_share:
            merchant = self.merchants[habitual[int(rng.integers(len(habitual)))]]
        else:
            local = self._merchants_by_city[self.home_city[card]]
            merchant = self.merchants[local[int(rng.integers(len(local)))]]
        amount = merchant.median * behaviour.basket_scale * rng.lognormal(0.0, 0.5)
        if merchant.online:
            latitude, longitude = self.home_latitude[card], self.home_longitude[card]
            channel = "online"
        else:
            latitude, longitude = merchant.latitude, merchant.longitude
            channel = "contactless" if amount < 50 and rng.random() < 0.6 else "pos"
        self._last_home_payment[card] = time
        purchase = self._transaction(
            time,
            card,
            merchant,
            amount,
            latitude,
            longitude,
            self.devices[card],
            channel,
            HOME_CITIES[self.home_city[card]][3],
        )
        if rng.random() < behaviour.refund_probability:
            self._schedule_refund(purchase, card, merchant)
        return purchase

    def _schedule_refund(self, purchase: Transaction, card: int, merchant: _Merchant) -> None:
        delay = self._rng.exponential(self.customers.settings.refund_delay_days * _DAY)
        moment = purchase.event_time + max(delay, 60.0)
        refund = self._transaction(
            moment,
            card,
            merchant,
            purchase.amount,
            purchase.latitude,
            purchase.longitude,
            purchase.device_id,
            purchase.channel,
            purchase.country,
            transaction_type="refund",
        )
        self._sequence += 1
        heapq.heappush(self._scheduled, (moment, self._sequence, refund, ""))

    def _transaction(
        self,
        time: float,
        card: int,
        merchant: _Merchant,
        amount: float,
        latitude: float,
        longitude: float,
        device: str,
        channel: str,
        country: str,
        transaction_type: str = "purchase",
    ) -> Transaction:
        return Transaction(
            transaction_id=self._transaction_id(),
            card_id=self.card_ids[card],
            customer_id=self.customers.customer_of(card),
            merchant_id=merchant.merchant_id,
            merchant_category=merchant.category,
            amount=round(min(max(float(amount), 0.5), 999_999.0), 2),
            currency="EUR",
            event_time=round(time, 3),
            latitude=round(float(latitude), 5),
            longitude=round(float(longitude), 5),
            device_id=device,
            channel=channel,  # type: ignore[arg-type]
            country=country,
            transaction_type=transaction_type,  # type: ignore[arg-type]
        )

    def _start_episode(self, time: float, card: int) -> None:
        rng = self._rng
        pattern = FRAUD_PATTERNS[int(rng.choice(len(FRAUD_PATTERNS), p=FRAUD_PATTERN_SHARES))]
        scale = self.customers.spending_scale[self.customers.card_customer[card]]
        fraud_device = f"d-{int(rng.integers(0, 2**32)):08x}"
        payments: list[tuple[float, _Merchant, float, float, float, str, str, str]] = []
        if pattern == "card_testing":
            _, latitude, longitude, country = self._far_place()
            moment = time + rng.exponential(600.0)
            for _ in range(int(rng.integers(5, 16))):
                moment += rng.exponential(8.0)
                merchant = self._fraud_merchant("digital_goods")
                payments.append(
                    (
                        moment,
                        merchant,
                        rng.uniform(0.5, 3.0),
                        latitude,
                        longitude,
                        fraud_device,
                        "online",
                        country,
                    )
                )
        elif pattern == "account_takeover":
            _, latitude, longitude, country = self._far_place()
            moment = time + rng.exponential(1_800.0)
            for _ in range(int(rng.integers(2, 6))):
                moment += rng.exponential(300.0)
                merchant = self._fraud_merchant(("gift_cards", "money_transfer")[int(rng.integers(2))])
                amount = max(150.0, 60.0 * scale) * rng.uniform(3.0, 10.0)
                payments.append(
                    (moment, merchant, amount, latitude, longitude, fraud_device, "online", country)
                )
        elif pattern == "unusual_large":
            category = ("jewelry", "luxury", "crypto_exchange")[int(rng.integers(3))]
            merchant = self._fraud_merchant(category)
            amount = merchant.median * rng.uniform(1.5, 5.0)
            moment = time + rng.exponential(3_600.0)
            latitude, longitude = self.home_latitude[card], self.home_longitude[card]
            channel = "online" if merchant.online else "pos"
            payments.append(
                (
                    moment,
                    merchant,
                    amount,
                    latitude,
                    longitude,
                    self.devices[card],
                    channel,
                    HOME_CITIES[self.home_city[card]][3],
                )
            )
        else:  # impossible travel: a cloned card used on another continent minutes after a home payment
            _, latitude, longitude, country = self._far_place()
            moment = time + rng.uniform(120.0, 1_800.0)
            local = self._merchants_by_city[self.home_city[card]]
            merchant = self.merchants[local[int(rng.integers(len(local)))]]
            amount = merchant.median * scale * rng.uniform(1.0, 3.0)
            payments.append(
                (
                    moment,
                    merchant,
                    amount,
                    latitude + rng.normal(0, 0.05),
                    longitude + rng.normal(0, 0.05),
                    fraud_device,
                    "pos",
                    country,
                )
            )
        for moment, merchant, amount, latitude, longitude, device, channel, country in payments:
            transaction = self._transaction(
                moment, card, merchant, amount, latitude, longitude, device, channel, country
            )
            self._sequence += 1
            heapq.heappush(self._scheduled, (moment, self._sequence, transaction, pattern))

    def _fraud_merchant(self, category: str) -> _Merchant:
        choices = self.fraud_merchants[category]
        return choices[int(self._rng.integers(len(choices)))]

    def _chargeback(self, transaction: Transaction, pattern: str) -> None:
        jitter = self.chargeback_delay_jitter
        delay = self.chargeback_delay_seconds * self._rng.uniform(1.0 - jitter, 1.0 + jitter)
        reported = round(transaction.event_time + delay, 3)
        label = Label(
            kind="chargeback",
            entity_id=transaction.card_id,
            event_time=transaction.event_time,
            reported_time=reported,
            transaction_id=transaction.transaction_id,
            fraud_pattern=pattern,
        )
        record = OutgoingRecord(
            "labels", transaction.card_id.encode(), encode(label), int(reported * 1000), 1, reported
        )
        self._sequence += 1
        heapq.heappush(self._labels, (reported, self._sequence, record))

    def _record(self, transaction: Transaction) -> OutgoingRecord:
        return OutgoingRecord(
            "transactions",
            transaction.card_id.encode(),
            encode(transaction),
            int(transaction.event_time * 1000),
            1,
            transaction.event_time,
        )

    def generate(self, max_events: int | None) -> list[OutgoingRecord]:
        """Up to 256 payments (fewer with `max_events`), with the labels whose reported time came."""
        limit = 256 if max_events is None else min(256, max_events)
        out: list[OutgoingRecord] = []
        produced = 0
        while produced < limit:
            arrival_time, card = (
                self._arrivals[self._arrival_index]
                if self._arrival_index < len(self._arrivals)
                else self._peek_arrival()
            )
            if self._scheduled and self._scheduled[0][0] <= arrival_time:
                moment, _sequence, transaction, pattern = heapq.heappop(self._scheduled)
                if pattern:
                    self.fraud_transactions += 1
                    self._chargeback(transaction, pattern)
                else:
                    self.refund_transactions += 1
            else:
                moment, card = self._next_arrival()
                transaction = self._legit(moment, card)
                if self.episode_probability and self._rng.random() < self.episode_probability:
                    self._start_episode(moment, card)
            self.now = moment
            while self._labels and self._labels[0][0] <= moment:
                out.append(heapq.heappop(self._labels)[2])
            out.append(self._record(transaction))
            produced += 1
        return out

    def _peek_arrival(self) -> tuple[float, int]:
        self._refill_arrivals()
        return self._arrivals[0]

    def finish(self) -> list[OutgoingRecord]:
        """Labels not reported yet (chargebacks, churns): they go out with their future reported times as
        timestamps."""
        out = [item[2] for item in sorted(self._labels)]
        self._labels.clear()
        return out
