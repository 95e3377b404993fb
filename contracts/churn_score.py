"""Churn scores: one per customer and week, for the `churn-scores` topic."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from contracts.customer import IsoWeekText
from streaming.schemas.base import EntityId, Event, EventTime, Probability

RiskBand = Literal["low", "medium", "high"]


class ChurnScore(Event, kw_only=True, frozen=True):
    """A customer's probability of churning (no purchase in the next `horizon_weeks` weeks) after `week`.

    `expected_lost_value` is `probability * monetary_value`, the retention team's ordering of the at-risk
    list. `top_reasons` are short human-readable texts such as `"recency_days=41 (typical 3)"`.
    `event_time` is the end of `week` in epoch seconds.

    >>> score = ChurnScore(customer_id="u-1", week="2026-W48", event_time=1_795_996_800.0, probability=0.62,
    ...     risk_band="high", horizon_weeks=8, monetary_value=300.0, expected_lost_value=186.0,
    ...     top_reasons=["recency_days=41 (typical 3)"], model_name="random_forest+oversample",
    ...     model_version=202648)
    >>> score.entity_key(), score.risk_band
    ('u-1', 'high')
    """

    customer_id: EntityId
    week: IsoWeekText
    event_time: EventTime
    probability: Probability
    risk_band: RiskBand
    horizon_weeks: Annotated[int, msgspec.Meta(ge=1, le=104)]
    monetary_value: Annotated[float, msgspec.Meta(ge=0.0)]
    expected_lost_value: Annotated[float, msgspec.Meta(ge=0.0)]
    top_reasons: Annotated[list[str], msgspec.Meta(max_length=8)] = []
    model_name: str
    model_version: int

    def entity_key(self) -> str:
        return self.customer_id
