"""The topics that carry the shared contracts, declared once: each service that reads or writes one lists
the same `TopicSpec` in its definition."""

from __future__ import annotations

from streaming.topics import GIB, MIB, TopicSpec

SENSOR_READINGS = TopicSpec(
    "sensor_readings", "machine_id", "Batches of raw readings, one machine per record.", 4 * GIB
)
SENSOR_WINDOWS = TopicSpec(
    "sensor_windows", "machine_id", "Closed window aggregates: the downsampled stream.", GIB
)
TRANSACTIONS = TopicSpec("transactions", "card_id", "Card payments.", 2 * GIB)
LABELS = TopicSpec(
    "labels", "machine_id, card_id or customer_id", "Late ground truth: failures, chargebacks.", 256 * MIB
)
SCORES = TopicSpec("scores", "machine_id or card_id", "One model score per window or transaction.", GIB)
ALERTS = TopicSpec("alerts", "entity id", "Alerts of every kind, before delivery to subscribers.", 256 * MIB)
ALERT_DEAD_LETTERS = TopicSpec(
    "alert_dead_letters", "alert entity", "Alerts no subscriber accepted in time.", 256 * MIB
)
SHOP_EVENTS = TopicSpec(
    "shop_events",
    "customer_id",
    "What customers do in the shop (view, add_to_cart, purchase) and feedback on recommendations "
    "(impression, click), keyed by customer so one customer's events stay in order.",
)
PRODUCTS = TopicSpec(
    "products",
    "product_id",
    "The catalogue: the newest record of each product (compacted).",
    retention_bytes=256 * MIB,
    cleanup_policy="compact",
)
