"""`streaming alerts tail|receive|test`: the alert commands for people."""

from __future__ import annotations

import argparse
import contextlib
import logging
import random
import sys
import time
import uuid
from pathlib import Path

from consumers.alerting.settings import AlertSettings
from streaming.cli.common import add_common_options, bootstrap_for, settings_from_args


def add_dispatcher_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `streaming consume alerts`."""
    add_common_options(parser)
    parser.add_argument("--duration", type=float, default=None, help="Stop cleanly after this many seconds.")
    parser.add_argument(
        "--idle-exit", type=float, default=None, help="Stop after this many seconds without input."
    )
    parser.add_argument("--no-metrics", action="store_true", help="Do not serve /metrics.")
    parser.add_argument(
        "--metrics-port", type=int, default=None, help="Prometheus port (default 9106; 0 = any)."
    )
    parser.add_argument(
        "--webhook",
        action="append",
        default=[],
        metavar="URL",
        help="Add a webhook subscriber to those in the settings (repeatable; signed with --secret).",
    )
    parser.add_argument(
        "--secret", action="append", default=[], help="Signing secret for --webhook subscribers (repeatable)."
    )
    parser.add_argument("--console", action="store_true", help="Also print every alert on stdout.")
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=5.0,
        help="On stop, wait this long for deliveries in flight before the final commit.",
    )


def add_tail_arguments(tail: argparse.ArgumentParser) -> None:
    tail.add_argument("--duration", type=float, default=None, help="Stop after this many seconds.")
    tail.add_argument("--count", type=int, default=None, help="Stop after this many alerts.")
    tail.add_argument("--from-beginning", action="store_true", help="Start at the oldest alert kept.")
    add_common_options(tail)


def add_receive_arguments(receive: argparse.ArgumentParser) -> None:
    receive.add_argument(
        "--port", type=int, default=None, help="Port to listen on (default alerts.receiver_port)."
    )
    receive.add_argument(
        "--secret", action="append", default=[], help="Accepted signing secret; repeat for rotation."
    )
    receive.add_argument(
        "--host",
        default="127.0.0.1",
        help="Address to listen on (default 127.0.0.1; 0.0.0.0 in a container).",
    )
    receive.add_argument("--out", type=Path, default=None, help="Append what arrives to this JSONL file.")
    receive.add_argument("--tolerance", type=float, default=None, help="Timestamp tolerance in seconds.")
    receive.add_argument("--duration", type=float, default=None, help="Stop after this many seconds.")
    receive.add_argument("--quiet", action="store_true", help="Do not print alerts.")
    receive.add_argument(
        "--delay",
        type=float,
        default=0.0,
        help="Answer each alert after this many seconds (a slow subscriber).",
    )
    add_common_options(receive)


def add_test_arguments(test: argparse.ArgumentParser) -> None:
    test.add_argument("--subscriber", required=True, help="Name of a subscriber in alerts.subscribers.")
    test.add_argument("--severity", choices=["info", "warning", "critical"], default="info")
    add_common_options(test)


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
    return value


def add_redrive_arguments(redrive: argparse.ArgumentParser) -> None:
    from streaming.replay.timeparse import parse_time

    redrive.add_argument(
        "--subscriber",
        action="append",
        default=[],
        help="Only letters for this subscriber (repeatable; default all configured).",
    )
    redrive.add_argument(
        "--since", type=parse_time, default=None, help="Only letters that failed at or after TIME (ISO-8601)."
    )
    redrive.add_argument(
        "--until", type=parse_time, default=None, help="Only letters that failed before TIME (ISO-8601)."
    )
    redrive.add_argument(
        "--id", dest="alert_ids", action="append", default=[], help="Only this alert id (repeatable)."
    )
    redrive.add_argument(
        "--parked-only", action="store_true", help="Only alerts parked while a subscriber was down."
    )
    redrive.add_argument(
        "--max-retry-seconds",
        type=_positive_seconds,
        default=60.0,
        help="Retry each letter this long before leaving it for the next redrive (default 60).",
    )
    redrive.add_argument("--dry-run", action="store_true", help="Count what would be sent; send nothing.")
    add_common_options(redrive)


def run_redrive(args: argparse.Namespace) -> int:
    import orjson

    from consumers.alerting.redrive import RedriveSummary, Selection
    from consumers.alerting.redrive import run_redrive as redrive
    from consumers.alerting.retry import RetryPolicy
    from streaming.kafka import KafkaError

    settings = settings_from_args(args)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    selection = Selection(
        subscribers=set(args.subscriber),
        since=args.since,
        until=args.until,
        alert_ids=set(args.alert_ids),
        parked_only=args.parked_only,
    )
    alerts = settings.section("alerts", AlertSettings)
    retry = RetryPolicy(
        max_retry_seconds=args.max_retry_seconds,
        initial_backoff_seconds=alerts.initial_backoff_seconds,
        max_backoff_seconds=alerts.max_backoff_seconds,
    )
    last_line = [time.monotonic()]

    def progress(summary: RedriveSummary) -> None:
        if time.monotonic() - last_line[0] >= 2.0:
            last_line[0] = time.monotonic()
            print(
                f"read {summary.letters_read} letters, delivered {sum(summary.delivered.values())}, "
                f"failed {sum(summary.failed.values())}",
                file=sys.stderr,
                flush=True,
            )

    try:
        summary = redrive(settings, bootstrap_for(settings), selection, retry, args.dry_run, progress)
    except KeyError as error:
        print(f"streaming alerts redrive: {error.args[0]}", file=sys.stderr)
        return 2
    except LookupError as error:
        print(f"streaming alerts redrive: nothing to redrive: {error}", file=sys.stderr)
        return 0
    except KafkaError as error:
        print(f"streaming alerts redrive: cannot read the alert dead letters: {error}", file=sys.stderr)
        return 2
    print(orjson.dumps(summary.as_dict() | {"dry_run": args.dry_run}).decode())
    verb = "would deliver" if args.dry_run else "delivered"
    print(
        f"{verb} {sum(summary.delivered.values())} of {summary.selected} selected letters "
        f"({summary.duplicates} repeats skipped, {summary.letters_read} read)",
        file=sys.stderr,
    )
    if summary.unknown_subscribers:
        print(f"letters for subscribers no longer configured: {summary.unknown_subscribers}", file=sys.stderr)
    return 0 if summary.complete else 1


def run_tail(args: argparse.Namespace) -> int:
    from consumers.alerting.tail import tail_alerts

    settings = settings_from_args(args)
    shown = tail_alerts(
        settings,
        bootstrap_for(settings),
        duration=args.duration,
        count=args.count,
        from_beginning=args.from_beginning,
    )
    print(f"{shown} alerts", file=sys.stderr)
    return 0


def run_receive(args: argparse.Namespace) -> int:
    from consumers.alerting.receiver import AlertReceiver
    from streaming.replay.signals import stop_on_signals

    settings = settings_from_args(args)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not args.secret:
        print("streaming alerts receive: give at least one --secret", file=sys.stderr)
        return 2
    port = args.port if args.port is not None else settings.section("alerts", AlertSettings).receiver_port
    tolerance = (
        args.tolerance
        if args.tolerance is not None
        else settings.section("alerts", AlertSettings).timestamp_tolerance_seconds
    )
    try:
        receiver = AlertReceiver(
            port=port,
            address=args.host,
            secrets=args.secret,
            out=args.out,
            tolerance_seconds=tolerance,
            quiet=args.quiet,
            response_delay_seconds=args.delay,
        )
    except OSError as error:
        print(f"streaming alerts receive: cannot listen on {args.host}:{port}: {error}", file=sys.stderr)
        return 2
    print(
        f"receiving signed alerts on {receiver.url}/alerts and Alertmanager webhooks on "
        f"{receiver.url}/alertmanager",
        file=sys.stderr,
        flush=True,
    )
    stop_event = stop_on_signals()
    with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C while stopping
        receiver.serve_forever(duration=args.duration, stop_event=stop_event)
    print(
        f"received {len(receiver.alerts)} alerts, {len(receiver.operational)} operational alerts; "
        f"{receiver.duplicates} duplicates dropped, {receiver.rejected} rejected",
        file=sys.stderr,
        flush=True,
    )
    return 0


def run_test(args: argparse.Namespace) -> int:
    from consumers.alerting.retry import RetryPolicy
    from consumers.alerting.sinks import SendResult, make_sink
    from contracts import Alert, stable_alert_id

    settings = settings_from_args(args)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        subscriber = settings.section("alerts", AlertSettings).subscriber(args.subscriber)
    except KeyError as error:
        print(f"streaming alerts test: {error.args[0]}", file=sys.stderr)
        return 2
    now = time.time()
    alert = Alert(
        alert_id=stable_alert_id("operational", "alerts-test", uuid.uuid4().hex),
        kind="operational",
        entity_id="alerts-test",
        severity=args.severity,
        explanation=f"test alert from `streaming alerts test --subscriber {subscriber.name}`",
        event_time=now,
        created_at=now,
        attributes={"test": "true"},
    )
    sink = make_sink(subscriber)
    retry = RetryPolicy(max_attempts=3, max_retry_seconds=10.0, random=random.Random())

    def waiting(failed: SendResult, attempt: int, delay: float) -> None:
        print(
            f"attempt {attempt}: {failed.outcome} ({failed.detail}); again in {delay:.1f}s", file=sys.stderr
        )

    def pause(delay: float) -> bool:
        time.sleep(delay)
        return False

    try:
        outcome = retry.run(lambda: sink.send(alert), pause, waiting)
    finally:
        sink.close()
    result = outcome.result
    print(f"attempt {outcome.attempts}: {result.outcome} ({result.detail})", file=sys.stderr)
    if result.outcome == "delivered":
        print(f"test alert {alert.alert_id} delivered to {subscriber.name}")
        return 0
    print(f"test alert NOT delivered to {subscriber.name}: {result.detail}", file=sys.stderr)
    return 1
