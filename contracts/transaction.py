"""Payment transactions."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from streaming.schemas.base import EntityId, Event, EventTime
from streaming.state.stable import stable

Amount = Annotated[float, msgspec.Meta(gt=0.0, le=1_000_000.0)]
Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
Currency = Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")]
Channel = Literal["pos", "online", "atm", "contactless"]
#: A refund gives money back: its amount stays positive, and the type tells it from a purchase.
TransactionType = Literal["purchase", "refund"]


@stable("contracts.transaction/1")
class Transaction(Event, kw_only=True, frozen=True):
    """One card payment.

    >>> tx = Transaction(transaction_id="t-1", card_id="c-1", customer_id="u-1", merchant_id="m-9",
    ...     merchant_category="grocery", amount=23.5, currency="EUR", event_time=1.7e9,
    ...     latitude=48.85, longitude=2.35, device_id="d-1", channel="pos", country="FR")
    >>> tx.entity_key(), tx.transaction_type
    ('c-1', 'purchase')
    """

    transaction_id: EntityId
    card_id: EntityId
    customer_id: EntityId
    merchant_id: EntityId
    merchant_category: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    amount: Amount
    currency: Currency = "EUR"
    event_time: EventTime
    latitude: Latitude
    longitude: Longitude
    device_id: EntityId
    channel: Channel = "pos"
    country: Annotated[str, msgspec.Meta(pattern="^[A-Z]{2}$")] = "FR"
    # Last, with a default, so records written before it existed still decode (as purchases).
    transaction_type: TransactionType = "purchase"

    def entity_key(self) -> str:
        return self.card_id
