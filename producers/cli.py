"""`streaming produce sensors|transactions`: the simulators on the command line.

The option functions are light (argparse only); the simulators are imported when a command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, Literal

from streaming.cli.common import add_common_options, bootstrap_for, parse_duration, settings_from_args
from streaming.config import Settings
from streaming.replay.timeparse import parse_time

if TYPE_CHECKING:
    from producers.runner import ProducerSummary


def _rate(text: str) -> float | Literal["max"]:
    if text.strip().lower() == "max":
        return "max"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--rate takes events per second or 'max', not {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("--rate must be positive")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a fraction is between 0 and 1, not {text}")
    return value


def add_sensor_arguments(sensors: argparse.ArgumentParser) -> None:
    sensors.add_argument("--machines", type=int, help="fleet size (default: producers.machines)")
    sensors.add_argument("--failure-rate", type=float, help="failures per machine per event-time day")
    sensors.add_argument("--readings-per-record", type=int, help="consecutive readings per Kafka record")
    _add_common(sensors, "producer-sensors")


def add_transaction_arguments(transactions: argparse.ArgumentParser) -> None:
    transactions.add_argument("--cards", type=int, help="number of cards (default: producers.cards)")
    transactions.add_argument("--merchants", type=int, help="number of merchants")
    transactions.add_argument(
        "--fraud-rate", type=_fraction, help="share of fraudulent payments (default 0.002)"
    )
    transactions.add_argument(
        "--chargeback-delay", type=parse_duration, help="event-time delay of chargeback labels (e.g. 1h)"
    )
    transactions.add_argument(
        "--drop-pending-labels",
        action="store_true",
        help="at the end, drop chargebacks not yet due instead of sending them with their future timestamps",
    )
    _add_common(transactions, "producer-transactions")


def add_shop_arguments(shop: argparse.ArgumentParser) -> None:
    shop.add_argument("--customers", type=int, help="customers at the start (default: shop.customers)")
    shop.add_argument("--products", type=int, help="products at the start (default: shop.products)")
    _add_common(shop, "producer-shop")


def run_shop(args: argparse.Namespace) -> int:
    from producers.shop_producer import ShopProducer

    settings = _settings(args)
    producer = ShopProducer(
        settings, seed=args.seed, start_time=args.start_time, customers=args.customers, products=args.products
    )
    return _report(producer.run(**_run_options(args, settings)))


def add_demo_options(demo: argparse.ArgumentParser) -> None:
    """The simulators' options of `streaming demo`."""
    group = demo.add_argument_group("simulated sources")
    group.add_argument("--machines", type=int, default=100, help="simulated machines (default 100)")
    group.add_argument(
        "--failure-rate", type=float, default=2.0, help="failures per machine per event-time day (default 2)"
    )
    group.add_argument(
        "--transaction-rate", type=float, default=200.0, help="payments per wall second (default 200)"
    )
    group.add_argument(
        "--shop-rate", type=float, default=100.0, help="shop events per wall second (default 100)"
    )
    group.add_argument("--shop-customers", type=int, default=2_000, help="simulated shop customers (2,000)")


def _add_common(parser: argparse.ArgumentParser, service: str) -> None:
    group = parser.add_argument_group("run")
    group.add_argument(
        "--seed", type=int, help="the same seed gives the same events (default: producers.seed)"
    )
    group.add_argument(
        "--rate",
        type=_rate,
        help="events per wall second, or 'max'. Unset: paced by the simulated clock (see --speedup)",
    )
    group.add_argument("--speedup", type=float, help="event time runs this many times faster than wall time")
    group.add_argument("--duration", type=parse_duration, help="stop after this wall time (30s, 10m, 2h)")
    group.add_argument("--count", type=int, help="stop after this many events")
    group.add_argument(
        "--start-time", type=parse_time, help="event-time origin, ISO-8601 or epoch s (default now)"
    )
    faults = parser.add_argument_group("faults")
    faults.add_argument("--out-of-order-fraction", type=_fraction, help="records held back a little")
    faults.add_argument("--late-fraction", type=_fraction, help="records held back past the allowed lateness")
    faults.add_argument("--duplicate-fraction", type=_fraction, help="records sent twice")
    faults.add_argument(
        "--bad-fraction", type=_fraction, help="extra malformed records (dead-letter practice)"
    )
    output = parser.add_argument_group("output")
    output.add_argument(
        "--metrics-port",
        type=int,
        help=f"Prometheus port (default: metrics.ports.{service} or its service's; 0 picks a free one)",
    )
    output.add_argument("--no-metrics", action="store_true", help="do not serve /metrics")
    output.add_argument("--quiet", action="store_true", help="no progress display, only the summary")
    parser.set_defaults(metrics_service=service)
    add_common_options(parser)


def _settings(args: argparse.Namespace) -> Settings:
    from producers.settings import ProducerSettings

    settings = settings_from_args(args)
    updates: dict[str, Any] = {}
    for name in ("out_of_order_fraction", "late_fraction", "duplicate_fraction", "bad_fraction", "speedup"):
        if getattr(args, name, None) is not None:
            updates[name] = getattr(args, name)
    if getattr(args, "chargeback_delay", None) is not None:
        updates["chargeback_delay_seconds"] = args.chargeback_delay
    if updates:
        producers = settings.section("producers", ProducerSettings).model_copy(update=updates)
        settings = settings.with_section("producers", producers)
    return settings


def _run_options(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from streaming.replay.signals import stop_on_signals

    metrics_port = None
    if not args.no_metrics and settings.metrics.enabled:
        metrics_port = (
            args.metrics_port
            if args.metrics_port is not None
            else settings.metrics.port_for(args.metrics_service)
        )
    stop_event = stop_on_signals()
    return {
        "duration": args.duration,
        "count": args.count,
        "rate": args.rate,
        "speedup": args.speedup,
        "bootstrap": bootstrap_for(settings),
        "metrics_port": metrics_port,
        "progress": not args.quiet,
        "stop_event": stop_event,
    }


def _report(summary: ProducerSummary) -> int:
    print(json.dumps(summary.to_dict()), flush=True)
    if summary.error_count:
        print(
            f"streaming produce: {summary.error_count} records were not delivered: {summary.errors}",
            file=sys.stderr,
        )
        return 1
    return 0


def run_sensors(args: argparse.Namespace) -> int:
    from producers.sensors import SensorProducer

    settings = _settings(args)
    producer = SensorProducer(
        settings,
        machines=args.machines,
        seed=args.seed,
        start_time=args.start_time,
        failure_rate_per_machine_day=args.failure_rate,
        readings_per_record=args.readings_per_record,
    )
    return _report(producer.run(**_run_options(args, settings)))


def run_transactions(args: argparse.Namespace) -> int:
    from producers.transactions import TransactionProducer

    settings = _settings(args)
    producer = TransactionProducer(
        settings,
        cards=args.cards,
        seed=args.seed,
        start_time=args.start_time,
        fraud_rate=args.fraud_rate,
        merchants=args.merchants,
    )
    return _report(producer.run(flush_labels=not args.drop_pending_labels, **_run_options(args, settings)))
