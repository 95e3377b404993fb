"""The items the recommender knows: ids, category, subcategory, brand, price, description, repeatability."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from consumers.recommendations.vocabulary import IdIndex

UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ItemInfo:
    """What the catalogue says about one item.

    Parameters
    ----------
    item_id
        The product id.
    category, subcategory, brand
        Attributes; `UNKNOWN` when the source has none.
    price
        Unit price, None when unknown.
    description
        Free text for the TF-IDF.
    repeatable
        Bought again and again (groceries): not excluded after a purchase.
    created_at
        When the product appeared (epoch seconds).

    >>> ItemInfo("p-1", "books", price=9.5).brand
    'unknown'
    """

    item_id: str
    category: str = UNKNOWN
    subcategory: str = UNKNOWN
    brand: str = UNKNOWN
    price: float | None = None
    description: str = ""
    repeatable: bool = False
    created_at: float = 0.0


class Catalogue:
    """Items by dense index. Items seen only in events (no metadata yet) are `UNKNOWN` in every attribute.

    Parameters
    ----------
    items
        Metadata to start with.
    repeat_purchase_categories
        Categories whose items are bought again (groceries): purchased items of other categories are not
        recommended again.

    >>> catalogue = Catalogue([ItemInfo("p-1", "books", price=12.0)], repeat_purchase_categories=["grocery"])
    >>> catalogue.ensure("p-2"), catalogue.category_of(0), catalogue.has_metadata("p-2"), len(catalogue)
    (1, 'books', False, 2)
    """

    def __init__(
        self, items: Iterable[ItemInfo] = (), repeat_purchase_categories: Iterable[str] = ()
    ) -> None:
        self.index = IdIndex()
        self.info: list[ItemInfo] = []
        self._described: set[int] = set()
        self.repeat_purchase_categories = frozenset(repeat_purchase_categories)
        self.version = 0
        for item in items:
            self.upsert(item)

    def __len__(self) -> int:
        return len(self.index)

    @property
    def ids(self) -> list[str]:
        return self.index.ids

    def upsert(self, item: ItemInfo) -> int:
        """Adds or replaces an item's metadata (the newest record wins, as on a compacted topic)."""
        position = self.index.add(item.item_id)
        if position == len(self.info):
            self.info.append(item)
        else:
            self.info[position] = item
        self._described.add(position)
        self.version += 1
        return position

    def ensure(self, item_id: str) -> int:
        """The index of an item, registering it without metadata when new."""
        position = self.index.add(item_id)
        if position == len(self.info):
            self.info.append(ItemInfo(item_id))
            self.version += 1
        return position

    def has_metadata(self, item_id: str) -> bool:
        position = self.index.get(item_id)
        return position is not None and position in self._described

    def category_of(self, position: int) -> str:
        return self.info[position].category

    def repeatable(self, position: int) -> bool:
        info = self.info[position]
        return info.repeatable or info.category in self.repeat_purchase_categories

    def categories(self) -> np.ndarray:
        """Each item's category, as an array of strings."""
        return np.array([info.category for info in self.info], dtype=object)

    def repeatable_mask(self) -> np.ndarray:
        return np.array([self.repeatable(position) for position in range(len(self.info))], dtype=bool)
