"""A subscriber outage during steady alert traffic: what reaches the subscriber, what is dead-lettered, and
how long the catch-up takes, with the default retry and breaker settings.

    .venv/bin/python benchmarks/alert_outage_bench.py [--alerts 1600 --rate 10 --outage-start 20
        --outage-seconds 120 --bootstrap 127.0.0.1:9092]

`streaming consume alerts` runs as its own process, delivering to the reference receiver on 127.0.0.1.
This process produces `--alerts` alerts at `--rate` per second; the receiver goes away at `--outage-start`
seconds and comes back `--outage-seconds` later on the same port. At the end: alerts received (unique and
copies), dead letters by kind (parked while the subscriber was down, or given up), the seconds from the
receiver's return to the last alert, and the dispatcher's log lines during the outage.

Prints one JSON object. Needs the broker at --bootstrap. Every topic gets a unique prefix.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import msgspec

from consumers.alerting.receiver import AlertReceiver
from consumers.alerting.settings import SubscriberSettings
from contracts import Alert, stable_alert_id
from streaming.config import Settings
from streaming.kafka import ensure_topics, make_admin, make_producer, read_topic
from streaming.schemas import DeadLetter, encode

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def produce_alerts(settings: Settings, count: int, rate: float, stop: threading.Event) -> None:
    producer = make_producer(settings, settings.kafka.bootstrap_servers or "", role="bench-alerts")
    started = time.monotonic()
    try:
        for index in range(count):
            due = started + index / rate
            if stop.wait(max(0.0, due - time.monotonic())):
                return
            now = time.time()
            alert = Alert(
                alert_id=stable_alert_id("fraud", f"C-{index % 50}", f"outage-{index}"),
                kind="fraud",
                entity_id=f"C-{index % 50}",
                severity="critical",
                score=0.9,
                threshold=0.7,
                explanation="bench",
                event_time=now,
                created_at=now,
            )
            producer.send(settings.topic_name("alerts"), key=alert.entity_id.encode(), value=encode(alert))
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=1600)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--outage-start", type=float, default=20.0)
    parser.add_argument("--outage-seconds", type=float, default=120.0)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--catch-up-timeout", type=float, default=120.0)
    arguments = parser.parse_args()

    settings = Settings.model_validate(
        {
            "kafka": {"bootstrap_servers": arguments.bootstrap},
            "topics": {"prefix": f"bench{uuid.uuid4().hex[:8]}."},
        }
    )
    admin = make_admin(settings, arguments.bootstrap)
    try:
        ensure_topics(admin, settings)
    finally:
        admin.close()
    port = free_port()
    subscriber = SubscriberSettings(name="ops", url=f"http://127.0.0.1:{port}/alerts", secrets=[SECRET])
    environment = {
        **os.environ,
        "STREAMING_ALERTS__SUBSCRIBERS": json.dumps([subscriber.model_dump(mode="json")]),
    }
    command = [
        str(ROOT / ".venv" / "bin" / "streaming"),
        "consume",
        "alerts",
        "--bootstrap",
        arguments.bootstrap,
        "--topic-prefix",
        settings.topics.prefix,
        "--no-metrics",
    ]
    log_lines: list[tuple[float, str]] = []
    dispatcher = subprocess.Popen(
        command,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )

    def read_log() -> None:
        assert dispatcher.stderr is not None
        for line in dispatcher.stderr:
            log_lines.append((time.monotonic(), line.rstrip()))

    threading.Thread(target=read_log, daemon=True).start()
    received: list[str] = []
    stop = threading.Event()
    result: dict[str, object] = {}
    try:
        before = AlertReceiver(port=port, secrets=[SECRET], quiet=True).__enter__()
        producing = threading.Thread(
            target=produce_alerts, args=(settings, arguments.alerts, arguments.rate, stop), daemon=True
        )
        started = time.monotonic()
        producing.start()
        print(f"producing {arguments.alerts} alerts at {arguments.rate}/s", file=sys.stderr, flush=True)
        time.sleep(max(0.0, started + arguments.outage_start - time.monotonic()))
        before.__exit__(None, None, None)
        received.extend(alert.alert_id for alert in before.alerts)
        outage_began = time.monotonic()
        print(f"subscriber down after {len(received)} alerts", file=sys.stderr, flush=True)
        while time.monotonic() - outage_began < arguments.outage_seconds:
            time.sleep(min(10.0, arguments.outage_seconds - (time.monotonic() - outage_began)))
            print(f"  down for {time.monotonic() - outage_began:.0f} s", file=sys.stderr, flush=True)
        outage_ended = time.monotonic()
        with AlertReceiver(port=port, secrets=[SECRET], quiet=True) as after:
            print("subscriber back", file=sys.stderr, flush=True)
            producing.join()
            deadline = time.monotonic() + arguments.catch_up_timeout
            last_count, last_change = -1, time.monotonic()
            while time.monotonic() < deadline:
                unique = len(set(received) | {alert.alert_id for alert in after.alerts})
                if unique != last_count:
                    last_count, last_change = unique, time.monotonic()
                if unique >= arguments.alerts:
                    break
                time.sleep(0.1)
            received.extend(alert.alert_id for alert in after.alerts)
            after_duplicates = after.duplicates
        letters = read_topic(settings, arguments.bootstrap, settings.topic_name("alert_dead_letters"))
        decoded = [msgspec.json.decode(record.value, type=DeadLetter) for record in letters]
        parked = sum(1 for letter in decoded if letter.error_class == "SubscriberUnavailable")
        outage_log = [line for at, line in log_lines if outage_began <= at <= outage_ended]
        result = {
            "alerts": arguments.alerts,
            "rate_per_second": arguments.rate,
            "outage_seconds": round(outage_ended - outage_began, 1),
            "received_unique": len(set(received)),
            "received_copies": len(received) - len(set(received)) + after_duplicates,
            "lost": arguments.alerts - len(set(received)),
            "dead_letters_parked": parked,
            "dead_letters_given_up_or_rejected": len(decoded) - parked,
            "catch_up_seconds": round(last_change - outage_ended, 1),
            "dispatcher_log_lines_during_outage": len(outage_log),
            "dispatcher_log_during_outage": outage_log[:20],
            "settings": "defaults: max_retry_seconds 86400, breaker_failures 5, breaker_max_probe_seconds 30",
        }
    finally:
        stop.set()
        dispatcher.terminate()
        try:
            dispatcher.wait(30)
        except subprocess.TimeoutExpired:
            dispatcher.kill()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
