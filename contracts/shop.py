"""The shop: products of the catalogue and what customers do with them (views, carts, purchases, feedback)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from streaming.schemas.base import EntityId, Event, EventTime
from streaming.state.stable import stable

ShopEventType = Literal["view", "add_to_cart", "purchase", "impression", "click"]
SHOP_EVENT_TYPES: tuple[str, ...] = ("view", "add_to_cart", "purchase", "impression", "click")
#: Event types that say something about a customer's interest; impressions only say what was shown.
INTEREST_EVENT_TYPES: frozenset[str] = frozenset({"view", "add_to_cart", "purchase", "click"})

Price = Annotated[float, msgspec.Meta(gt=0.0, le=1_000_000.0)]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=10_000)]
Position = Annotated[int, msgspec.Meta(ge=0, le=1_000)]
#: Which list a recommendation feedback is about: the customer's top-k, or an item's similar items.
ListKind = Literal["customer", "similar"]
#: Where an event came from: the shop simulator, a replayed log, or the storefront (feedback).
ShopEventSource = Literal["simulator", "replay", "storefront"]


@stable("contracts.product/1")
class Product(Event, kw_only=True, frozen=True):
    """One product of the catalogue, for the compacted `products` topic (the newest record per product wins).

    >>> product = Product(product_id="p-000001", category="books", subcategory="books/fiction",
    ...     brand="Inkwell", price=12.5, description="a gripping paperback novel", created_at=1.7e9)
    >>> product.entity_key()
    'p-000001'
    """

    product_id: EntityId
    category: Label
    subcategory: Label
    brand: Label
    price: Price
    description: Annotated[str, msgspec.Meta(max_length=2_000)] = ""
    created_at: EventTime
    repeatable: bool = False

    def entity_key(self) -> str:
        return self.product_id


@stable("contracts.shop-event/1")
class ShopEvent(Event, kw_only=True, frozen=True):
    """One thing a customer did: viewed, added to cart, purchased, or saw and clicked a recommendation.

    `recommendation_id`, `position` and `list_kind` are set on feedback about a recommendation list
    (impression, click, purchase from a list); `price` is the unit price at the time of the event.

    >>> event = ShopEvent(event_id="e-1", customer_id="u-000007", session_id="s-1", product_id="p-000001",
    ...     event_type="purchase", quantity=2, price=12.5, event_time=1.7e9)
    >>> event.entity_key(), event.recommendation_id is None
    ('u-000007', True)
    >>> ShopEvent(event_id="e-2", customer_id="u-1", session_id="s-1", product_id="p-1",
    ...     event_type="click", event_time=1.7e9, recommendation_id="r-9", position=0).position
    0
    """

    event_id: EntityId
    customer_id: EntityId
    session_id: Annotated[str, msgspec.Meta(max_length=128)] = ""
    product_id: EntityId
    event_type: ShopEventType
    quantity: Quantity = 1
    price: Price | None = None
    event_time: EventTime
    recommendation_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    position: Position | None = None
    list_kind: ListKind | None = None
    source: ShopEventSource | None = None

    def entity_key(self) -> str:
        return self.customer_id
