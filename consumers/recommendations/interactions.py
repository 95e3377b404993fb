"""What each customer did with which items: time-decayed affinities (bounded per customer) and a bounded log.

Every model reads from here: the co-occurrence model counts new customer-item pairs, the factorization
folds customers' rows in, content profiles average the vectors of a customer's items weighted by affinity.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from consumers.recommendations.decay import DecayClock
from consumers.recommendations.vocabulary import IdIndex


class InteractionStore:
    """Per customer: item -> time-decayed affinity (SAR's user affinity), the newest `max_items` items.

    Affinity is the sum of event weights, each halving every `half_life_seconds` of event time. Values are
    stored relative to the clock's origin (see `DecayClock`), so an update costs one dict write.

    Parameters
    ----------
    half_life_seconds
        Half-life of an event's weight; None for no decay.
    max_items_per_customer
        Distinct items kept per customer; the least recently touched one goes first.

    >>> store = InteractionStore(half_life_seconds=None, max_items_per_customer=2)
    >>> customer = store.customers.add("u-1")
    >>> store.add(customer, 0, 1.0, 1.7e9), store.add(customer, 0, 5.0, 1.7e9, purchase=True)
    (True, False)
    >>> store.add(customer, 1, 1.0, 1.7e9), store.add(customer, 2, 1.0, 1.7e9)
    (True, True)
    >>> store.items_of(customer).tolist(), store.interest_events[customer], sorted(store.purchased[customer])
    ([1, 2], 4, [0])
    """

    def __init__(self, half_life_seconds: float | None, max_items_per_customer: int = 100) -> None:
        self.customers = IdIndex()
        self.clock: DecayClock | None = None
        self.half_life_seconds = half_life_seconds
        self.max_items_per_customer = max_items_per_customer
        self.rows: list[dict[int, float]] = []
        self.interest_events: list[int] = []
        self.purchased: list[set[int]] = []
        self.latest_time = 0.0

    def _grow(self, customer: int) -> None:
        while len(self.rows) <= customer:
            self.rows.append({})
            self.interest_events.append(0)
            self.purchased.append(set())

    def decay(self, at: float) -> DecayClock:
        if self.clock is None:
            self.clock = DecayClock(self.half_life_seconds, origin=at)
        return self.clock

    def add(self, customer: int, item: int, weight: float, time: float, purchase: bool = False) -> bool:
        """Adds one event's weight; True when the item is new to this customer's row."""
        if customer >= len(self.rows):
            self._grow(customer)
        clock = self.clock or self.decay(time)
        row = self.rows[customer]
        previous = row.pop(item, None)
        row[item] = (previous or 0.0) + clock.stored(weight, time)
        if previous is None and len(row) > self.max_items_per_customer:
            del row[next(iter(row))]
        self.interest_events[customer] += 1
        if purchase:
            self.purchased[customer].add(item)
        if time > self.latest_time:
            self.latest_time = time
        return previous is None

    def knows(self, customer_id: str) -> int | None:
        """The customer's index when they have at least one interaction."""
        index = self.customers.get(customer_id)
        if index is None or index >= len(self.rows) or not self.rows[index]:
            return None
        return index

    def items_of(self, customer: int) -> np.ndarray:
        if customer >= len(self.rows):
            return np.zeros(0, dtype=np.int64)
        return np.fromiter(self.rows[customer].keys(), dtype=np.int64, count=len(self.rows[customer]))

    def row(self, customer: int) -> tuple[np.ndarray, np.ndarray]:
        """Item indices and stored affinities of one customer (comparable within the row)."""
        if customer >= len(self.rows):
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        row = self.rows[customer]
        items = np.fromiter(row.keys(), dtype=np.int64, count=len(row))
        values = np.fromiter(row.values(), dtype=np.float64, count=len(row))
        return items, values

    def decayed_row(self, customer: int, now: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Item indices and affinities decayed to `now` (the newest event time by default)."""
        items, values = self.row(customer)
        if self.clock is not None and len(values):
            values = values / self.clock.factor(self.latest_time if now is None else now)
        return items, values

    def matrix(self, customers: np.ndarray | None, items: int, now: float | None = None) -> sp.csr_matrix:
        """Decayed affinities of `customers` (all when None) as a CSR matrix with `items` columns."""
        selected = range(len(self.rows)) if customers is None else customers.tolist()
        indptr = [0]
        columns: list[np.ndarray] = []
        data: list[np.ndarray] = []
        for customer in selected:
            row_items, values = self.row(customer)
            keep = row_items < items
            columns.append(row_items[keep])
            data.append(values[keep])
            indptr.append(indptr[-1] + int(keep.sum()))
        factor = 1.0
        if self.clock is not None:
            factor = 1.0 / self.clock.factor(self.latest_time if now is None else now)
        return sp.csr_matrix(
            (
                (np.concatenate(data) if data else np.zeros(0)) * factor,
                np.concatenate(columns) if columns else np.zeros(0, dtype=np.int64),
                np.asarray(indptr),
            ),
            shape=(len(indptr) - 1, items),
        )

    def purchased_matrix(self, customers: np.ndarray, items: int) -> sp.csr_matrix:
        """1 where a customer bought an item (for excluding what they already own)."""
        indptr = [0]
        columns: list[int] = []
        for customer in customers.tolist():
            bought = (
                [item for item in self.purchased[customer] if item < items]
                if customer < len(self.rows)
                else []
            )
            columns.extend(bought)
            indptr.append(len(columns))
        return sp.csr_matrix(
            (np.ones(len(columns)), np.asarray(columns, dtype=np.int64), np.asarray(indptr)),
            shape=(len(indptr) - 1, items),
        )


def store_from_matrices(
    customer_ids: list[str],
    affinity: sp.csr_matrix,
    purchased: sp.csr_matrix,
    interest_events: np.ndarray,
    max_items_per_customer: int,
) -> InteractionStore:
    """A store answering from saved matrices (artifacts): affinities as they were when saved, no decay."""
    store = InteractionStore(half_life_seconds=None, max_items_per_customer=max_items_per_customer)
    for customer_id in customer_ids:
        store.customers.add(customer_id)
    affinity = affinity.tocsr()
    purchased = purchased.tocsr()
    for customer in range(affinity.shape[0]):
        start, end = affinity.indptr[customer], affinity.indptr[customer + 1]
        store.rows.append(
            dict(zip(affinity.indices[start:end].tolist(), affinity.data[start:end].tolist(), strict=True))
        )
        bought = purchased.indices[purchased.indptr[customer] : purchased.indptr[customer + 1]]
        store.purchased.append(set(bought.tolist()))
        store.interest_events.append(int(interest_events[customer]))
    return store


class EventLog:
    """The most recent events as columns of a ring buffer: what a full refit learns from.

    Parameters
    ----------
    capacity
        Events kept; older ones are overwritten (a refit's history is bounded).

    >>> log = EventLog(capacity=3)
    >>> for number in range(5):
    ...     log.append(number, 10 + number, 1.0, 1.7e9 + number)
    >>> log.columns()[0].tolist(), len(log)
    ([2, 3, 4], 3)
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.customers = np.zeros(capacity, dtype=np.int64)
        self.items = np.zeros(capacity, dtype=np.int64)
        self.weights = np.zeros(capacity, dtype=np.float32)
        self.times = np.zeros(capacity, dtype=np.float64)
        self.total = 0

    def append(self, customer: int, item: int, weight: float, time: float) -> None:
        slot = self.total % self.capacity
        self.customers[slot] = customer
        self.items[slot] = item
        self.weights[slot] = weight
        self.times[slot] = time
        self.total += 1

    def __len__(self) -> int:
        return min(self.total, self.capacity)

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Customers, items, weights and times in arrival order (copies: safe to use while appends go on)."""
        size = len(self)
        if self.total <= self.capacity:
            order = np.arange(size)
        else:
            start = self.total % self.capacity
            order = np.concatenate([np.arange(start, self.capacity), np.arange(start)])
        return self.customers[order], self.items[order], self.weights[order], self.times[order]
