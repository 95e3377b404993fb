"""Profiles against a direct computation, the scored list's order and files, the report page."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from consumers.churn.evaluate import weekly_summaries
from consumers.churn.features import build_features
from consumers.churn.labels import labelled_examples
from consumers.churn.models import ChurnModel, ModelSpec
from consumers.churn.profiles import build_profiles, profile_records
from consumers.churn.report import ReportContent, calibration_points, lift_points, write_report
from consumers.churn.sampling import TrainingRows
from consumers.churn.scoring import at_risk_list, score_customers, score_records, write_at_risk_list
from consumers.churn.summaries import WeeklySummaryBuilder
from consumers.churn.topics import TOPICS
from contracts import ChurnScore, CustomerProfile
from streaming.schemas import Codec, encode
from tests.consumers.churn.support import START_WEEK, simulated_log

WEEK = START_WEEK + 15


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    log = simulated_log(weeks=30, cards=800, seed=1)
    return log[log["event_time"] < WEEK.end_seconds]


def test_profiles_equal_a_direct_computation_and_travel_as_events(log: pd.DataFrame) -> None:
    summaries = weekly_summaries(log)
    categories = pd.concat(
        [
            WeeklySummaryBuilder(START_WEEK + offset).add(log).partial().category_totals()
            for offset in range(16)
        ]
    )
    profiles = build_profiles(summaries, categories, WEEK, window_weeks=13).set_index("customer_id")
    window = log[log["event_time"] >= (WEEK - 12).start_seconds]
    bought = window[~window["is_refund"]]
    expected_frequency = bought.groupby("customer_id").size()
    assert set(profiles.index) == set(window["customer_id"])
    common = expected_frequency.index
    assert (profiles.loc[common, "frequency"] == expected_frequency).all()
    assert np.allclose(profiles.loc[common, "monetary_value"], bought.groupby("customer_id")["amount"].sum())
    top = bought.groupby(["customer_id", "merchant_category"])["amount"].sum().reset_index()
    customer = common[0]
    mine = top[top["customer_id"] == customer].sort_values(
        ["amount", "merchant_category"], ascending=[False, True]
    )
    assert profiles.loc[customer, "preferred_categories"] == mine["merchant_category"].head(3).tolist()
    records = profile_records(profiles.reset_index(), WEEK, 13)
    decoded = Codec(CustomerProfile).decode(encode(records[0]))
    assert decoded.entity_key() == decoded.customer_id and decoded.week == str(WEEK)
    assert {spec.logical_name: spec.cleanup_policy for spec in TOPICS} == {
        "customer_profiles": "compact",
        "churn_scores": "delete",
    }


def test_scores_are_ordered_by_expected_lost_value_and_written_atomically(
    log: pd.DataFrame, tmp_path: Path
) -> None:
    summaries = weekly_summaries(log)
    examples = labelled_examples(summaries, [WEEK - 9, WEEK - 8], 8, WEEK, active_weeks=4)
    model = ChurnModel(ModelSpec.parse("decision_tree+oversample", max_depth=4))
    model.fit(TrainingRows(examples))
    features = build_features(summaries, WEEK, active_weeks=4)
    scores = score_customers(model, features, WEEK, medium=0.2, high=0.5, top_reasons=2)
    assert len(scores) == len(features)
    assert scores["expected_lost_value"].is_monotonic_decreasing
    assert np.allclose(
        scores["expected_lost_value"], (scores["probability"] * scores["monetary_value"]).round(2), atol=0.011
    )
    assert set(scores["risk_band"]) <= {"low", "medium", "high"}
    assert (scores.loc[scores["probability"] >= 0.5, "risk_band"] == "high").all()
    listed = at_risk_list(scores, 0.2)
    parquet, csv = write_at_risk_list(listed, tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["at_risk.csv", "at_risk.parquet"]
    back = pd.read_csv(csv)
    assert (
        back["customer_id"].tolist()
        == listed["customer_id"].tolist()
        == pd.read_parquet(parquet)["customer_id"].tolist()
    )
    records = score_records(scores.head(5), WEEK, 8)
    decoded = Codec(ChurnScore).decode(encode(records[0]))
    assert decoded.model_version == WEEK.year * 100 + WEEK.week and decoded.horizon_weeks == 8
    assert decoded.expected_lost_value == pytest.approx(scores.iloc[0]["expected_lost_value"])


def test_the_report_embeds_rules_calibration_lift_and_timings(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    probability = rng.random(500)
    holdout = pd.DataFrame({"churned": rng.random(500) < probability, "probability": probability})
    points = calibration_points(holdout["churned"].to_numpy(), probability)
    assert len(points) == 10 and np.allclose(points["predicted"], points["observed"], atol=0.2)
    lift = lift_points(holdout["churned"].to_numpy(), probability)
    assert lift["captured"].is_monotonic_increasing and math.isclose(lift["captured"].iloc[-1], 1.0)
    content = ReportContent(
        week="2026-W48",
        model_name="decision_tree+oversample",
        model_version=202648,
        model_text="|--- recency_days <= 9.50\n|   |--- class: False",
        timings={"extract": 1.0, "transform": 2.0, "train": 3.0},
        budget_seconds=600.0,
        importances=pd.Series({"recency_days": 0.7, "frequency_4w": 0.3}),
        holdout=holdout,
        holdout_note="Holdout: cut-off 2026-W40",
        facts={"customers scored": "500"},
    )
    page = write_report(content, tmp_path / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3
    assert "Rules of the tree" in page and "recency_days &lt;= 9.50" in page and "customers scored" in page
