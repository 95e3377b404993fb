"""The topics of the recommendation system; the lead registers them in the catalogue."""

from __future__ import annotations

from streaming.topics import MIB, TopicSpec

TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        "shop_events",
        "customer_id",
        "What customers do in the shop (view, add_to_cart, purchase) and feedback on recommendations "
        "(impression, click), keyed by customer so one customer's events stay in order.",
    ),
    TopicSpec(
        "products",
        "product_id",
        "The catalogue: the newest record of each product (compacted).",
        retention_bytes=256 * MIB,
        cleanup_policy="compact",
    ),
)
