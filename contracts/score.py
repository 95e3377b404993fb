"""Model scores: one per sensor window or transaction."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from streaming.schemas.base import EntityId, Event, EventTime, Probability
from streaming.state.stable import stable

#: The service that scored (its name): bounded in shape, not listed, so a new scoring service needs no
#: change here.
ScoreKind = Annotated[str, msgspec.Meta(pattern="^[a-z][a-z0-9_-]{0,31}$")]


@stable("contracts.feature-contribution/1")
class FeatureContribution(msgspec.Struct, frozen=True):
    """How much one feature pushed the score up (positive) or down."""

    name: str
    contribution: float


@stable("contracts.score/1")
class Score(Event, kw_only=True, frozen=True):
    """The outcome of scoring one event.

    >>> Score(kind="fraud", entity_id="c-1", event_id="t-1", event_time=1.7e9, score=0.91, threshold=0.7,
    ...       decision=True, model_name="logistic+under", model_version=3).entity_key()
    'c-1'
    """

    kind: ScoreKind
    entity_id: EntityId
    event_id: EntityId
    event_time: EventTime
    score: Probability
    threshold: Probability
    decision: bool
    model_name: str
    model_version: int
    role: Literal["champion", "challenger"] = "champion"
    rule: str | None = None
    anomaly_score: float | None = None
    top_features: list[FeatureContribution] = []
    processing_latency_seconds: float = 0.0
    event_to_score_latency_seconds: float = 0.0
    scored_at: float = 0.0
    attributes: dict[str, str] = {}

    def entity_key(self) -> str:
        return self.entity_id
