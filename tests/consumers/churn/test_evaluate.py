"""The backtest: beats recency on a simulated log, and every bad input gets one clear line and exit 2."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from consumers.churn import cli
from consumers.churn.evaluate import LogColumns, TransactionLogError, backtest, prepare_log
from consumers.churn.settings import ChurnSettings
from tests.consumers.churn.support import START_WEEK, simulated_log


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return simulated_log(weeks=30, cards=800, seed=1)


def test_the_default_strategy_beats_recency_by_five_points_of_auc(log: pd.DataFrame) -> None:
    default = ChurnSettings().model_spec().name
    result = backtest(log, ["recency", default], horizon_weeks=8)
    assert result.scheme == "temporal" and len(result.evaluation_cutoffs) >= 4
    baseline, model = result.result("recency"), result.result(default)
    assert model.positives > 50 and model.rows == baseline.rows
    assert model.roc_auc >= baseline.roc_auc + 0.05, (model.roc_auc, baseline.roc_auc)
    assert model.pr_auc > baseline.pr_auc and model.lift_top_decile > 1.5
    assert 0.0 <= model.brier < 0.25 and 0.0 < model.recall_top_decile <= 1.0


def test_every_strategy_family_runs_including_the_incremental_trees(log: pd.DataFrame) -> None:
    short = log[log["event_time"] < (START_WEEK + 12).start_seconds]
    names = ["recency", "logistic_rfm", "decision_tree+class_weight", "hoeffding_tree+oversample"]
    result = backtest(short, names, horizon_weeks=4, model_options={"trees": 10})
    assert [item.strategy for item in result.results] == names
    assert result.result("hoeffding_tree+oversample").incremental
    for item in result.results:
        assert 0.5 < item.roc_auc <= 1.0, item


def test_a_log_shorter_than_horizon_plus_two_weeks_is_refused(log: pd.DataFrame) -> None:
    short = log[log["event_time"] < (START_WEEK + 9).start_seconds]
    with pytest.raises(TransactionLogError, match="needs at least 10"):
        backtest(short, ["recency"], horizon_weeks=8)
    # At H + 2 weeks it runs, on held-out customers (too short for a purely temporal split).
    result = backtest(log[log["event_time"] < (START_WEEK + 10).start_seconds], ["recency"], horizon_weeks=8)
    assert result.scheme == "customer holdout"


def _namespace(path: Path, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_evaluate_arguments(parser)
    return parser.parse_args([str(path), *extra])


def _raw_log(log: pd.DataFrame) -> pd.DataFrame:
    """The simulated log as a user's export: ISO timestamps, negative amounts for refunds."""
    times = pd.to_datetime(log["event_time"], unit="s", utc=True).dt.strftime("%Y-%m-%d %H:%M:%S")
    return pd.DataFrame(
        {
            "client": log["customer_id"],
            "when": times,
            "total": np.where(log["is_refund"], -log["amount"], log["amount"]),
            "shop": log["merchant_id"],
            "kind": log["merchant_category"],
        }
    )


OPTIONS = (
    "--customer",
    "client",
    "--time",
    "when",
    "--amount",
    "total",
    "--strategies",
    "recency,logistic_rfm",
)


