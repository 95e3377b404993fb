"""Models: each kind learns, sampling is undone to true probabilities, incremental updates are cheap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from consumers.churn.evaluate import weekly_summaries
from consumers.churn.labels import labelled_cutoffs, labelled_examples
from consumers.churn.models import MODEL_KINDS, ChurnModel, ModelSpec
from consumers.churn.sampling import TrainingRows, split_by_cutoff
from tests.consumers.churn.support import START_WEEK, simulated_log


@pytest.fixture(scope="module")
def split() -> tuple[TrainingRows, pd.DataFrame]:
    log = simulated_log(weeks=30, cards=800, seed=1)  # shared with the backtest tests
    log = log[log["event_time"] < (START_WEEK + 24).start_seconds]
    summaries = weekly_summaries(log)
    cutoffs = labelled_cutoffs(START_WEEK, START_WEEK + 23, 4, 4)
    examples = labelled_examples(summaries, cutoffs, 4, START_WEEK + 23, active_weeks=4)
    training, evaluation = split_by_cutoff(examples, cutoffs[-1], 4)
    return training, evaluation.frame


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_every_kind_ranks_churners_above_the_others(
    kind: str, split: tuple[TrainingRows, pd.DataFrame]
) -> None:
    from sklearn.metrics import roc_auc_score

    training, evaluation = split
    spec = ModelSpec.parse(f"{kind}+oversample", trees=5)
    if spec.incremental:  # River learns row by row: a sample keeps the test quick
        training = TrainingRows(training.frame.sample(n=4_000, random_state=1).reset_index(drop=True))
    model = ChurnModel(spec)
    assert model.fit(training) > 0.0 and model.last_fit_cpu_seconds > 0.0
    probabilities = model.predict_proba(evaluation)
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    assert roc_auc_score(evaluation["churned"], probabilities) > 0.75
    reasons = model.reasons(evaluation.head(20), top=2)
    assert len(reasons) == 20 and all(len(items) <= 2 for items in reasons)
    assert model.describe()


def test_sampling_is_undone_so_probabilities_match_the_churn_rate(
    split: tuple[TrainingRows, pd.DataFrame],
) -> None:
    training, evaluation = split
    rate = evaluation["churned"].mean()
    for sampling in ("none", "oversample", "class_weight"):
        model = ChurnModel(ModelSpec.parse(f"logistic_rfm+{sampling}"))
        model.fit(training)
        assert model.predict_proba(evaluation).mean() == pytest.approx(rate, abs=0.04), sampling
    raw = ChurnModel(ModelSpec.parse("random_forest+oversample", trees=20))
    raw.fit(training)
    assert raw.predict_proba(evaluation).mean() < 2 * rate  # oversampled to 50 %, corrected back


def test_the_decision_tree_gives_its_rules_and_is_depth_limited(
    split: tuple[TrainingRows, pd.DataFrame],
) -> None:
    training, _evaluation = split
    model = ChurnModel(ModelSpec.parse("decision_tree+class_weight", max_depth=3))
    model.fit(training)
    rules = model.describe()
    assert "|---" in rules and "class:" in rules
    assert max(line.count("|   ") for line in rules.splitlines()) <= 3


def test_the_incremental_update_learns_only_new_rows_and_costs_less_than_a_retrain(
    split: tuple[TrainingRows, pd.DataFrame],
) -> None:
    training, evaluation = split
    cutoffs = sorted(training.frame["cutoff"].unique())
    model = ChurnModel(ModelSpec.parse("hoeffding_tree+oversample"))
    model.fit(TrainingRows(training.frame[training.frame["cutoff"] != cutoffs[-1]].reset_index(drop=True)))
    learnt = model.rows_learnt
    newest = training.frame[training.frame["cutoff"] == cutoffs[-1]].reset_index(drop=True)
    update_cpu = model.fit(TrainingRows(newest))
    assert model.rows_learnt == learnt + len(newest)
    retrain = ChurnModel(ModelSpec.parse("hoeffding_tree+oversample"))
    retrain_cpu = retrain.fit(training)
    assert update_cpu < retrain_cpu
    assert np.isfinite(model.predict_proba(evaluation)).all()


def test_unknown_names_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown model 'tree'"):
        ModelSpec.parse("tree")
    with pytest.raises(ValueError, match="unknown sampling 'smote'"):
        ModelSpec.parse("random_forest+smote")
    with pytest.raises(RuntimeError, match="not trained"):
        ChurnModel(ModelSpec()).predict_proba(pd.DataFrame({"recency_days": [1.0]}))
