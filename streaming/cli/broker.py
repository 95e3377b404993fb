"""`streaming broker start|stop|status|logs`: the embedded Apache Kafka broker."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from streaming.broker import LocalBroker
from streaming.cli.common import add_common_options, settings_from_args
from streaming.config import BrokerSettings


def add_arguments(action: argparse.ArgumentParser) -> None:
    """Options of every `streaming broker` action."""
    action.add_argument("--port", type=int, help="client port (default 9092; the controller uses port+1)")
    action.add_argument("--data-dir", type=Path, help="where the broker keeps its data and logs")
    add_common_options(action)


def add_start_arguments(action: argparse.ArgumentParser) -> None:
    add_arguments(action)
    action.add_argument("--fresh", action="store_true", help="wipe the data directory first")
    action.add_argument("--timeout", type=float, default=None, help="seconds to wait for it to answer")


def add_logs_arguments(action: argparse.ArgumentParser) -> None:
    add_arguments(action)
    action.add_argument("-n", "--lines", type=int, default=50)
    action.add_argument("-f", "--follow", action="store_true")


def _broker(args: argparse.Namespace) -> LocalBroker:
    settings = settings_from_args(args)
    updates: dict[str, object] = {}
    if args.port is not None:
        updates["port"] = args.port
    if args.data_dir is not None:
        updates["data_dir"] = args.data_dir
    broker_settings: BrokerSettings = settings.broker.model_copy(update=updates)
    return LocalBroker(broker_settings)


def start(args: argparse.Namespace) -> int:
    broker = _broker(args)
    was_running = broker.status().running
    started = time.monotonic()
    bootstrap = broker.start(fresh=args.fresh, timeout_seconds=args.timeout)
    if was_running and not args.fresh:
        print(f"already running; bootstrap {bootstrap}", file=sys.stderr)
    else:
        print(f"started in {time.monotonic() - started:.1f}s; data in {broker.data_dir}", file=sys.stderr)
    print(bootstrap)
    return 0


def stop(args: argparse.Namespace) -> int:
    broker = _broker(args)
    print("stopped" if broker.stop() else "not running")
    return 0


def status(args: argparse.Namespace) -> int:
    status = _broker(args).status()
    print(status.describe())
    return 0 if status.answering else 3


def logs(args: argparse.Namespace) -> int:
    broker = _broker(args)
    print(broker.tail_logs(args.lines))
    if args.follow:
        path = broker.log_file
        with path.open(errors="replace") as handle:
            handle.seek(0, 2)
            try:
                while True:
                    line = handle.readline()
                    if line:
                        print(line, end="")
                    else:
                        time.sleep(0.5)
            except KeyboardInterrupt:
                return 0
    return 0
