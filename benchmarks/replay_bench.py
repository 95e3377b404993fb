"""Replay throughput: a 1M-row CSV of transactions through `streaming replay --speed max`.

Prints one JSON object. Usage:
    .venv/bin/python benchmarks/replay_bench.py [--rows 1000000] [--schema transaction|raw]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import uuid
from pathlib import Path

import orjson
import pandas as pd

from producers.payments import PaymentWorld
from streaming.config import Settings
from streaming.replay.player import FileReplayer


def write_csv(path: Path, rows: int) -> float:
    started = time.monotonic()
    world = PaymentWorld(cards=5_000, merchants=500, seed=1, start_time=1_700_000_000.0, fraud_rate=0.002)
    header = True
    written = 0
    while written < rows:
        batch = [
            orjson.loads(record.value)
            for record in world.generate(min(256, rows - written))
            if record.topic == "transactions"
        ]
        buffer = []
        while batch and written < rows:
            buffer.extend(batch)
            written += len(batch)
            if len(buffer) >= 50_000 or written >= rows:
                break
            batch = [
                orjson.loads(record.value)
                for record in world.generate(min(256, rows - written))
                if record.topic == "transactions"
            ]
        pd.DataFrame(buffer).to_csv(path, mode="w" if header else "a", header=header, index=False)
        header = False
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--schema", default="transaction", choices=("transaction", "raw"))
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "transactions.csv"
        generate_seconds = write_csv(path, args.rows)
        size = path.stat().st_size
        settings = Settings(
            kafka={"bootstrap_servers": args.bootstrap}, topics={"prefix": f"bench-{uuid.uuid4().hex[:8]}."}
        )
        summary = FileReplayer(
            settings,
            path,
            settings.topic_name("transactions"),
            schema=args.schema,
            time_column="event_time",
            key_column="card_id",
            speed=None,
            progress=False,
        ).run()
    print(
        json.dumps(
            {
                "benchmark": "replay",
                "machine": f"{platform.machine()} {os.cpu_count()} cores",
                "rows": summary.rows,
                "schema": args.schema,
                "file_megabytes": round(size / 1e6, 1),
                "csv_generation_seconds": round(generate_seconds, 1),
                "replay_seconds": round(summary.elapsed_seconds, 1),
                "rows_per_second": round(summary.rows_per_second),
                "megabytes_per_second": round(size / summary.elapsed_seconds / 1e6, 2),
                "bad_rows": summary.bad_row_count,
                "errors": summary.error_count,
            }
        )
    )


if __name__ == "__main__":
    main()