def test_the_cli_runs_on_a_csv_and_reports_skipped_rows(
    log: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = _raw_log(log[log["event_time"] < (START_WEEK + 12).start_seconds])
    raw.loc[raw.index[:7], "client"] = None
    path = tmp_path / "log.csv"
    raw.to_csv(path, index=False)
    out = tmp_path / "result.json"
    plot = tmp_path / "plot.png"
    arguments = _namespace(
        path,
        *OPTIONS,
        "--refund-sign",
        "negative",
        "--merchant",
        "shop",
        "--category",
        "kind",
        "--horizon-weeks",
        "4",
        "--out",
        str(out),
        "--plot",
        str(plot),
    )
    assert cli.run_evaluate(arguments) == 0
    captured = capsys.readouterr()
    assert "skipped 7 of" in captured.err and "without a customer id" in captured.err
    assert "logistic_rfm" in captured.out and "ROC AUC" in captured.out
    assert out.exists() and plot.stat().st_size > 1_000
    parquet = tmp_path / "log.parquet"
    raw.to_parquet(parquet)
    assert (
        cli.run_evaluate(_namespace(parquet, *OPTIONS, "--refund-sign", "negative", "--horizon-weeks", "4"))
        == 0
    )


@pytest.mark.parametrize(
    ("change", "extra", "message"),
    [
        (lambda raw: raw.drop(columns=["total"]), (), "missing column(s) amount 'total'"),
        (
            lambda raw: raw.assign(when=raw["when"].where(raw.index != 3, "not a date")),
            ("--refund-sign", "negative"),
            "are not dates",
        ),
        (lambda raw: raw, (), "negative amounts; if they are refunds, pass --refund-sign negative"),
        (
            lambda raw: raw.assign(total=raw["total"].astype(str).where(raw.index != 5, "abc")),
            ("--refund-sign", "negative"),
            "not numbers",
        ),
        (lambda raw: raw.head(0), (), "has no rows"),
        (lambda raw: raw.assign(client=None), ("--refund-sign", "negative"), "no row has both"),
        (lambda raw: raw, ("--refund-sign", "negative", "--strategies", "magic"), "unknown model 'magic'"),
        (lambda raw: raw, ("--refund-sign", "negative", "--horizon-weeks", "0"), "--horizon-weeks"),
        (lambda raw: raw, ("--refund-sign", "negative", "--merchant", "nope"), "merchant 'nope'"),
    ],
)
def test_every_bad_input_gets_one_clear_line_and_exit_2(
    change, extra, message: str, log: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = change(_raw_log(log[log["event_time"] < (START_WEEK + 12).start_seconds]))
    path = tmp_path / "log.csv"
    raw.to_csv(path, index=False)
    options = [option for option in OPTIONS if option not in ("--strategies", "recency,logistic_rfm")]
    code = cli.run_evaluate(_namespace(path, *options, "--strategies", "recency", *extra))
    error = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert message in error[-1] and error[-1].startswith("churn evaluate: ")
    assert "Traceback" not in "\n".join(error)


def test_a_short_log_missing_file_and_unknown_type_are_clear_errors(
    log: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = _raw_log(log[log["event_time"] < (START_WEEK + 6).start_seconds])
    path = tmp_path / "short.csv"
    raw.to_csv(path, index=False)
    assert cli.run_evaluate(_namespace(path, *OPTIONS, "--refund-sign", "negative")) == 2
    assert "needs at least 10" in capsys.readouterr().err
    assert cli.run_evaluate(_namespace(tmp_path / "absent.csv", *OPTIONS)) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "log.xlsx").write_text("x")
    assert cli.run_evaluate(_namespace(tmp_path / "log.xlsx", *OPTIONS)) == 2
    assert "unknown file type" in capsys.readouterr().err


def test_refund_column_and_epoch_milliseconds() -> None:
    raw = pd.DataFrame(
        {
            "id": ["a", "a", "b"],
            "ts": [1.77e12, 1.7701e12, 1.7702e12],
            "value": [5.0, 5.0, 7.0],
            "type": ["sale", "refund", "sale"],
        }
    )
    columns = LogColumns(customer="id", time="ts", amount="value", refund_column="type", time_unit="ms")
    loaded = prepare_log(raw, columns)
    assert loaded.frame["is_refund"].tolist() == [False, True, False]
    assert loaded.frame["event_time"].iloc[0] == pytest.approx(1.77e9)
    with pytest.raises(TransactionLogError, match="milliseconds"):
        prepare_log(raw, LogColumns(customer="id", time="ts", amount="value", refund_column="type"))
