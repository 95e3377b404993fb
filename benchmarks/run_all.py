"""Runs every benchmark script, one process each, and collates their JSON with a description of the machine.

Each script in BENCHMARKS prints one JSON object on stdout. A script that does not exist yet is listed as
missing; one that fails or times out is listed with its exit code and the end of its stderr. Nothing is
made up: a number in the output comes from a script that ran.

    python benchmarks/run_all.py --out benchmarks/results/latest.json
    streaming bench --only kafka_baseline fraud_bench
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent

#: name -> extra arguments. Order: the client's ceiling first, then each stage, then the whole pipeline.
BENCHMARKS: dict[str, list[str]] = {
    "kafka_baseline": [],
    "produce_bench": [],
    "windows_bench": [],
    "replay_bench": [],
    "fraud_bench": [],
    "maintenance_bench": [],
    "model_strategies_bench": [],
    "alerts_bench": [],
    "pipeline_bench": ["--duration", "60"],
}


def machine() -> dict[str, Any]:
    cpu_model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in ("kafka-python", "river", "prometheus-client", "numpy", "pandas"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "date": datetime.date.today().isoformat(),
        "cpu": cpu_model,
        "logical_cores": psutil.cpu_count(logical=True),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "packages": versions,
        "broker": os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or "local (streaming broker, 127.0.0.1:9092)",
    }


def _last_json_object(text: str) -> Any:
    """The JSON object a script printed (the last top-level one, so stray lines before it do not matter)."""
    decoder = json.JSONDecoder()
    found: Any = None
    index = text.find("{")
    while index != -1:
        try:
            found, end = decoder.raw_decode(text, index)
            index = text.find("{", end)
        except json.JSONDecodeError:
            index = text.find("{", index + 1)
    return found


def run_one(name: str, arguments: list[str], timeout_seconds: float) -> dict[str, Any]:
    script = HERE / f"{name}.py"
    if not script.is_file():
        return {"status": "missing", "script": str(script.relative_to(HERE.parent))}
    started = time.monotonic()
    try:
        completed = subprocess.run(
            [sys.executable, str(script), *arguments],
            capture_output=True,
            text=True,
            timeout=timeout_seconds,
            cwd=HERE.parent,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "timeout_seconds": timeout_seconds}
    elapsed = round(time.monotonic() - started, 1)
    result = _last_json_object(completed.stdout)
    if completed.returncode != 0 or result is None:
        return {
            "status": "failed",
            "exit_code": completed.returncode,
            "seconds": elapsed,
            "stderr_tail": completed.stderr.strip().splitlines()[-12:],
        }
    return {"status": "ok", "seconds": elapsed, "result": result}


def run_all(only: list[str] | None, timeout_seconds: float, progress: bool = True) -> dict[str, Any]:
    selected = {name: args for name, args in BENCHMARKS.items() if not only or name in only}
    unknown = sorted(set(only or []) - set(BENCHMARKS))
    if unknown:
        raise SystemExit(f"unknown benchmarks: {', '.join(unknown)} (known: {', '.join(BENCHMARKS)})")
    results: dict[str, Any] = {}
    for name, arguments in selected.items():
        if progress:
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
        results[name] = run_one(name, arguments, timeout_seconds)
        if progress:
            outcome = results[name]
            print(
                f"bench: {name}: {outcome['status']} {outcome.get('seconds', '')}",
                file=sys.stderr,
                flush=True,
            )
    return {"machine": machine(), "benchmarks": results, "headline": headline(results)}


def _get(results: dict[str, Any], name: str, *path: str) -> Any:
    value: Any = results.get(name, {}).get("result")
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def headline(results: dict[str, Any]) -> dict[str, Any]:
    """The few numbers the README table shows, picked from the scripts' own output where present."""
    raw_consume = _get(results, "kafka_baseline", "consume_raw", "records_per_second")
    stages = _get(results, "pipeline_bench", "stages") or {}
    downsampler = stages.get("downsampler", {}) if isinstance(stages, dict) else {}
    line: dict[str, Any] = {
        "kafka_python_produce_records_per_second": _get(
            results, "kafka_baseline", "produce", "records_per_second"
        ),
        "kafka_python_consume_records_per_second": raw_consume,
        "pipeline_cpu_seconds_per_million_events": {
            name: stage.get("cpu_seconds_per_million_events") for name, stage in stages.items()
        }
        if isinstance(stages, dict)
        else None,
        "pipeline_peak_rss_bytes": {name: stage.get("peak_rss_bytes") for name, stage in stages.items()}
        if isinstance(stages, dict)
        else None,
        # Readings (10 per record) under the demo's offered load, not the downsampler's maximum.
        "pipeline_downsampler_readings_per_second": downsampler.get("events_per_second"),
    }
    readings = line["pipeline_downsampler_readings_per_second"]
    line["downsampler_readings_over_raw_consume_records"] = (
        round(readings / raw_consume, 3) if readings and raw_consume else None
    )
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="+", metavar="NAME", help=f"run only these ({', '.join(BENCHMARKS)})")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per script (900)")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    collated = run_all(args.only, args.timeout)
    text = json.dumps(collated, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    failed = [
        name for name, outcome in collated["benchmarks"].items() if outcome["status"] in ("failed", "timeout")
    ]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
