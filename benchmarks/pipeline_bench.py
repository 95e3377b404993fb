"""The whole pipeline under the demo's load: events/s, CPU-seconds per million events, peak memory per stage.

Runs the demo machinery (every service as its own process, fresh topics, free metrics ports, no Prometheus,
no live view) for `--duration` seconds and reports, per stage, the steady-state rate and CPU cost measured
from the first scrape with events to the last (so interpreter start-up is not counted), and peak RSS.

    python benchmarks/pipeline_bench.py --duration 60            # prints one JSON object
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from streaming.config import Settings
from streaming.demo.runner import Demo, DemoOptions


def run(duration: float, speedup: float, bootstrap: str | None, report_root: Path) -> dict[str, Any]:
    settings = Settings()
    if bootstrap:
        settings = settings.model_copy(
            update={"kafka": settings.kafka.model_copy(update={"bootstrap_servers": bootstrap})}
        )
    options = DemoOptions(
        duration_seconds=duration,
        speedup=speedup,
        report_root=report_root,
        free_ports=True,
        prometheus=False,
        check_dashboards=False,
        interactive=False,
        plain_interval_seconds=3600,
    )
    result = Demo(settings, options).run()
    stages = {
        stage["name"]: {
            key: stage[key]
            for key in (
                "status",
                "events",
                "events_per_second",
                "p50_seconds",
                "p99_seconds",
                "cpu_seconds",
                "cpu_seconds_per_million_events",
                "peak_rss_bytes",
            )
        }
        for stage in result.summary.get("stages", [])
    }
    return {
        "benchmark": "pipeline",
        "duration_seconds": duration,
        "speedup": speedup,
        "stages": stages,
        "peak_rss_bytes_total": sum(stage["peak_rss_bytes"] or 0 for stage in stages.values()),
        "alerts": result.summary.get("alerts"),
        "missing": result.missing,
        "failed": result.failed,
        "report": str(result.index) if result.index else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--speedup", type=float, default=120.0)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    parser.add_argument(
        "--report-dir", type=Path, default=Path(tempfile.gettempdir()) / "streaming-bench-reports"
    )
    args = parser.parse_args(argv)
    result = run(args.duration, args.speedup, args.bootstrap, args.report_dir)
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0 if not result["failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
