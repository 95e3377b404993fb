"""`streaming evaluate` refuses what it cannot use, says what it used, and decides like the services
(issue 13, defects 1 and 3 to 8). Every file here is made by the test."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from consumers.learning.champion import ModelSlot
from consumers.learning.evaluate import evaluate_frame
from consumers.learning.models import build_model, samplers
from consumers.learning.settings import ModelSettings, ThresholdSettings
from streaming.cli.main import main

START = pd.Timestamp("2026-01-01T00:00:00Z")


def separable(rows: int = 3_000, seed: int = 1, rate: float = 0.05) -> pd.DataFrame:
    """A signal column that separates a rare positive class, and a noise column; rows one second apart."""
    rng = random.Random(seed)
    labels = [rng.random() < rate for _ in range(rows)]
    return pd.DataFrame(
        {
            "signal": [rng.gauss(2.5 if label else 0.0, 1.0) for label in labels],
            "noise": [rng.random() for _ in range(rows)],
            "y": [int(label) for label in labels],
            "at": [(START + pd.Timedelta(seconds=index)).isoformat() for index in range(rows)],
        }
    )


def evaluate_file(tmp_path: Path, frame: pd.DataFrame, *options: str, name: str = "data.csv") -> dict:
    path, out = tmp_path / name, tmp_path / "out.json"
    if name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    code = main(["evaluate", str(path), "--out", str(out), *options])
    assert code == 0
    return json.loads(out.read_text())


# Defect 1: datetime time columns are parsed at the right scale -----------------------------------------


@pytest.mark.parametrize("unit", ["us", "ns"])
def test_an_iso_or_datetime_time_column_holds_labels_back_by_the_delay_in_seconds(
    tmp_path: Path, unit: str
) -> None:
    frame = separable()
    document = evaluate_file(
        tmp_path, frame, "--label", "y", "--time", "at", "--delay", "60", "--strategies", "plain"
    )
    # Rows are a second apart: a 60 s delay holds back the last 60 labels (not 60,000 rows).
    assert document["strategies"][0]["learned"] == len(frame) - 60
    frame["at"] = pd.to_datetime(frame["at"]).astype(f"datetime64[{unit}, UTC]")
    document = evaluate_file(
        tmp_path, frame, "--label", "y", "--time", "at", "--delay", "10m", "--strategies", "plain",
        name="data.parquet",
    )  # fmt: skip
    result = document["strategies"][0]
    assert result["learned"] == len(frame) - 600 and result["roc_auc"] > 0.75


def test_an_unparsable_time_is_refused_with_the_line(tmp_path: Path, capsys) -> None:
    frame = separable(200)
    frame.loc[17, "at"] = "yesterday"
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    assert main(["evaluate", str(path), "--label", "y", "--time", "at"]) == 2
    error = capsys.readouterr().err.strip()
    assert "line 19" in error and "'yesterday'" in error and len(error.splitlines()) == 1


# Defect 3: the scaler learns from every labelled example, not only the ones a sampler keeps ------------


def test_the_scaler_sits_outside_the_sampler_and_sees_every_example() -> None:
    model = build_model(ModelSettings(model="logistic", imbalance="under"))
    scaler, sampler = list(model.steps.values())
    assert type(scaler).__name__ == "StandardScaler" and samplers(model) == [sampler]
    rng = random.Random(2)
    for _ in range(2_000):
        model.learn_one({"x": rng.random()}, rng.random() < 0.02)
    assert scaler.counts["x"] == 2_000
    assert sum(sampler._trained_on_dist.values()) < 300  # the sampler passed on a small share


# Defect 4: --threshold is a fixed threshold -------------------------------------------------------------


def test_a_given_threshold_is_fixed(tmp_path: Path) -> None:
    document = evaluate_file(
        tmp_path, separable(), "--label", "y", "--threshold", "0.05", "--strategies", "plain,weighted"
    )
    assert [row["threshold"] for row in document["strategies"]] == [0.05, 0.05]


# Defect 5: an untrained model does not alert, and alerts stay within the budget -----------------------


def test_decisions_follow_the_services_an_untrained_model_never_alerts_and_the_budget_holds() -> None:
    frame = separable(4 * 3_600, rate=0.03)
    frame.loc[: 3_600 - 1, "y"] = 0  # no positive in the first hour: nothing to learn from
    threshold = ThresholdSettings(mode="fixed", value=0.5, alerts_per_hour=5.0)
    (result,) = evaluate_frame(
        frame, "y", ["plain"], time_column="at", delay_seconds=600, threshold=threshold
    )
    # Before the fix the untrained model's 0.5 alerted on every row of the first hour.
    assert result.alerts <= 5 * 3 + 5
    assert result.precision > 0.8


# Defect 6: labels are checked ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [[0, 2, 3], ["yes", "no", "no"], [-1, 1, 1], ["UP", "DOWN", "DOWN"], [1.0, None, 0.0]],
    ids=["multi-class", "yes-no", "minus-one", "words", "missing"],
)
def test_labels_that_are_not_clearly_binary_are_refused(tmp_path: Path, values: list, capsys) -> None:
    frame = separable(300)
    frame["y"] = (values * 100)[:300]
    path = tmp_path / "labels.csv"
    frame.to_csv(path, index=False)
    assert main(["evaluate", str(path), "--label", "y", "--strategies", "plain"]) == 2
    error = capsys.readouterr().err
    assert ("--positive" in error or "empty in 100 rows" in error) and len(error.strip().splitlines()) == 1


def test_positive_names_the_positive_label(tmp_path: Path) -> None:
    frame = separable()
    frame["y"] = np.where(frame["y"] == 1, "UP", "DOWN")
    document = evaluate_file(tmp_path, frame, "--label", "y", "--positive", "UP", "--strategies", "plain")
    result = document["strategies"][0]
    assert result["positives"] == int((frame["y"] == "UP").sum()) and result["roc_auc"] > 0.9


# Defect 7: features are chosen openly -------------------------------------------------------------------


def test_ids_leaks_and_text_are_left_out_with_reasons_and_bad_cells_are_counted(
    tmp_path: Path, capsys
) -> None:
    frame = separable()
    frame.insert(0, "UDI", range(1, len(frame) + 1))
    frame["TWF"] = ((frame["y"] == 1) & (frame.index % 2 == 0)).astype(int)  # set only on failures
    frame["product"] = [f"P{index}" for index in range(len(frame))]
    frame["kind"] = ["L", "M", "H"] * (len(frame) // 3)
    frame["noise"] = frame["noise"].astype(object)
    frame.loc[5, "noise"] = "oops"  # one text cell: the column stays, the cell is counted
    frame.loc[6, "signal"] = np.inf
    frame.loc[7, "signal"] = np.nan
    document = evaluate_file(tmp_path, frame, "--label", "y", "--strategies", "plain")
    printed = capsys.readouterr().err
    assert set(document["features"]) == {"signal", "noise", "kind"}
    assert set(document["not_used"]) == {"UDI", "TWF", "product", "at"}
    assert "leaks the label" in document["not_used"]["TWF"]
    assert "1 not numbers" in printed and "1 empty or NaN, 1 infinite" in printed
    document = evaluate_file(
        tmp_path, frame, "--label", "y", "--strategies", "plain", "--features", "signal,TWF"
    )
    assert document["features"] == ["signal", "TWF"]
    document = evaluate_file(tmp_path, frame, "--label", "y", "--strategies", "plain", "--exclude", "kind")
    assert document["not_used"]["kind"] == "--exclude"


def test_no_usable_feature_is_refused_in_every_task(tmp_path: Path, capsys) -> None:
    frame = pd.DataFrame(
        {"name": [f"n{index}" for index in range(100)], "y": [index % 7 == 0 for index in range(100)]}
    )
    path = tmp_path / "text.csv"
    frame.to_csv(path, index=False)
    for task in ("generic", "maintenance"):
        assert main(["evaluate", str(path), "--label", "y", "--task", task]) == 2
    assert "no usable feature columns" in capsys.readouterr().err


def test_maintenance_columns_it_does_not_know_are_used_and_named(tmp_path: Path, capsys) -> None:
    frame = separable()
    frame["unit"] = [f"u{index % 4}" for index in range(len(frame))]
    document = evaluate_file(
        tmp_path, frame.drop(columns=["at"]), "--label", "y", "--task", "maintenance", "--strategies", "plain"
    )
    assert {"signal", "noise"} <= set(
        document["features"]
    ) and "history per 'unit'" in capsys.readouterr().err
    assert document["strategies"][0]["roc_auc"] > 0.85


# Defect 8: small edge cases ----------------------------------------------------------------------------


def test_small_mistakes_get_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    path = tmp_path / "data.csv"
    separable(300).to_csv(path, index=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", str(path), "--label", "y", "--threshold", "2"])
    assert exit_info.value.code == 2 and "between 0 and 1" in capsys.readouterr().err
    header_only = tmp_path / "empty.csv"
    header_only.write_text("signal,y\n")
    assert main(["evaluate", str(header_only), "--label", "y"]) == 2
    assert "no rows" in capsys.readouterr().err
    for strategy in ("arf0", "amf0+under"):
        assert main(["evaluate", str(path), "--label", "y", "--strategies", strategy]) == 2
        assert "at least one tree" in capsys.readouterr().err


def test_progress_is_shown_per_strategy(tmp_path: Path, capsys) -> None:
    path = tmp_path / "data.csv"
    separable(500).to_csv(path, index=False)
    assert main(["evaluate", str(path), "--label", "y", "--strategies", "plain,additive"]) == 0
    printed = capsys.readouterr().err
    assert "1/2 plain: 500/500 rows" in printed and "2/2 additive: 500/500 rows" in printed


def test_raw_and_calibrated_aucs_are_reported_side_by_side(tmp_path: Path) -> None:
    document = evaluate_file(tmp_path, separable(), "--label", "y", "--strategies", "under")
    result = document["strategies"][0]
    assert result["roc_auc"] > 0.9 and result["calibrated_roc_auc"] is not None


def test_a_slot_alerts_only_once_it_knows_a_positive() -> None:
    slot = ModelSlot("doc", "champion", ModelSettings(model="logistic", imbalance="none"), export=False)
    slot.learn({"x": 1.0}, False, 0.5)
    assert not slot.knows_positives
    slot.learn({"x": 2.0}, True, 0.5)
    assert slot.knows_positives
