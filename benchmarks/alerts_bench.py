"""Alert delivery speed on this machine: signing cost, and dispatcher -> reference receiver over HTTP.

    .venv/bin/python benchmarks/alerts_bench.py [--alerts 500]

Prints one JSON object. No Kafka involved: this measures the delivery path alone (the consume loop's
own cost is measured by the core benchmarks).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from consumers.alerting.dispatcher import AlertDispatcher
from consumers.alerting.receiver import AlertReceiver
from consumers.alerting.retry import RetryPolicy
from consumers.alerting.settings import SubscriberSettings
from consumers.alerting.signing import WebhookSigner, WebhookVerifier
from contracts import Alert, stable_alert_id
from streaming.schemas import Codec


def make_alert(index: int) -> Alert:
    now = time.time()
    return Alert(
        alert_id=stable_alert_id("fraud", f"C-{index}", f"T-{index}"),
        kind="fraud",
        entity_id=f"C-{index}",
        severity="critical",
        score=0.93,
        threshold=0.7,
        model_name="logistic+under",
        model_version=4,
        explanation="amount_ratio=+3.1 night=+0.8 new_merchant=+0.6",
        event_time=now,
        created_at=now,
    )


def signing_cost(repeats: int = 5000) -> dict[str, float]:
    body = Codec(Alert).encode(make_alert(0))
    signer, verifier = WebhookSigner(["current", "previous"]), WebhookVerifier(["previous", "current"])
    started = time.perf_counter()
    for _ in range(repeats):
        headers = signer.headers("id", body)
    signed = time.perf_counter()
    for _ in range(repeats):
        verifier.verify(headers, body)
    verified = time.perf_counter()
    return {
        "sign_two_secrets_us": round((signed - started) / repeats * 1e6, 2),
        "verify_two_secrets_us": round((verified - signed) / repeats * 1e6, 2),
    }


def delivery(count: int) -> dict[str, float]:
    latencies: list[float] = []
    with AlertReceiver(port=0, secrets=["bench"], quiet=True) as receiver:
        dispatcher = AlertDispatcher(
            [SubscriberSettings(name="bench", url=receiver.url + "/alerts", secrets=["bench"])],
            RetryPolicy(),
            lambda *args: None,
            on_report=lambda report: latencies.append(time.time()),
        )
        dispatcher.start()
        alerts = [make_alert(index) for index in range(count)]
        started = time.perf_counter()
        created = {}
        for offset, alert in enumerate(alerts):
            created[offset] = time.time()
            dispatcher.submit(alert, "alerts", 0, offset)
        dispatcher.wait_idle(120)
        elapsed = time.perf_counter() - started
        dispatcher.stop()
        assert len(receiver.alerts) == count
    # Latency of each alert from submit to the receiver's 2xx (reports come in submit order per subscriber).
    deltas = sorted(done - created[index] for index, done in enumerate(latencies))
    return {
        "alerts": count,
        "alerts_per_second": round(count / elapsed, 1),
        # A burst submitted at once: mostly time spent queued behind the earlier alerts of the burst.
        "burst_submit_to_2xx_p50_ms": round(statistics.median(deltas) * 1000, 2),
        "burst_submit_to_2xx_p99_ms": round(deltas[int(len(deltas) * 0.99) - 1] * 1000, 2),
    }


def single_alert_latency(count: int = 50) -> dict[str, float]:
    """One alert at a time, the usual case after suppression: submit to the receiver's 2xx."""
    deltas: list[float] = []
    with AlertReceiver(port=0, secrets=["bench"], quiet=True) as receiver:
        dispatcher = AlertDispatcher(
            [SubscriberSettings(name="bench", url=receiver.url + "/alerts", secrets=["bench"])],
            RetryPolicy(),
            lambda *args: None,
        )
        dispatcher.start()
        for offset in range(count):
            started = time.perf_counter()
            dispatcher.submit(make_alert(10_000 + offset), "alerts", 0, offset)
            dispatcher.wait_idle(10)
            deltas.append(time.perf_counter() - started)
        dispatcher.stop()
    deltas.sort()
    return {
        "single_alert_p50_ms": round(statistics.median(deltas) * 1000, 2),
        "single_alert_max_ms": round(deltas[-1] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=500)
    args = parser.parse_args()
    print(
        json.dumps(
            {"benchmark": "alerts", **signing_cost(), **single_alert_latency(), **delivery(args.alerts)}
        )
    )


if __name__ == "__main__":
    main()
