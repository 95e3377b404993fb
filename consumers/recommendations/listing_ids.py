"""Stable identifiers of recommendation lists, so replicas and feedback name the same list the same way."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import replace

from consumers.recommendations.interface import RecommendationList


def recommendation_id_for(kind: str, entity_id: str, listing: RecommendationList) -> str:
    """A 16-hex-digit id derived from whose list it is, the model version and the items, in order.

    The same list gets the same id in every process, so replicas answer identically and feedback on a
    list can be joined with it later.

    >>> from consumers.recommendations.interface import Recommendation
    >>> listing = RecommendationList(items=(Recommendation("p-1", 1.0, "popular"),), model_version=2)
    >>> recommendation_id_for("customer", "c-1", listing) == recommendation_id_for("customer", "c-1", listing)
    True
    >>> len(recommendation_id_for("customer", "c-1", listing))
    16
    """
    digest = hashlib.blake2b(digest_size=8)
    digest.update(kind.encode())
    digest.update(b"\x00" + entity_id.encode() + b"\x00")
    digest.update(struct.pack("<q", listing.model_version))
    for item in listing.items:
        digest.update(item.item_id.encode() + b"\x00")
    return digest.hexdigest()


def with_recommendation_id(kind: str, entity_id: str, listing: RecommendationList) -> RecommendationList:
    """The list itself when it already has an id, else a copy with `recommendation_id_for` filled in.

    >>> listing = RecommendationList(items=(), model_version=1, recommendation_id="r-7")
    >>> with_recommendation_id("item", "p-1", listing).recommendation_id
    'r-7'
    """
    if listing.recommendation_id:
        return listing
    return replace(listing, recommendation_id=recommendation_id_for(kind, entity_id, listing))
