"""Online quality of what the API served: hit rate@10 from the lists shown, and catalogue coverage.

Hit rate@10 asks whether a customer's next purchase was in the last top-10 shown to them. The last list
shown (from impression feedback) is kept in Redis with a TTL, so every replica sees the same one; while
Redis is unavailable a bounded in-process table stands in.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Literal

import msgpack
import redis

PurchaseOutcome = Literal["hit", "miss", "no_list"]


class ShownLists:
    """The last top-k list shown to each customer.

    Parameters
    ----------
    client
        Redis, shared by the replicas.
    key_prefix
        Keys are `<prefix>:shown:<customer_id>`.
    ttl_seconds
        How long a shown list counts.
    list_length
        How many of the items shown count (10 for hit rate@10).
    local_capacity
        Customers remembered in process memory while Redis is unavailable.

    >>> from consumers.recommendations.cache import make_redis_client
    >>> shown = ShownLists(make_redis_client("redis://127.0.0.1:1/0"))  # no Redis: the local table
    >>> shown.remember("c-1", ["p-1", "p-2"])
    >>> shown.purchase("c-1", "p-2"), shown.purchase("c-1", "p-2")
    ('hit', 'no_list')
    """

    def __init__(
        self,
        client: redis.Redis,
        key_prefix: str = "recs",
        ttl_seconds: int = 24 * 3600,
        list_length: int = 10,
        local_capacity: int = 100_000,
    ) -> None:
        self.client = client
        self.key_prefix = key_prefix
        self.ttl_seconds = ttl_seconds
        self.list_length = list_length
        self.local_capacity = local_capacity
        self._local: OrderedDict[str, list[str]] = OrderedDict()

    def _key(self, customer_id: str) -> str:
        return f"{self.key_prefix}:shown:{customer_id}"

    def remember(self, customer_id: str, item_ids: list[str]) -> None:
        shown = item_ids[: self.list_length]
        try:
            self.client.set(self._key(customer_id), msgpack.packb(shown), ex=self.ttl_seconds)
            self._local.pop(customer_id, None)
        except (redis.RedisError, OSError):
            self._local[customer_id] = shown
            self._local.move_to_end(customer_id)
            while len(self._local) > self.local_capacity:
                self._local.popitem(last=False)

    def purchase(self, customer_id: str, item_id: str) -> PurchaseOutcome:
        """Whether the item was in the last list shown; that list is then used up (the *next* purchase)."""
        shown = self._local.pop(customer_id, None)
        if shown is None:
            try:
                data = self.client.getdel(self._key(customer_id))
            except (redis.RedisError, OSError):
                data = None
            if isinstance(data, bytes):
                shown = list(msgpack.unpackb(data))
        if shown is None:
            return "no_list"
        return "hit" if item_id in shown else "miss"


class CoverageTracker:
    """Distinct items recommended within a sliding window, and their share of the catalogue.

    Parameters
    ----------
    catalogue_size
        Items in the catalogue; None when the recommender does not say (then only the count is known).
    window_seconds
        How far back a recommendation counts.
    clock
        Monotonic seconds.

    >>> now = [0.0]
    >>> coverage = CoverageTracker(catalogue_size=4, window_seconds=10, clock=lambda: now[0])
    >>> coverage.record(["p-1", "p-2"]); coverage.ratio()
    0.5
    >>> now[0] = 11.0; coverage.record(["p-3"]); coverage.ratio()
    0.25
    """

    def __init__(
        self,
        catalogue_size: int | None,
        window_seconds: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.catalogue_size = catalogue_size
        self.window_seconds = window_seconds
        self.clock = clock
        self._last_seen: OrderedDict[str, float] = OrderedDict()

    def record(self, item_ids: Iterable[str]) -> None:
        now = self.clock()
        for item_id in item_ids:
            self._last_seen[item_id] = now
            self._last_seen.move_to_end(item_id)

    def distinct(self) -> int:
        horizon = self.clock() - self.window_seconds
        while self._last_seen:
            oldest_item, seen_at = next(iter(self._last_seen.items()))
            if seen_at >= horizon:
                break
            del self._last_seen[oldest_item]
        return len(self._last_seen)

    def ratio(self) -> float | None:
        distinct = self.distinct()
        if not self.catalogue_size:
            return None
        return min(1.0, distinct / self.catalogue_size)
