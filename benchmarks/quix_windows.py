"""The downsampler's job in Quix Streams 3, for `windows_bench.py` to run in Quix's own virtualenv.

    .bench-venvs/quix/bin/python benchmarks/quix_windows.py --bootstrap 127.0.0.1:9092 --topic T \\
        --output-topic O --records N [--guarantee exactly-once] [--fields a,b,...]

Reads sensor batches (JSON, one machine's readings column by column), explodes each into its readings
(`apply(..., expand=True)`), stamps each reading with its own event time, and aggregates 10 s tumbling
windows with 5 s of grace: count, and mean, min and max of every field (the aggregations Quix has built in
for this job). Prints one JSON object: timings from the first input record to the N-th, CPU seconds of
the process over the same span, peak RSS and windows out. Imports only Quix and the standard library.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from typing import Any


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--output-topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--guarantee", default="exactly-once", choices=["exactly-once", "at-least-once"])
    parser.add_argument("--fields", required=True, help="comma-separated sensor columns")
    parser.add_argument("--window-seconds", type=float, default=10.0)
    parser.add_argument("--grace-seconds", type=float, default=5.0)
    parser.add_argument("--timeout-seconds", type=float, default=600.0)
    args = parser.parse_args()

    from quixstreams import Application
    from quixstreams.dataframe.windows import Count, Max, Mean, Min

    fields = args.fields.split(",")
    progress: dict[str, Any] = {"records": 0, "windows": 0}

    with tempfile.TemporaryDirectory(prefix="quix-bench-") as state_dir:
        app = Application(
            broker_address=args.bootstrap,
            consumer_group=args.group,
            auto_offset_reset="earliest",
            processing_guarantee=args.guarantee,
            state_dir=state_dir,
            loglevel="WARNING",
        )
        source = app.topic(args.topic, value_deserializer="json")
        output = app.topic(args.output_topic, value_serializer="json")
        frame = app.dataframe(source)

        def arrived(batch: dict[str, Any]) -> None:
            if progress["records"] == 0:
                progress["first"] = time.monotonic()
                progress["cpu_first"] = cpu_seconds()
            progress["records"] += 1
            if progress["records"] == args.records:
                progress["last"] = time.monotonic()
                progress["cpu_last"] = cpu_seconds()
                app.stop()

        def readings(batch: dict[str, Any]) -> list[dict[str, Any]]:
            columns = [batch[name] for name in fields]
            return [
                {"t": moment, **dict(zip(fields, row, strict=True))}
                for moment, *row in zip(batch["event_time"], *columns, strict=True)
            ]

        def emitted(window: dict[str, Any]) -> None:
            progress["windows"] += 1

        frame = frame.update(arrived)
        frame = frame.apply(readings, expand=True)
        frame = frame.set_timestamp(lambda value, key, timestamp, headers: int(value["t"] * 1000))
        aggregations: dict[str, Any] = {"count": Count()}
        for name in fields:
            aggregations[f"{name}_mean"] = Mean(name)
            aggregations[f"{name}_min"] = Min(name)
            aggregations[f"{name}_max"] = Max(name)
        frame = (
            frame.tumbling_window(
                duration_ms=int(args.window_seconds * 1000), grace_ms=int(args.grace_seconds * 1000)
            )
            .agg(**aggregations)
            .final()
        )
        frame = frame.update(emitted)
        frame.to_topic(output)
        app.run(timeout=args.timeout_seconds)

    if "last" not in progress:
        print(json.dumps({"error": f"read {progress['records']} of {args.records} records"}))
        sys.exit(1)
    print(
        json.dumps(
            {
                "records": progress["records"],
                "seconds": progress["last"] - progress["first"],
                "cpu_seconds": progress["cpu_last"] - progress["cpu_first"],
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                "windows_out": progress["windows"],
            }
        )
    )


if __name__ == "__main__":
    main()
