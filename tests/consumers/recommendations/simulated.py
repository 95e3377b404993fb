"""Simulated shop data for the learning-side tests: a small world, its products and events, cached."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from consumers.recommendations.datasets import InteractionData
from consumers.recommendations.learner import IncrementalLearner
from consumers.recommendations.settings import RecommendationSettings
from contracts.shop import Product, ShopEvent
from producers.shop import ShopSimulationSettings, ShopWorld

START = 1_700_000_000.0


@dataclass(frozen=True)
class Simulation:
    world: ShopWorld
    products: tuple[Product, ...]
    events: tuple[ShopEvent, ...]
    order: tuple[Product | ShopEvent, ...]


def simulate(
    events: int = 30_000,
    products: int = 400,
    customers: int = 800,
    seed: int = 11,
    faults: bool = False,
    **changes: float,
) -> Simulation:
    """A world run for `events` shop events (faults off unless asked), everything in emission order."""
    options: dict[str, float] = {"products": products, "customers": customers}
    if not faults:
        options.update({"duplicate_fraction": 0.0, "outdated_fraction": 0.0, "incorrect_fraction": 0.0})
    options.update(changes)
    world = ShopWorld(ShopSimulationSettings.model_validate(options), seed=seed, start_time=START)
    order: list[Product | ShopEvent] = []
    count = 0
    while count < events:
        batch = world.next_items(min(256, events - count))
        order += batch
        count += sum(isinstance(item, ShopEvent) for item in batch)
    return Simulation(
        world,
        tuple(item for item in order if isinstance(item, Product)),
        tuple(item for item in order if isinstance(item, ShopEvent)),
        tuple(order),
    )


@lru_cache(maxsize=4)
def cached_simulation(events: int = 30_000, seed: int = 11) -> Simulation:
    return simulate(events=events, seed=seed)


def trained_learner(
    simulation: Simulation, settings: RecommendationSettings | None = None, stop_at: int | None = None
) -> IncrementalLearner:
    """A learner fed the simulation in order (synchronous rebuilds), refitted and folded in at the end."""
    learner = IncrementalLearner(settings or RecommendationSettings(), background=False)
    initial: list[Product] = []
    for item in simulation.order:  # the catalogue at the start comes before the first event
        if not isinstance(item, Product):
            break
        initial.append(item)
    learner.add_products(initial)
    seen = 0
    for item in simulation.order[len(initial) :]:
        if isinstance(item, Product):
            learner.add_product(item)
        else:
            if stop_at is not None and seen >= stop_at:
                break
            learner.learn(item)
            seen += 1
    learner.refit()
    learner.fold_in()
    learner.recommender.cooccurrence.similarity(force=True)
    return learner


def interaction_data(simulation: Simulation) -> InteractionData:
    """The simulation as an offline interactions frame with item metadata."""
    frame = pd.DataFrame(
        {
            "customer_id": [event.customer_id for event in simulation.events],
            "item_id": [event.product_id for event in simulation.events],
            "event_type": [event.event_type for event in simulation.events],
            "timestamp": [event.event_time for event in simulation.events],
            "quantity": [event.quantity for event in simulation.events],
            "price": [event.price for event in simulation.events],
        }
    )
    items = pd.DataFrame(
        {
            "item_id": [product.product_id for product in simulation.products],
            "category": [product.category for product in simulation.products],
            "subcategory": [product.subcategory for product in simulation.products],
            "brand": [product.brand for product in simulation.products],
            "price": [product.price for product in simulation.products],
            "description": [product.description for product in simulation.products],
            "repeatable": [product.repeatable for product in simulation.products],
        }
    )
    return InteractionData(frame, items, "simulation")
