"""`ChurnSettings`: the `[churn]` section of the settings (env `STREAMING_CHURN__<FIELD>`)."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from consumers.churn.model_spec import MODEL_KINDS, SAMPLINGS, ModelSpec


class ChurnSettings(BaseModel):
    """The weekly churn job, its models, scores, alerts and backtest."""

    output_dir: str = Field(
        default=".streaming/churn",
        description="Where the job keeps its archive, models, at-risk lists, reports and alert state.",
    )
    horizon_weeks: int = Field(
        default=8, ge=1, le=52, description="H: a customer churned when it buys nothing in the H weeks after."
    )
    active_weeks: int = Field(
        default=4,
        ge=1,
        le=13,
        description="K: the customers scored each week are those with a purchase in the last K weeks.",
    )
    profile_weeks: int = Field(
        default=13, ge=4, le=52, description="Window of the RFM values in the published customer profiles."
    )
    history_weeks: int = Field(
        default=13,
        ge=13,
        le=260,
        description="Weeks of summaries read for the features at a cut-off (tenure is capped by it).",
    )
    training_cutoffs: int = Field(
        default=4,
        ge=1,
        le=52,
        description="Past cut-offs (with known labels) a batch model trains on each week; the newest ones.",
    )
    max_training_rows: int = Field(
        default=400_000,
        ge=1_000,
        description="Training rows kept at most (a seeded sample of customers beyond it), to bound CPU time.",
    )
    model: str = Field(
        default="random_forest",
        description=f"The scoring model: {', '.join(MODEL_KINDS)}.",
    )
    sampling: str = Field(
        default="oversample",
        description=f"How the model treats the few churners: {', '.join(SAMPLINGS)}.",
    )
    max_depth: int = Field(default=6, ge=1, le=30, description="Depth limit of the trees.")
    trees: int = Field(default=50, ge=1, le=1_000, description="Trees in the random forest.")
    forest_max_samples: float | None = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="Share of the training rows each forest tree draws; unset: all (slower on large bases).",
    )
    jobs: int = Field(
        default=2, ge=1, le=64, description="Cores the forest trains on (the result does not depend on it)."
    )
    min_samples_leaf: int = Field(default=20, ge=1, description="Smallest leaf of the scikit-learn trees.")
    oversample_share: float = Field(
        default=0.5, gt=0.0, lt=1.0, description="Share of churners in the training rows after oversampling."
    )
    incremental_model: str | None = Field(
        default="hoeffding_tree+oversample",
        description="River model updated each week from the newly labelled rows only, to compare its CPU "
        "cost with the full retrain (hoeffding_tree or arf, + sampling); unset: none.",
    )
    max_incremental_rows: int = Field(
        default=100_000,
        ge=100,
        description="Rows the River model learns at most per weekly update (a seeded sample beyond it).",
    )
    seed: int = Field(
        default=42, description="Seed of sampling and models: the same data gives the same outputs."
    )
    medium_risk_probability: float = Field(
        default=0.2, gt=0.0, lt=1.0, description="Probability from which a customer's risk band is medium."
    )
    high_risk_probability: float = Field(
        default=0.5, gt=0.0, lt=1.0, description="Probability from which a customer's risk band is high."
    )
    at_risk_probability: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description="Customers at or above this probability go on the at-risk list.",
    )
    alert_probability: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Risk threshold of a churn alert."
    )
    alert_min_monetary_value: float = Field(
        default=0.0,
        ge=0.0,
        description="High value: a churn alert needs at least this monetary value over the profile window "
        "(EUR); see alert_value_quantile too.",
    )
    alert_value_quantile: float = Field(
        default=0.8,
        ge=0.0,
        le=1.0,
        description="High value: a churn alert also needs a monetary value in this top quantile of the "
        "scored customers (0.8: the top 20 %).",
    )
    alert_rise: float = Field(
        default=0.05,
        ge=0.0,
        le=1.0,
        description="A customer alerted before is alerted again only if its probability rose by this much.",
    )
    top_reasons: int = Field(default=3, ge=1, le=8, description="Reasons given with each score.")
    train_holdout_when_missing: bool = Field(
        default=True,
        description="The holdout check judges the scores the job wrote H weeks ago; when there are none "
        "(the first weeks), train a model on older cut-offs for it (one more fit).",
    )
    weekly_budget_seconds: float = Field(
        default=3_600.0,
        gt=0.0,
        description="Wall time the weekly job may take; steps are reported against it.",
    )
    allowed_lateness_seconds: float = Field(
        default=3_600.0,
        ge=0.0,
        description="The scheduler runs a week once event time passed its end plus this much.",
    )
    chunk_rows: int = Field(
        default=500_000, ge=1_000, description="Transactions per chunk read by the extract step."
    )

    @model_validator(mode="after")
    def _check(self) -> ChurnSettings:
        self.model_spec()  # a clear error for an unknown model or sampling
        if self.incremental_model:
            spec = ModelSpec.parse(self.incremental_model)
            if not spec.incremental:
                raise ValueError("incremental_model must be hoeffding_tree or arf (+ sampling)")
        if self.medium_risk_probability >= self.high_risk_probability:
            raise ValueError("medium_risk_probability must be below high_risk_probability")
        return self

    def model_spec(self) -> ModelSpec:
        """The scoring model's spec from these settings.

        >>> ChurnSettings().model_spec().name
        'random_forest+oversample'
        """
        return ModelSpec.parse(
            f"{self.model}+{self.sampling}",
            max_depth=self.max_depth,
            trees=self.trees,
            min_samples_leaf=self.min_samples_leaf,
            oversample_share=self.oversample_share,
            seed=self.seed,
            jobs=self.jobs,
            max_samples=self.forest_max_samples,
        )

    def incremental_spec(self) -> ModelSpec | None:
        if not self.incremental_model:
            return None
        return ModelSpec.parse(
            self.incremental_model,
            max_depth=self.max_depth,
            trees=self.trees,
            oversample_share=self.oversample_share,
            seed=self.seed,
        )
