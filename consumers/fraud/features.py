"""Fraud features from per-card state, computed from the card's history before the transaction joins it.

Everything runs on event time, so a replay of the same transactions gives the same features.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque

from contracts import Transaction
from streaming.state.stable import stable

__all__ = ["FEATURE_NAMES", "CardState", "FraudFeatures", "haversine_km"]

HOUR = 3_600.0
DAY = 86_400.0
#: Below this gap the implied speed would explode on GPS noise; the gap is floored to it.
MIN_SPEED_GAP_SECONDS = 60.0
_EARTH_RADIUS_KM = 6_371.0
#: Payments within this distance of a card's home move it; farther ones are travel (or fraud).
HOME_RADIUS_KM = 300.0
MAX_DEVICES = 16
MAX_COUNTRIES = 8
#: Fraud rate a merchant or category starts from, and how many labels that prior weighs.
RISK_PRIOR = 0.01
RISK_STRENGTH = 5.0


def haversine_km(latitude_a: float, longitude_a: float, latitude_b: float, longitude_b: float) -> float:
    """Great-circle distance.

    >>> round(haversine_km(48.8566, 2.3522, 51.5074, -0.1278))
    344
    """
    phi_a, phi_b = math.radians(latitude_a), math.radians(latitude_b)
    d_phi = phi_b - phi_a
    d_lambda = math.radians(longitude_b - longitude_a)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi_a) * math.cos(phi_b) * math.sin(d_lambda / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@stable("fraud.card-state/2")
class CardState:
    """What one card did recently: sliding 1 h and 1 day windows, usual amount, places, merchants, devices,
    countries, and where it usually pays (its home: the mean place of the payments near it).

    >>> state = CardState()
    >>> state.count
    0
    """

    __slots__ = (
        "amount_mean",
        "amount_squares",
        "categories",
        "count",
        "countries",
        "day",
        "day_sum",
        "devices",
        "home_count",
        "home_latitude",
        "home_longitude",
        "hour",
        "hour_sum",
        "last_device",
        "last_latitude",
        "last_longitude",
        "last_time",
        "merchants",
    )

    def __init__(self) -> None:
        self.count = 0
        self.amount_mean = 0.0
        self.amount_squares = 0.0
        self.hour: deque[tuple[float, float]] = deque()
        self.hour_sum = 0.0
        self.day: deque[tuple[float, float]] = deque()
        self.day_sum = 0.0
        self.merchants: OrderedDict[str, None] = OrderedDict()
        self.categories: OrderedDict[str, None] = OrderedDict()
        self.devices: OrderedDict[str, None] = OrderedDict()
        self.countries: OrderedDict[str, None] = OrderedDict()
        self.home_latitude = 0.0
        self.home_longitude = 0.0
        self.home_count = 0
        self.last_time = 0.0
        self.last_latitude = 0.0
        self.last_longitude = 0.0
        self.last_device = ""

    def __reduce__(self) -> tuple:
        # A tuple of slot values pickles faster than a state dict; there are many cards.
        return (_card_state, tuple(getattr(self, name) for name in self.__slots__))


def _card_state(*values: object) -> CardState:
    state = CardState.__new__(CardState)
    for name, value in zip(CardState.__slots__, values, strict=True):
        setattr(state, name, value)
    return state


@stable("fraud.features/2")
class FraudFeatures:
    """Per-card state and the features of each new transaction, plus what labels taught about merchants.

    `transform(tx)` returns the features of `tx` against the card's history, then adds `tx` to it.
    `learn(merchant_id, category, fraud)` counts a label: `merchant_risk` and `category_risk` are the
    smoothed fraud rates of the merchant and its category among the transactions labelled so far (fraud
    concentrates on some merchants and categories; the counts are of labels already known, so nothing
    leaks from the future).

    Parameters
    ----------
    max_merchants, max_categories
        Merchants and categories remembered per card.
    ttl_seconds
        Event time after which an idle card is forgotten (`evict_idle`).
    max_risk_entries
        Merchants (and categories) whose label counts are kept, least recently labelled dropped first.

    >>> from contracts import Transaction
    >>> def tx(i, amount, t, merchant="m-1", lat=48.85, device="d-1"):
    ...     return Transaction(transaction_id=f"t-{i}", card_id="c-1", customer_id="u-1",
    ...         merchant_id=merchant, merchant_category="grocery", amount=amount, event_time=1.7e9 + t,
    ...         latitude=lat, longitude=2.35, device_id=device)
    >>> features = FraudFeatures()
    >>> first = features.transform(tx(1, 20.0, 0))
    >>> second = features.transform(tx(2, 200.0, 600, merchant="m-2", lat=52.5, device="d-2"))
    >>> second["tx_count_1h"], second["amount_ratio"], second["new_merchant"], second["device_change"]
    (1.0, 10.0, 1.0, 1.0)
    >>> round(second["speed_kmh"])
    2435
    """

    def __init__(
        self,
        max_merchants: int = 64,
        max_categories: int = 32,
        ttl_seconds: float = 30 * DAY,
        max_risk_entries: int = 100_000,
    ) -> None:
        self.max_merchants = max_merchants
        self.max_categories = max_categories
        self.ttl_seconds = ttl_seconds
        self.max_risk_entries = max_risk_entries
        self.cards: OrderedDict[str, CardState] = OrderedDict()
        self.merchant_labels: OrderedDict[str, list[int]] = OrderedDict()
        self.category_labels: OrderedDict[str, list[int]] = OrderedDict()
        self.watermark = 0.0

    def __len__(self) -> int:
        return len(self.cards)

    def transform(self, tx: Transaction) -> dict[str, float]:
        state = self.cards.get(tx.card_id)
        if state is None:
            state = self.cards[tx.card_id] = CardState()
        else:
            self.cards.move_to_end(tx.card_id)
        features = self._features(tx, state)
        self._update(tx, state)
        if tx.event_time > self.watermark:
            self.watermark = tx.event_time
        return features

    def learn(self, merchant_id: str, category: str, fraud: bool) -> None:
        """Count one label of a transaction at `merchant_id` in `category`."""
        for table, key in ((self.merchant_labels, merchant_id), (self.category_labels, category)):
            counts = table.get(key)
            if counts is None:
                counts = table[key] = [0, 0]
                if len(table) > self.max_risk_entries:
                    table.popitem(last=False)
            else:
                table.move_to_end(key)
            counts[0] += int(bool(fraud))
            counts[1] += 1

    @staticmethod
    def _risk(counts: list[int] | None) -> float:
        # Smoothed towards a small prior rate, so one label does not make a merchant certain.
        if counts is None:
            return RISK_PRIOR
        return (counts[0] + RISK_PRIOR * RISK_STRENGTH) / (counts[1] + RISK_STRENGTH)

    def _features(self, tx: Transaction, state: CardState) -> dict[str, float]:
        t = tx.event_time
        hour_count, hour_sum = _window(state.hour, state.hour_sum, t - HOUR)
        day_count, day_sum = _window(state.day, state.day_sum, t - DAY)
        amount = tx.amount
        if state.count:
            usual = state.amount_mean
            spread = math.sqrt(state.amount_squares / state.count) if state.count > 1 else 0.0
            amount_ratio = amount / usual if usual > 0 else 1.0
            amount_zscore = (amount - usual) / spread if spread > 0 else 0.0
            gap = max(0.0, t - state.last_time)
            distance = haversine_km(state.last_latitude, state.last_longitude, tx.latitude, tx.longitude)
            speed = distance / (max(gap, MIN_SPEED_GAP_SECONDS) / HOUR)
            new_merchant = 0.0 if tx.merchant_id in state.merchants else 1.0
            new_category = 0.0 if tx.merchant_category in state.categories else 1.0
            device_change = 0.0 if tx.device_id == state.last_device else 1.0
            new_device = 0.0 if tx.device_id in state.devices else 1.0
            new_country = 0.0 if tx.country in state.countries else 1.0
            from_home = haversine_km(state.home_latitude, state.home_longitude, tx.latitude, tx.longitude)
            since_last = math.log1p(gap)
        else:
            amount_ratio, amount_zscore, distance, speed, from_home = 1.0, 0.0, 0.0, 0.0, 0.0
            new_merchant = new_category = 1.0
            device_change = new_device = new_country = 0.0
            since_last = math.log1p(DAY)
        channel = tx.channel
        return {
            "amount": amount,
            "log_amount": math.log1p(amount),
            "tx_count_1h": float(hour_count),
            "amount_1h": hour_sum,
            "tx_count_1d": float(day_count),
            "amount_1d": day_sum,
            "amount_ratio": amount_ratio,
            "amount_zscore": amount_zscore,
            "new_merchant": new_merchant,
            "new_category": new_category,
            "distance_km": distance,
            "speed_kmh": speed,
            "device_change": device_change,
            "log_seconds_since_last": since_last,
            "first_transaction": 0.0 if state.count else 1.0,
            "channel_online": 1.0 if channel == "online" else 0.0,
            "channel_atm": 1.0 if channel == "atm" else 0.0,
            "channel_contactless": 1.0 if channel == "contactless" else 0.0,
            "new_device": new_device,
            "new_country": new_country,
            "distance_from_home_km": from_home,
            "merchant_risk": self._risk(self.merchant_labels.get(tx.merchant_id)),
            "category_risk": self._risk(self.category_labels.get(tx.merchant_category)),
        }

    def _update(self, tx: Transaction, state: CardState) -> None:
        t = tx.event_time
        amount = tx.amount
        # Welford: the running mean and sum of squared deviations of the amount.
        state.count += 1
        delta = amount - state.amount_mean
        state.amount_mean += delta / state.count
        state.amount_squares += delta * (amount - state.amount_mean)
        state.hour_sum = _evict(state.hour, state.hour_sum, t - HOUR)
        state.day_sum = _evict(state.day, state.day_sum, t - DAY)
        state.hour.append((t, amount))
        state.hour_sum += amount
        state.day.append((t, amount))
        state.day_sum += amount
        _remember(state.merchants, tx.merchant_id, self.max_merchants)
        _remember(state.categories, tx.merchant_category, self.max_categories)
        _remember(state.devices, tx.device_id, MAX_DEVICES)
        _remember(state.countries, tx.country, MAX_COUNTRIES)
        # Home follows the payments near it; one far away (travel, or fraud) does not move it.
        if state.home_count == 0 or (
            haversine_km(state.home_latitude, state.home_longitude, tx.latitude, tx.longitude)
            < HOME_RADIUS_KM
        ):
            state.home_count += 1
            state.home_latitude += (tx.latitude - state.home_latitude) / state.home_count
            state.home_longitude += (tx.longitude - state.home_longitude) / state.home_count
        if t >= state.last_time:
            state.last_time = t
            state.last_latitude = tx.latitude
            state.last_longitude = tx.longitude
            state.last_device = tx.device_id

    def evict_idle(self) -> int:
        """Forget cards idle for longer than the TTL (event time). Returns how many were forgotten."""
        horizon = self.watermark - self.ttl_seconds
        evicted = 0
        while self.cards:
            card_id, state = next(iter(self.cards.items()))
            if state.last_time >= horizon:
                break
            del self.cards[card_id]
            evicted += 1
        return evicted


#: The names of the features, in the order `FraudFeatures.transform` returns them.
FEATURE_NAMES: tuple[str, ...] = (
    "amount",
    "log_amount",
    "tx_count_1h",
    "amount_1h",
    "tx_count_1d",
    "amount_1d",
    "amount_ratio",
    "amount_zscore",
    "new_merchant",
    "new_category",
    "distance_km",
    "speed_kmh",
    "device_change",
    "log_seconds_since_last",
    "first_transaction",
    "channel_online",
    "channel_atm",
    "channel_contactless",
    "new_device",
    "new_country",
    "distance_from_home_km",
    "merchant_risk",
    "category_risk",
)


def _window(entries: deque[tuple[float, float]], total: float, since: float) -> tuple[int, float]:
    """Count and sum of the entries newer than `since`, without changing them."""
    count, amount = len(entries), total
    for time, value in entries:
        if time >= since:
            break
        count -= 1
        amount -= value
    return count, max(0.0, amount)


def _evict(entries: deque[tuple[float, float]], total: float, since: float) -> float:
    while entries and entries[0][0] < since:
        total -= entries.popleft()[1]
    return total if entries else 0.0


def _remember(seen: OrderedDict[str, None], key: str, limit: int) -> None:
    if key in seen:
        seen.move_to_end(key)
        return
    seen[key] = None
    if len(seen) > limit:
        seen.popitem(last=False)
