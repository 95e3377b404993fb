"""Customer profiles: each customer's latest RFM summary, for the compacted `customer-profiles` topic."""

from __future__ import annotations

from typing import Annotated

import msgspec

from streaming.schemas.base import EntityId, Event, EventTime

IsoWeekText = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-W\d{2}$")]
NonNegative = Annotated[float, msgspec.Meta(ge=0.0)]
Count = Annotated[int, msgspec.Meta(ge=0)]
CategoryName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class CustomerProfile(Event, kw_only=True, frozen=True):
    """One customer's behaviour over the last `window_weeks` weeks, as of the end of `week`.

    The topic is compacted and keyed by customer id, so a reader (the recommender) finds every customer's
    latest profile without reading history. `event_time` is the end of `week` in epoch seconds.
    Trends compare the last 4 weeks with the 4 weeks before them: `(recent - previous) / (previous + 1)`,
    0 when nothing changed, negative when the customer buys less.

    >>> profile = CustomerProfile(customer_id="u-1", week="2026-W48", event_time=1_795_996_800.0,
    ...     window_weeks=13, recency_days=2.5, frequency=31, monetary_value=1_240.0, average_transaction=40.0,
    ...     refund_count=1, active_weeks=12, tenure_weeks=60, frequency_trend=-0.1, monetary_trend=0.05,
    ...     preferred_categories=["grocery", "restaurant"], last_purchase_time=1_795_780_800.0)
    >>> profile.entity_key()
    'u-1'
    """

    customer_id: EntityId
    week: IsoWeekText
    event_time: EventTime
    window_weeks: Annotated[int, msgspec.Meta(ge=1, le=520)]
    recency_days: NonNegative | None
    frequency: Count
    monetary_value: NonNegative
    average_transaction: NonNegative
    refund_count: Count = 0
    active_weeks: Count = 0
    tenure_weeks: Count = 0
    frequency_trend: float = 0.0
    monetary_trend: float = 0.0
    preferred_categories: Annotated[list[CategoryName], msgspec.Meta(max_length=16)] = []
    last_purchase_time: EventTime | None = None

    def entity_key(self) -> str:
        return self.customer_id
