"""Ground-truth labels: machine failures and chargebacks. Both arrive after the events they judge."""

from __future__ import annotations

from typing import Literal

from streaming.schemas.base import EntityId, Event, EventTime
from streaming.state.stable import stable

LabelKind = Literal["machine_failure", "chargeback"]
FailureMode = Literal["tool_wear", "heat_dissipation", "power", "overstrain", "random"]


@stable("contracts.label/1")
class Label(Event, kw_only=True, frozen=True):
    """A failure of a machine, or a chargeback of a transaction.

    `event_time` is when the failure (or the fraudulent payment) happened; `reported_time` is when the label
    became known, which is later.

    >>> Label(kind="chargeback", entity_id="c-1", event_time=1.7e9, reported_time=1.7e9 + 3600,
    ...       transaction_id="t-1").entity_key()
    'c-1'
    """

    kind: LabelKind
    entity_id: EntityId
    event_time: EventTime
    reported_time: EventTime
    transaction_id: EntityId | None = None
    failure_mode: FailureMode | None = None
    fraud_pattern: str | None = None

    def __post_init__(self) -> None:
        if self.kind == "chargeback" and not self.transaction_id:
            raise ValueError("a chargeback label needs transaction_id")
        if self.kind == "machine_failure" and self.failure_mode is None:
            raise ValueError("a machine_failure label needs failure_mode")

    def entity_key(self) -> str:
        return self.entity_id
