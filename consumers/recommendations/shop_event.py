"""A local stand-in for `contracts.shop.ShopEvent`, which the learning side defines on its own branch.

The API writes feedback (impressions, clicks, purchases) as shop events to `shop-events`, so the learner
sees them like any other interaction. When the branches merge, `contracts.shop.ShopEvent` replaces this
struct: only `consumers.recommendations.feedback.feedback_events` builds one, so that is the one place to
adapt if its fields differ.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from streaming.schemas.base import EntityId, Event, EventTime

ShopEventType = Literal["view", "add_to_cart", "purchase", "impression", "click"]
ShopEventSource = Literal["simulator", "replay", "storefront"]
ListKind = Literal["", "customer", "similar"]


class ShopEvent(Event, kw_only=True, frozen=True):
    """One interaction of a customer with a product.

    >>> event = ShopEvent(event_id="f-1-0", event_type="click", customer_id="c-1", product_id="p-9",
    ...     event_time=1.7e9, recommendation_id="0123456789abcdef", position=0, list_kind="customer")
    >>> event.entity_key()
    'c-1'
    """

    event_id: EntityId
    event_type: ShopEventType
    customer_id: EntityId
    product_id: EntityId
    event_time: EventTime
    session_id: Annotated[str, msgspec.Meta(max_length=128)] = ""
    recommendation_id: Annotated[str, msgspec.Meta(max_length=64)] = ""
    position: Annotated[int, msgspec.Meta(ge=-1, le=1000)] = -1
    list_kind: ListKind = ""
    source: ShopEventSource = "storefront"

    def entity_key(self) -> str:
        return self.customer_id
