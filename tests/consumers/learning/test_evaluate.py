"""`streaming evaluate` on small labelled files generated here."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pandas as pd
import pytest

from consumers.learning.evaluate import average_precision, roc_auc
from consumers.learning.synthetic import FraudStream, MaintenanceStream
from streaming.cli.main import main
from streaming.schemas import WindowAggregate

STRATEGIES = "constant,rules,plain,weighted,under,over,under+weight,hoeffding,arf3,arf3+under"


@pytest.fixture
def fraud_csv(tmp_path: Path) -> Path:
    stream = FraudStream(seed=3, cards=800, rate_per_second=5.0)
    rows = [{**msgspec.structs.asdict(tx), "is_fraud": int(fraud)} for tx, fraud in stream.labelled(2_500)]
    path = tmp_path / "fraud.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_evaluate_fraud_every_strategy_table_json_and_plot(fraud_csv: Path, tmp_path: Path, capsys) -> None:
    out, png = tmp_path / "table.json", tmp_path / "curve.png"
    code = main(
        [
            "evaluate",
            str(fraud_csv),
            "--label",
            "is_fraud",
            "--time",
            "event_time",
            "--delay",
            "2m",
            "--task",
            "fraud",
            "--strategies",
            STRATEGIES,
            "--out",
            str(out),
            "--plot",
            str(png),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "ROC AUC" in printed and "arf3+under" in printed
    document = json.loads(out.read_text())
    results = {row["strategy"]: row for row in document["strategies"]}
    assert list(results) == STRATEGIES.split(",")
    assert results["constant"]["roc_auc"] == 0.5
    for name in ("plain", "weighted", "under", "over", "under+weight"):
        row = results[name]
        assert row["roc_auc"] > results["rules"]["roc_auc"] + 0.1, (name, row["roc_auc"])
        assert row["microseconds_per_event"] > 0 and row["learned"] > 1_000
        assert {"pr_auc", "precision", "recall", "f1", "threshold"} <= set(row)
    assert results["plain"]["skipped_by_rules"] == results["rules"]["skipped_by_rules"] > 0
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"


def test_evaluate_maintenance_parquet_and_generic(tmp_path: Path) -> None:
    rows = []
    stream = MaintenanceStream(seed=2, machines=6, degradation_seconds=1_200.0)
    failures: dict[str, list[float]] = {}
    windows = []
    for event in stream.events(minutes=600):
        if isinstance(event, WindowAggregate):
            windows.append(event)
        else:
            failures.setdefault(event.entity_id, []).append(event.event_time)
    for window in windows:
        row = {f"{k}_{s}": v for k, stats in window.aggregates.items() for s, v in stats.items()}
        fails = any(0 <= t - window.window_end <= 1_200 for t in failures.get(window.key, []))
        rows.append(
            {
                **row,
                "machine_id": window.key,
                "machine_type": window.attributes["machine_type"],
                "end": window.window_end,
                "fails_soon": fails,
            }
        )
    path = tmp_path / "windows.parquet"
    pd.DataFrame(rows).to_parquet(path)
    out = tmp_path / "m.json"
    assert (
        main(
            [
                "evaluate",
                str(path),
                "--label",
                "fails_soon",
                "--time",
                "end",
                "--delay",
                "20m",
                "--task",
                "maintenance",
                "--strategies",
                "constant,under,hoeffding+under",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    results = {row["strategy"]: row for row in json.loads(out.read_text())["strategies"]}
    assert results["under"]["roc_auc"] > 0.75 and results["constant"]["roc_auc"] == 0.5
    generic = tmp_path / "g.csv"
    frame = pd.DataFrame(rows).drop(columns=["machine_id", "machine_type", "end"])
    frame.to_csv(generic, index=False)
    assert (
        main(["evaluate", str(generic), "--label", "fails_soon", "--strategies", "plain", "--out", str(out)])
        == 0
    )
    assert json.loads(out.read_text())["strategies"][0]["events"] == len(rows)


def test_evaluate_reports_bad_input_clearly(tmp_path: Path, fraud_csv: Path, capsys) -> None:
    assert main(["evaluate", str(tmp_path / "missing.csv"), "--label", "y"]) == 2
    assert main(["evaluate", str(fraud_csv), "--label", "nope"]) == 2
    assert main(["evaluate", str(fraud_csv), "--label", "is_fraud", "--strategies", "svm"]) == 2
    assert main(["evaluate", str(fraud_csv), "--label", "is_fraud", "--strategies", "rules"]) == 2
    errors = capsys.readouterr().err
    assert "no such file" in errors and "no label column" in errors and "unknown strategy" in errors


def test_exact_ranking_metrics() -> None:
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert average_precision([1, 0, 1], [0.9, 0.8, 0.1]) == pytest.approx((1 + 2 / 3) / 2)
