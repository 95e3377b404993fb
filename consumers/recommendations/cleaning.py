"""Cleaning shop events before they teach the model anything: duplicates, outdated and incorrect events.

Every dropped event is counted by reason (`REASONS`), never dropped silently:

- duplicate: an event id seen among the last `window_events` ids (producer retries, replays);
- outdated: event time more than `max_age_seconds` behind the newest event time seen;
- future: event time more than `max_future_seconds` ahead of it (a clock or unit error), when set;
- unknown_product: a product id the catalogue does not have (when the catalogue is authoritative);
- price_mismatch: a price more than `price_tolerance_ratio` times off the catalogue's, either way.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable

from contracts.shop import ShopEvent

REASONS: tuple[str, ...] = ("duplicate", "outdated", "future", "unknown_product", "price_mismatch")


class EventCleaner:
    """Decides, one event at a time, whether an event is fit to learn from.

    Parameters
    ----------
    catalogue_price
        The catalogue's price of a product id, or None when the product is unknown.
    max_age_seconds
        Events older than this behind the newest event time are outdated.
    max_future_seconds
        Events further ahead than this are incorrect ("future"); None: no such check.
    price_tolerance_ratio
        Prices off by more than this factor are incorrect.
    window_events
        How many recent event ids are remembered for duplicates.
    require_known_products
        When False, unknown products are accepted (a replay without a catalogue).

    >>> prices = {"p-1": 10.0}
    >>> cleaner = EventCleaner(prices.get, max_age_seconds=86_400)
    >>> event = ShopEvent(event_id="e-1", customer_id="u-1", session_id="s", product_id="p-1",
    ...     event_type="view", price=10.0, event_time=1.7e9)
    >>> cleaner.check(event), cleaner.check(event)
    (None, 'duplicate')
    >>> old = ShopEvent(event_id="e-2", customer_id="u-1", session_id="s", product_id="p-1",
    ...     event_type="view", price=10.0, event_time=1.7e9 - 2 * 86_400)
    >>> cleaner.check(old), dict(cleaner.dropped)
    ('outdated', {'duplicate': 1, 'outdated': 1})
    """

    #: Consecutive "future" events after which the newest time seen is taken to be wrong and reset.
    FUTURE_STREAK_RESET = 100

    def __init__(
        self,
        catalogue_price: Callable[[str], float | None],
        max_age_seconds: float = 30 * 86_400.0,
        max_future_seconds: float | None = None,
        price_tolerance_ratio: float = 10.0,
        window_events: int = 1_000_000,
        require_known_products: bool = True,
    ) -> None:
        self.catalogue_price = catalogue_price
        self.max_age_seconds = max_age_seconds
        self.max_future_seconds = max_future_seconds
        self.price_tolerance_ratio = price_tolerance_ratio
        self.window_events = window_events
        self.require_known_products = require_known_products
        self.newest_time = 0.0
        self.accepted = 0
        self.dropped: Counter[str] = Counter()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._future_streak = 0

    def check(self, event: ShopEvent) -> str | None:
        """None when the event is fine (it is then remembered), else the reason it is dropped (counted)."""
        reason = self._reason(event)
        if reason is None:
            self.accepted += 1
        else:
            self.dropped[reason] += 1
        return reason

    def _reason(self, event: ShopEvent) -> str | None:
        seen = self._seen
        if event.event_id in seen:
            return "duplicate"
        newest = self.newest_time
        if newest and event.event_time < newest - self.max_age_seconds:
            return "outdated"
        if (
            newest
            and self.max_future_seconds is not None
            and event.event_time > newest + self.max_future_seconds
        ):
            self._future_streak += 1
            if self._future_streak <= self.FUTURE_STREAK_RESET:
                return "future"
            # So many in a row: the reference time itself was wrong (a stale first event), not the stream.
            newest = 0.0
        self._future_streak = 0
        price = self.catalogue_price(event.product_id)
        if price is None:
            if self.require_known_products:
                return "unknown_product"
        elif event.price is not None and price > 0:
            ratio = event.price / price
            if ratio > self.price_tolerance_ratio or ratio * self.price_tolerance_ratio < 1.0:
                return "price_mismatch"
        # Remembered only once accepted: a rejected event's id may come again, corrected.
        seen[event.event_id] = None
        if len(seen) > self.window_events:
            seen.popitem(last=False)
        if event.event_time > newest:
            self.newest_time = event.event_time
        return None
