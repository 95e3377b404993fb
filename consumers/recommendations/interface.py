"""What the serving side (API, precompute, storefront) needs from a trained recommender.

The learner (`streaming consume recommendations`) and the API (`streaming serve recommendations`) run as
different processes. The learner writes precomputed lists to Redis and saves model artifacts (item vectors in
an ANN index, customer vectors, popularity by segment and category, the catalogue) to a directory; the API
loads those artifacts with `load_artifacts` and answers from them whenever Redis has no entry or is down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

#: Where a recommended item came from; the API and the storefront show it, the online metrics count it.
Source = Literal["collaborative", "content", "hybrid", "popular", "segment", "similar"]


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One recommended item."""

    item_id: str
    score: float
    source: Source


@dataclass(frozen=True, slots=True)
class RecommendationList:
    """The top-k list for one customer, or the similar items of one item.

    `cold_start` is True when the customer (or item) had too little history for the collaborative part,
    and the list comes from popularity in their first categories (or the item's content neighbours).
    `recommendation_id` identifies this list, so that feedback (impression, click, purchase) can name it.
    """

    items: tuple[Recommendation, ...]
    model_version: int
    cold_start: bool = False
    recommendation_id: str = ""
    computed_at: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)


class Recommender(Protocol):
    """A model that can answer both questions the API asks."""

    @property
    def model_version(self) -> int: ...

    def recommend(self, customer_id: str, k: int) -> RecommendationList:
        """Top-k for a customer. An unknown customer gets a cold-start list, never an error."""
        ...

    def similar_items(self, item_id: str, k: int) -> RecommendationList | None:
        """The k items most similar to `item_id`, or None when the item is unknown (the API answers 404)."""
        ...

    def knows_item(self, item_id: str) -> bool: ...


class ArtifactLoader(Protocol):
    """Loads the newest artifacts the learner saved under `directory` (see `save_artifacts`)."""

    def __call__(self, directory: Path) -> Recommender: ...
