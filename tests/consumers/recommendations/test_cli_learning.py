"""`streaming recs evaluate` and `streaming recs segment` handlers: results; one-line errors, exit 2."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from consumers.recommendations.cli import (
    add_evaluate_arguments,
    add_segment_arguments,
    run_evaluate,
    run_segment,
)
from tests.consumers.recommendations.movielens_files import (
    ONLINE_RETAIL,
    write_movielens,
    write_online_retail,
)


def _run(
    adder: Callable[[argparse.ArgumentParser], None],
    runner: Callable[[argparse.Namespace], int],
    argv: list[str],
) -> int:
    parser = argparse.ArgumentParser()
    adder(parser)
    return int(runner(parser.parse_args(argv)))


def test_evaluate_writes_both_protocols(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = write_movielens(tmp_path / "ml", users=60, items=50, ratings_per_user=12)
    out = tmp_path / "table.json"
    code = _run(
        add_evaluate_arguments, run_evaluate, [str(directory), "--max-targets", "50", "--out", str(out)]
    )
    assert code == 0
    document = json.loads(out.read_text())
    protocols = {row["protocol"] for row in document["rows"]}
    assert protocols == {"standard", "time-ordered"}
    assert "hybrid" in capsys.readouterr().out


def test_evaluate_reports_bad_input_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = write_online_retail(tmp_path / "broken.csv", ONLINE_RETAIL.replace("InvoiceDate", "When"))
    assert _run(add_evaluate_arguments, run_evaluate, [str(broken), "--format", "online-retail"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith("recs evaluate:") and "InvoiceDate" in error[-1]
    assert "Traceback" not in "\n".join(error)
    assert _run(add_evaluate_arguments, run_evaluate, [str(tmp_path / "absent.csv")]) == 2
    single = tmp_path / "single.csv"
    single.write_text("customer_id,item_id,timestamp\na,x,1700000000\nb,y,1700000001\n")
    assert _run(add_evaluate_arguments, run_evaluate, [str(single), "--protocol", "standard"]) == 2
    assert "two distinct items" in capsys.readouterr().err


def test_a_bad_option_is_refused_by_the_parser(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_evaluate_arguments(parser)
    with pytest.raises(SystemExit) as raised:
        parser.parse_args([str(tmp_path), "--k", "0"])
    assert raised.value.code == 2


def test_segment_writes_its_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    retail = write_online_retail(tmp_path / "retail.csv")
    code = _run(
        add_segment_arguments,
        run_segment,
        [str(retail), "--segments", "2", "--out", str(tmp_path / "out"), "--plot", str(tmp_path / "s.png")],
    )
    assert code == 0
    assert (tmp_path / "out" / "customers.parquet").exists() and (tmp_path / "s.png").exists()
    assert "segments.csv" in capsys.readouterr().out
    assert (
        _run(add_segment_arguments, run_segment, [str(tmp_path / "absent.csv"), "--out", str(tmp_path / "x")])
        == 2
    )


def test_segment_says_so_when_the_pushgateway_is_unreachable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    retail = write_online_retail(tmp_path / "retail.csv")
    argv = [str(retail), "--segments", "2", "--out", str(tmp_path / "out"), "--pushgateway", "127.0.0.1:9"]
    assert _run(add_segment_arguments, run_segment, argv) == 0  # the outputs are written all the same
    assert (tmp_path / "out" / "segments.csv").exists()
    assert "metrics not pushed to 127.0.0.1:9" in capsys.readouterr().err
