"""Dense integer indices for string ids (customers, items): every model's arrays are indexed by them."""

from __future__ import annotations

from collections.abc import Iterable


class IdIndex:
    """A growing, append-only map from ids to 0, 1, 2, ... in order of first sight.

    Parameters
    ----------
    ids
        Ids to register at once, in order.

    >>> items = IdIndex(["p-1", "p-2"])
    >>> items.add("p-3"), items.add("p-1"), items.get("p-9"), len(items), items.ids[2]
    (2, 0, None, 3, 'p-3')
    """

    __slots__ = ("_index", "ids")

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self.ids: list[str] = []
        self._index: dict[str, int] = {}
        for identifier in ids:
            self.add(identifier)

    def add(self, identifier: str) -> int:
        """The index of `identifier`, registering it when new."""
        index = self._index.get(identifier)
        if index is None:
            index = self._index[identifier] = len(self.ids)
            self.ids.append(identifier)
        return index

    def get(self, identifier: str) -> int | None:
        return self._index.get(identifier)

    def __contains__(self, identifier: object) -> bool:
        return identifier in self._index

    def __len__(self) -> int:
        return len(self.ids)
