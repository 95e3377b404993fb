"""The system's topics: keyed by entity, the catalogue compacted."""

from __future__ import annotations

from consumers.recommendations.topics import TOPICS


def test_topics_are_declared_for_the_catalogue() -> None:
    specs = {spec.logical_name: spec for spec in TOPICS}
    assert set(specs) == {"shop_events", "products"}
    assert specs["shop_events"].key == "customer_id"
    assert specs["products"].configs()["cleanup.policy"] == "compact"
