"""Ground-truth labels: machine failures, chargebacks and churned customers. All arrive after the events they
judge."""

from __future__ import annotations

from typing import Literal

from streaming.schemas.base import EntityId, Event, EventTime
from streaming.state.stable import stable

LabelKind = Literal["machine_failure", "chargeback", "customer_churned"]
FailureMode = Literal["tool_wear", "heat_dissipation", "power", "overstrain", "random"]


@stable("contracts.label/1")
class Label(Event, kw_only=True, frozen=True):
    """A failure of a machine, a chargeback of a transaction, or a customer who churned.

    `event_time` is when the failure (the fraudulent payment, the customer's churn) happened; `reported_time`
    is when the label became known, which is later. For `customer_churned`, `entity_id` is the customer id;
    the simulator writes these for evaluation only (the churn job defines churn from behaviour).

    >>> Label(kind="chargeback", entity_id="c-1", event_time=1.7e9, reported_time=1.7e9 + 3600,
    ...       transaction_id="t-1").entity_key()
    'c-1'
    >>> Label(kind="customer_churned", entity_id="u-7", event_time=1.7e9,
    ...       reported_time=1.7e9 + 8 * 604_800).kind
    'customer_churned'
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
        if self.kind == "customer_churned":
            if self.transaction_id or self.failure_mode is not None or self.fraud_pattern is not None:
                raise ValueError("a customer_churned label names a customer only, no transaction or failure")
            if self.reported_time < self.event_time:
                raise ValueError("a customer_churned label cannot be reported before the churn")

    def entity_key(self) -> str:
        return self.entity_id
