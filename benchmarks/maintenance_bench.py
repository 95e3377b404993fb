"""Maintenance scoring: wall time per window of the full pipeline (history features, HalfSpaceTrees,
champion and challenger, label join, threshold, alert policy), in process, with the default settings.

    .venv/bin/python benchmarks/maintenance_bench.py [--machines 50 --minutes 600]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from consumers.learning.synthetic import MaintenanceStream
from consumers.maintenance.scorer import MaintenanceScorer
from consumers.maintenance.settings import MaintenanceSettings
from streaming.schemas import WindowAggregate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--machines", type=int, default=50)
    parser.add_argument("--minutes", type=int, default=600)
    args = parser.parse_args()
    events = list(MaintenanceStream(seed=1, machines=args.machines).events(minutes=args.minutes))
    report = {}
    for name, settings in {
        "default (logistic+under, hoeffding+under challenger, HST)": MaintenanceSettings(),
        "champion only (logistic+under, HST)": MaintenanceSettings(challenger=None),
    }.items():
        scorer = MaintenanceScorer(settings, export=False)
        per_window = []
        started = time.perf_counter()
        for event in events:
            if isinstance(event, WindowAggregate):
                per_window.append(scorer.score(event).seconds)
            else:
                scorer.on_label(event)
        total = time.perf_counter() - started
        times = np.array(per_window) * 1e6
        report[name] = {
            "windows": len(per_window),
            "labels": sum(scorer.label_outcomes.values()),
            "microseconds_per_window_mean": round(float(times.mean()), 1),
            "microseconds_per_window_p50": round(float(np.percentile(times, 50)), 1),
            "microseconds_per_window_p99": round(float(np.percentile(times, 99)), 1),
            "windows_per_second_including_learning": round(len(per_window) / total),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
