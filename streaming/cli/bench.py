"""`streaming bench`: run the benchmark scripts in benchmarks/ and print their collated JSON."""

from __future__ import annotations

import argparse
import importlib.util
import os
from pathlib import Path
from types import ModuleType

from streaming.cli.common import add_common_options, bootstrap_for, settings_from_args

BENCHMARK_DIR = Path(__file__).resolve().parents[2] / "benchmarks"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help="run only these benchmarks (e.g. kafka_baseline)"
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per script (900)")
    parser.add_argument("--out", type=Path, help="also write the JSON to this file")
    add_common_options(parser)


def _load_runner() -> ModuleType:
    path = BENCHMARK_DIR / "run_all.py"
    if not path.is_file():
        raise SystemExit(f"streaming bench needs the source checkout: {path} not found")
    spec = importlib.util.spec_from_file_location("streaming_benchmarks_run_all", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    # Every script resolves the broker the same way; resolving once here starts the local one if needed.
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap_for(settings)
    runner = _load_runner()
    argv = ["--timeout", str(args.timeout)]
    if args.only:
        argv += ["--only", *args.only]
    if args.out:
        argv += ["--out", str(args.out)]
    return int(runner.main(argv))
