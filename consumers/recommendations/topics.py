"""The topics of the recommendation system (declared with the shop contracts in `contracts.topics`)."""

from __future__ import annotations

from contracts.topics import PRODUCTS, SHOP_EVENTS
from streaming.topics import TopicSpec

TOPICS: tuple[TopicSpec, ...] = (SHOP_EVENTS, PRODUCTS)

__all__ = ["PRODUCTS", "SHOP_EVENTS", "TOPICS"]
