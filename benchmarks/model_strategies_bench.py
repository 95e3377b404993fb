"""Microseconds per event (features + score + learn, progressive validation) for each model strategy.

    .venv/bin/python benchmarks/model_strategies_bench.py [--events 20000]

Prints JSON: per strategy, µs/event and ROC AUC on a synthetic fraud stream (prefilter off, so every
strategy scores every transaction) and on synthetic maintenance windows.
"""

from __future__ import annotations

import argparse
import json
import platform

import msgspec
import pandas as pd

from consumers.learning.evaluate import evaluate_frame
from consumers.learning.synthetic import FraudStream, MaintenanceStream
from streaming.schemas import WindowAggregate

STRATEGIES = [
    "plain",
    "weighted",
    "under",
    "over",
    "under+weight",
    "hoeffding",
    "hoeffding+under",
    "arf3",
    "arf3+under",
    "arf10+under",
]


def fraud_frame(events: int) -> pd.DataFrame:
    stream = FraudStream(seed=3, cards=3_000, rate_per_second=5.0)
    return pd.DataFrame(
        [{**msgspec.structs.asdict(tx), "is_fraud": int(fraud)} for tx, fraud in stream.labelled(events)]
    )


def maintenance_frame(minutes: int) -> pd.DataFrame:
    stream = MaintenanceStream(seed=2, machines=10)
    windows, failures = [], {}
    for event in stream.events(minutes=minutes):
        if isinstance(event, WindowAggregate):
            windows.append(event)
        else:
            failures.setdefault(event.entity_id, []).append(event.event_time)
    rows = []
    for window in windows:
        row = {f"{k}_{s}": v for k, stats in window.aggregates.items() for s, v in stats.items()}
        soon = any(0 <= t - window.window_end <= 1_800 for t in failures.get(window.key, []))
        rows.append({**row, "machine_id": window.key, "end": window.window_end, "fails_soon": soon})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--minutes", type=int, default=1_200)
    args = parser.parse_args()
    report: dict[str, object] = {"machine": platform.machine(), "python": platform.python_version()}
    fraud = evaluate_frame(
        fraud_frame(args.events),
        "is_fraud",
        STRATEGIES,
        task="fraud",
        time_column="event_time",
        delay_seconds=300.0,
        use_rules=False,
    )
    report["fraud"] = {
        r.strategy: {
            "microseconds_per_event": round(r.microseconds_per_event, 1),
            "roc_auc": round(r.roc_auc, 4),
            "pr_auc": round(r.pr_auc, 4),
        }
        for r in fraud
    }
    maintenance = evaluate_frame(
        maintenance_frame(args.minutes),
        "fails_soon",
        STRATEGIES,
        task="maintenance",
        time_column="end",
        delay_seconds=1_800.0,
    )
    report["maintenance"] = {
        r.strategy: {
            "microseconds_per_event": round(r.microseconds_per_event, 1),
            "roc_auc": round(r.roc_auc, 4),
        }
        for r in maintenance
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
