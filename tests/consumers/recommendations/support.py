"""A small but real `Recommender` for the serving tests: popularity plus item co-visitation, learned from
generated shop events. The lead swaps in the learning side's model when merging.

Customers have a preferred category and mostly buy in it, so co-visitation finds real structure: a known
customer's list leans to their category, an unknown customer gets the popular items (cold start).
"""

from __future__ import annotations

import json
import math
import random
import socket
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from consumers.recommendations.interface import Recommendation, RecommendationList

ARTIFACT_FILE = "covisitation.json"


@dataclass
class ShopHistory:
    """A generated catalogue and who interacted with what."""

    catalogue: dict[str, dict[str, str]]
    interactions: list[tuple[str, str]]
    preferred_category: dict[str, str] = field(default_factory=dict)


def generate_shop(
    customers: int = 200, items: int = 120, categories: int = 6, events_per_customer: int = 12, seed: int = 7
) -> ShopHistory:
    randomness = random.Random(seed)
    category_names = [f"category-{index}" for index in range(categories)]
    catalogue = {
        f"p-{index:04d}": {
            "name": f"Product {index}",
            "category": category_names[index % categories],
            "price": f"{5 + (index * 37) % 200}.99",
        }
        for index in range(items)
    }
    by_category: dict[str, list[str]] = defaultdict(list)
    for item_id, details in catalogue.items():
        by_category[details["category"]].append(item_id)
    every_item = list(catalogue)
    # A long tail: low-numbered items are much more popular.
    tail_weights = [1.0 / (rank + 1) ** 0.8 for rank in range(items)]
    interactions: list[tuple[str, str]] = []
    preferred: dict[str, str] = {}
    for index in range(customers):
        customer_id = f"c-{index:05d}"
        category = category_names[index % categories]
        preferred[customer_id] = category
        for _ in range(events_per_customer):
            if randomness.random() < 0.8:
                item_id = randomness.choice(by_category[category])
            else:
                item_id = randomness.choices(every_item, weights=tail_weights)[0]
            interactions.append((customer_id, item_id))
    return ShopHistory(catalogue, interactions, preferred)


class CovisitationRecommender:
    """Popularity plus co-visitation (cosine-normalised co-occurrence counts).

    Parameters
    ----------
    history
        What it learns from.
    model_version
        Reported with every list.
    trained_at
        Reported as every list's `computed_at`, so replicas that load the same artifacts answer identically.

    >>> model = CovisitationRecommender(generate_shop(customers=20, items=12))
    >>> model.recommend("nobody", 3).cold_start
    True
    >>> len(model.similar_items("p-0001", 3).items)
    3
    """

    def __init__(self, history: ShopHistory, model_version: int = 1, trained_at: float = 1.7e9) -> None:
        self.history = history
        self._model_version = model_version
        self.trained_at = trained_at
        self.seen: dict[str, set[str]] = defaultdict(set)
        for customer_id, item_id in history.interactions:
            self.seen[customer_id].add(item_id)
        self.popularity: Counter[str] = Counter()
        for items in self.seen.values():
            self.popularity.update(items)
        co_counts: dict[str, Counter[str]] = defaultdict(Counter)
        for items in self.seen.values():
            ordered = sorted(items)
            for left in ordered:
                for right in ordered:
                    if left != right:
                        co_counts[left][right] += 1
        self.neighbours: dict[str, list[tuple[str, float]]] = {}
        for item_id in history.catalogue:
            scored = [
                (other, count / math.sqrt(self.popularity[item_id] * self.popularity[other]))
                for other, count in co_counts.get(item_id, Counter()).items()
            ]
            scored.sort(key=lambda pair: (-pair[1], pair[0]))
            self.neighbours[item_id] = scored
        ranked = sorted(history.catalogue, key=lambda item_id: (-self.popularity[item_id], item_id))
        self.ranked_popular = ranked

    @property
    def model_version(self) -> int:
        return self._model_version

    @property
    def catalogue_size(self) -> int:
        return len(self.history.catalogue)

    def customers(self) -> list[str]:
        return sorted(self.seen)

    def items(self) -> list[str]:
        return sorted(self.history.catalogue)

    def _popular(self, k: int, exclude: set[str]) -> list[Recommendation]:
        top = max(1, self.popularity[self.ranked_popular[0]]) if self.ranked_popular else 1
        picked = [item_id for item_id in self.ranked_popular if item_id not in exclude][:k]
        return [Recommendation(item_id, self.popularity[item_id] / top, "popular") for item_id in picked]

    def recommend(self, customer_id: str, k: int) -> RecommendationList:
        seen = self.seen.get(customer_id)
        if not seen:
            items = tuple(self._popular(k, set()))
            return RecommendationList(items, self.model_version, cold_start=True, computed_at=self.trained_at)
        scores: Counter[str] = Counter()
        for item_id in seen:
            for other, score in self.neighbours.get(item_id, []):
                if other not in seen:
                    scores[other] += score
        ranked = sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))[:k]
        picked = [Recommendation(item_id, score, "collaborative") for item_id, score in ranked]
        if len(picked) < k:
            picked += self._popular(k - len(picked), seen | {item.item_id for item in picked})
        return RecommendationList(tuple(picked), self.model_version, computed_at=self.trained_at)

    def similar_items(self, item_id: str, k: int) -> RecommendationList | None:
        if item_id not in self.history.catalogue:
            return None
        neighbours = self.neighbours.get(item_id, [])[:k]
        items = tuple(Recommendation(other, score, "similar") for other, score in neighbours)
        cold = not items
        if cold:
            items = tuple(self._popular(k, {item_id}))
        return RecommendationList(items, self.model_version, cold_start=cold, computed_at=self.trained_at)

    def knows_item(self, item_id: str) -> bool:
        return item_id in self.history.catalogue

    def describe_item(self, item_id: str) -> dict[str, str] | None:
        return self.history.catalogue.get(item_id)

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / ARTIFACT_FILE
        document = {
            "model_version": self.model_version,
            "trained_at": self.trained_at,
            "catalogue": self.history.catalogue,
            "interactions": self.history.interactions,
        }
        path.write_text(json.dumps(document))
        return path


def load_recommender(directory: Path) -> CovisitationRecommender:
    """An `ArtifactLoader`: the model `CovisitationRecommender.save` wrote under `directory`."""
    document = json.loads((directory / ARTIFACT_FILE).read_text())
    history = ShopHistory(document["catalogue"], [tuple(pair) for pair in document["interactions"]])
    return CovisitationRecommender(history, document["model_version"], document["trained_at"])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
