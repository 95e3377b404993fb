"""Command handlers of the serving side, for the lead to wire:

- `streaming redis start|stop|status`: `add_redis_arguments` / `run_redis`;
- `streaming serve recommendations`: `add_serve_arguments` / `run_serve`.

Heavy libraries (FastAPI, uvicorn, redis-py) are imported inside the handlers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from streaming.cli.common import add_common_options, settings_from_args

REDIS_ACTIONS = ("start", "stop", "status")


def add_redis_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=REDIS_ACTIONS, help="start (no-op when running), stop or status")
    parser.add_argument("--port", type=int, help="port of the local redis-server (default 6390)")
    parser.add_argument("--maxmemory", type=_memory_size, help="memory bound, e.g. 256mb or 2gb")
    parser.add_argument("--timeout", type=float, help="seconds to wait for it to answer")
    add_common_options(parser)


def run_redis(args: argparse.Namespace) -> int:
    from consumers.recommendations.redis_server import LocalRedis, RedisServerError
    from consumers.recommendations.serving_settings import serving_settings

    serving = serving_settings(settings_from_args(args))
    updates: dict[str, object] = {}
    if args.port is not None:
        updates["redis_port"] = args.port
    if args.maxmemory is not None:
        updates["redis_maxmemory_bytes"] = args.maxmemory
    server = LocalRedis(serving.model_copy(update=updates))
    try:
        if args.action == "start":
            was_running = server.status().running
            url = server.start(timeout_seconds=args.timeout)
            print("already running" if was_running else f"started; log in {server.log_file}", file=sys.stderr)
            print(url)
            return 0
        if args.action == "stop":
            print("stopped" if server.stop() else "not running")
            return 0
        status = server.status()
        print(status.describe())
        return 0 if status.answering else 3
    except RedisServerError as error:
        print(f"streaming redis: {error}", file=sys.stderr)
        return 2


def add_redis_action_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `streaming redis start|stop|status`."""
    parser.add_argument("--port", type=int, help="port of the local redis-server (default 6390)")
    parser.add_argument("--maxmemory", type=_memory_size, help="memory bound, e.g. 256mb or 2gb")
    parser.add_argument("--timeout", type=float, help="seconds to wait for it to answer")
    add_common_options(parser)


def run_redis_start(args: argparse.Namespace) -> int:
    args.action = "start"
    return run_redis(args)


def run_redis_stop(args: argparse.Namespace) -> int:
    args.action = "stop"
    return run_redis(args)


def run_redis_status(args: argparse.Namespace) -> int:
    args.action = "status"
    return run_redis(args)


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to bind (default 8090; 0 picks a free one)")
    parser.add_argument("--artifacts", type=Path, help="the learner's artifacts directory (the fallback)")
    parser.add_argument("--redis-url", help="an external Redis; default $REDIS_URL or the local one")
    parser.add_argument(
        "--loader", help="the ArtifactLoader as module:function (default: the learning side's load_artifacts)"
    )
    add_common_options(parser)


def run_serve(args: argparse.Namespace) -> int:
    """Needs an `ArtifactLoader` from the learning side: see `consumers.recommendations.service`."""
    from consumers.recommendations.service import DEFAULT_LOADER, ServeOptions, ServiceError, serve

    settings = settings_from_args(args)
    options = ServeOptions(
        host=args.host,
        port=args.port,
        artifacts_dir=args.artifacts,
        redis_url=args.redis_url,
        loader=args.loader or DEFAULT_LOADER,
    )
    try:
        return serve(settings, options)
    except ServiceError as error:
        print(f"streaming serve recommendations: {error}", file=sys.stderr)
        return 2


def _memory_size(text: str) -> int:
    """Bytes from `1048576`, `256mb`, `2gb`.

    >>> _memory_size("256mb"), _memory_size("1gb"), _memory_size("4096")
    (268435456, 1073741824, 4096)
    """
    units = {"kb": 1024, "mb": 1024**2, "gb": 1024**3, "b": 1}
    lowered = text.strip().lower()
    for unit, factor in units.items():
        if lowered.endswith(unit) and lowered[: -len(unit)].strip().isdigit():
            return int(lowered[: -len(unit)]) * factor
    if lowered.isdigit():
        return int(lowered)
    raise argparse.ArgumentTypeError(f"not a memory size: {text!r} (try 256mb or 2gb)")


def add_shoppers_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api", required=True, help="the API's base URL, e.g. http://127.0.0.1:8090")
    parser.add_argument("--customers", type=int, default=2_000, help="customer ids that visit (u-000000...)")
    parser.add_argument("--rate", type=float, default=20.0, help="visits per second (default 20)")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--count", type=int, help="stop after this many visits")
    parser.add_argument("--seed", type=int, default=0, help="the same seed gives the same visits")
    add_common_options(parser)


def run_shoppers(args: argparse.Namespace) -> int:
    import json

    from consumers.recommendations.shoppers import Shoppers
    from streaming.replay.signals import stop_on_signals

    if args.duration is None and args.count is None:
        print("streaming recs shoppers: give --duration or --count (the run is bounded)", file=sys.stderr)
        return 2
    shoppers = Shoppers(args.api, args.customers, args.rate, seed=args.seed, stop_event=stop_on_signals())
    report = shoppers.run(duration=args.duration, count=args.count)
    print(json.dumps({"visits": report.visits, "clicks": report.clicks, "purchases": report.purchases,
                      "answers": dict(report.answers)}), flush=True)  # fmt: skip
    return 0
