"""The churn system's topics; the lead registers `TOPICS` with the core's catalog."""

from __future__ import annotations

from streaming.topics import TopicSpec

TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        logical_name="customer_profiles",
        key="customer_id",
        description="Each customer's latest RFM profile (contracts.CustomerProfile), written weekly by the "
        "churn job; compacted, so readers such as the recommender find every customer's latest profile.",
        cleanup_policy="compact",
    ),
    TopicSpec(
        logical_name="churn_scores",
        key="customer_id",
        description="One churn score per customer and week (contracts.ChurnScore): probability, risk band, "
        "top reasons, model version.",
    ),
)
