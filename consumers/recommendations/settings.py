"""`[recommendations]`: how the recommender learns, blends, cleans and stores its artifacts."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class EventWeights(BaseModel):
    """How much each event type says about a customer's interest (impressions say nothing)."""

    view: float = Field(default=1.0, ge=0.0, description="Weight of a product view.")
    click: float = Field(default=1.0, ge=0.0, description="Weight of a click on a recommendation.")
    add_to_cart: float = Field(default=3.0, ge=0.0, description="Weight of an add-to-cart.")
    purchase: float = Field(default=5.0, ge=0.0, description="Weight of a purchase.")
    impression: float = Field(default=0.0, ge=0.0, description="Weight of a recommendation being shown.")

    def of(self, event_type: str) -> float:
        """The weight of `event_type` (0 for a type this table does not know).

        >>> EventWeights().of("purchase"), EventWeights().of("impression")
        (5.0, 0.0)
        """
        value = getattr(self, event_type, 0.0)
        return float(value) if isinstance(value, int | float) else 0.0


class BlendWeights(BaseModel):
    """Weights of the hybrid's parts; each part's scores are scaled to [0, 1] per customer before blending.

    The defaults were tuned offline (`streaming recs evaluate --tune`, standard protocol) on MovieLens 100k:
    NDCG@10 0.459 there. On the simulated shop's time-ordered protocol, where most purchases follow views
    of the same item in the session, co-occurrence matters more: factorization 0.3, cooccurrence 1.0,
    content 0.1, popularity 0.05 reached HitRate@10 0.89 against 0.80 with these defaults.
    """

    factorization: float = Field(default=1.0, ge=0.0, description="Implicit ALS (collaborative).")
    cooccurrence: float = Field(default=0.5, ge=0.0, description="SAR-style item co-occurrence.")
    content: float = Field(default=0.2, ge=0.0, description="Content similarity to the customer's profile.")
    popularity: float = Field(default=0.05, ge=0.0, description="Recent popularity.")


class RecommendationSettings(BaseModel):
    """The recommender's settings section (`[recommendations]`, `STREAMING_RECOMMENDATIONS__<FIELD>`)."""

    event_weights: EventWeights = Field(default_factory=EventWeights, description="Interest per event type.")
    blend: BlendWeights = Field(default_factory=BlendWeights, description="Weights of the hybrid's parts.")
    affinity_half_life_seconds: float | None = Field(
        default=30 * 86_400.0,
        gt=0.0,
        description="A customer's interest in an item halves in this much event time without new events "
        "(none: no decay).",
    )
    max_history_items: int = Field(
        default=100,
        ge=1,
        description="Distinct recent items kept per customer for co-occurrence counting and profiles.",
    )
    similar_items_kept: int = Field(
        default=100, ge=1, description="Most similar items kept per item in the co-occurrence model."
    )
    similarity_rebuild_events: int = Field(
        default=20_000,
        ge=1,
        description="Events after which the co-occurrence similarity matrix is rebuilt from the counts.",
    )
    factors: int = Field(default=16, ge=2, description="Latent factors of the implicit ALS model.")
    regularization: float = Field(default=0.05, ge=0.0, description="ALS L2 regularization.")
    alpha: float = Field(default=5.0, gt=0.0, description="ALS confidence scale: confidence = 1 + alpha * w.")
    iterations: int = Field(default=15, ge=1, description="ALS iterations of a full refit.")
    fold_in_events: int = Field(
        default=2_000,
        ge=1,
        description="Events after which the customers and items they touched are folded into the ALS model.",
    )
    refit_events: int = Field(
        default=200_000, ge=1, description="Events after which a full background refit starts."
    )
    refit_interval_seconds: float = Field(
        default=3_600.0, gt=0.0, description="Wall time after which a full background refit starts."
    )
    max_history_events: int = Field(
        default=2_000_000, ge=1_000, description="Most recent events a full refit learns from (bounded)."
    )
    content_dimensions: int = Field(
        default=64, ge=2, description="Size of the item content vectors (TF-IDF and attributes, reduced)."
    )
    tfidf_max_features: int = Field(default=5_000, ge=10, description="Vocabulary bound of the TF-IDF.")
    price_bands: int = Field(default=5, ge=1, description="Quantile bands of price in the content vectors.")
    min_interactions_collaborative: int = Field(
        default=3,
        ge=1,
        description="Customers with fewer interest events get the cold-start list (popular in their "
        "categories).",
    )
    repeat_purchase_categories: list[str] = Field(
        default_factory=lambda: ["grocery", "beauty", "pharmacy"],
        description="Categories whose products are bought again; other purchased products are not "
        "recommended again.",
    )
    exclude_seen: bool = Field(
        default=False,
        description="Exclude every item the customer interacted with, not only non-repeat purchases "
        "(the offline protocols do this).",
    )
    max_event_age_seconds: float = Field(
        default=30 * 86_400.0,
        gt=0.0,
        description="Events older than this behind the newest event time seen are outdated and dropped.",
    )
    max_future_seconds: float | None = Field(
        default=None,
        ge=0.0,
        description="Events this far ahead of the newest event time are incorrect (none: no such check; a "
        "quiet shop or a replay has long gaps, so only set it for dense streams).",
    )
    price_tolerance_ratio: float = Field(
        default=10.0,
        gt=1.0,
        description="A price more than this many times off the catalogue's (either way) is incorrect.",
    )
    duplicate_window_events: int = Field(
        default=1_000_000, ge=1, description="Recent event ids remembered to drop exact duplicates."
    )
    ann_dtype: str = Field(default="f16", description="ANN index quantization: f32, f16 or i8.")
    ann_candidates: int = Field(
        default=200, ge=10, description="Candidates fetched from the ANN index before re-ranking."
    )
    artifacts_keep_versions: int = Field(
        default=3, ge=1, description="Artifact versions kept on disk (older ones are removed)."
    )
    segments: int = Field(default=8, ge=2, description="Customer segments of the batch segmentation.")
    group_id: str = Field(
        default="recommendations", description="Consumer group of the learner (prefixed with topics.prefix)."
    )
    checkpoint_interval_seconds: float = Field(
        default=60.0, gt=0, description="How often the learner's state is checkpointed, in wall seconds."
    )
    checkpoint_events: int = Field(
        default=200_000,
        ge=1_000,
        description="Most recent shop events a checkpoint keeps; a restart relearns from them.",
    )
    artifacts_interval_seconds: float = Field(
        default=30.0, gt=0, description="How often the learner saves artifacts for the API's fallback."
    )
    precompute_interval_seconds: float = Field(
        default=1.0, gt=0, description="How often changed customers' and items' lists are recomputed."
    )
    segments_dir: Path | None = Field(
        default=None,
        description="Output of `streaming recs segment --out`: the learner loads it, and again on change.",
    )
    checkpoint_dir: Path | None = Field(
        default=None, description="Default: <processing.state_dir>/<group_id>."
    )


def learner_checkpoint_dir(settings: object) -> Path:
    """Where the learner's checkpoints live: `checkpoint_dir`, or `<state_dir>/<prefix><group_id>`."""
    config = settings.section("recommendations", RecommendationSettings)  # type: ignore[attr-defined]
    if config.checkpoint_dir is not None:
        return Path(config.checkpoint_dir)
    return Path(settings.processing.state_dir) / f"{settings.topics.prefix}{config.group_id}"  # type: ignore[attr-defined]
