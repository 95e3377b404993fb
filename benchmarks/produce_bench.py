"""Producer throughput: `streaming produce sensors|transactions --rate max` on the broker, one process.

Prints one JSON object. Usage:
    .venv/bin/python benchmarks/produce_bench.py [--seconds 10] [--machines 300] [--bootstrap 127.0.0.1:9092]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import uuid

from producers.sensors import SensorProducer
from producers.transactions import TransactionProducer
from streaming.config import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--machines", type=int, default=300)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    args = parser.parse_args()
    settings = Settings(
        kafka={"bootstrap_servers": args.bootstrap}, topics={"prefix": f"bench-{uuid.uuid4().hex[:8]}."}
    )
    sensors = SensorProducer(settings, machines=args.machines, seed=1).run(
        duration=args.seconds, rate="max", progress=False
    )
    transactions = TransactionProducer(settings, seed=1).run(
        duration=args.seconds, rate="max", progress=False
    )
    print(
        json.dumps(
            {
                "benchmark": "produce",
                "machine": f"{platform.machine()} {os.cpu_count()} cores",
                "seconds": args.seconds,
                "sensors": {
                    "readings_per_second": round(sensors.events_per_second),
                    "records_per_second": round(sensors.records / sensors.send_seconds),
                    "readings_per_record": settings.producers.readings_per_record,
                    "megabytes_per_second": round(sensors.bytes / sensors.send_seconds / 1e6, 2),
                    "errors": sensors.error_count,
                },
                "transactions": {
                    "transactions_per_second": round(transactions.events_per_second),
                    "megabytes_per_second": round(transactions.bytes / transactions.send_seconds / 1e6, 2),
                    "errors": transactions.error_count,
                },
                "topic_prefix": settings.topics.prefix,
            }
        )
    )


if __name__ == "__main__":
    main()
