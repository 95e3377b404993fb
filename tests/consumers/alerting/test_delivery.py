"""Delivery workers against real HTTP servers on 127.0.0.1: retries, rejection, the cap, isolation."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator

import pytest

from consumers.alerting.delivery import DeliveryReport
from consumers.alerting.dispatcher import AlertDispatcher
from consumers.alerting.receiver import AlertReceiver
from consumers.alerting.retry import RetryPolicy
from consumers.alerting.settings import SubscriberSettings
from consumers.alerting.tracker import Ticket
from contracts import Alert
from tests.consumers.alerting.conftest import MakeAlert
from tests.consumers.alerting.servers import Answer, ScriptedServer, wait_until

SECRET = "test-secret"


def fast_retries(max_attempts: int = 4, max_retry_seconds: float = 20.0) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=max_attempts,
        max_retry_seconds=max_retry_seconds,
        initial_backoff_seconds=0.02,
        max_backoff_seconds=0.1,
        random=random.Random(1),
    )


class Recorder:
    """Collects dead letters and reports, as the dispatcher service would hand them on."""

    def __init__(self) -> None:
        self.dead_letters: list[tuple[str, str, str]] = []
        self.reports: list[DeliveryReport] = []
        self.lock = threading.Lock()

    def dead_letter(self, alert: Alert, ticket: Ticket, subscriber: str, reason: str) -> None:
        with self.lock:
            self.dead_letters.append((alert.alert_id, subscriber, reason))

    def report(self, report: DeliveryReport) -> None:
        with self.lock:
            self.reports.append(report)

    def outcomes(self, subscriber: str) -> list[str]:
        with self.lock:
            return [report.outcome for report in self.reports if report.subscriber == subscriber]


def webhook(name: str, url: str, **options: object) -> SubscriberSettings:
    return SubscriberSettings(name=name, sink="webhook", url=url, secrets=[SECRET], **options)  # type: ignore[arg-type]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def run_dispatcher(
    subscribers: list[SubscriberSettings],
    alerts: list[Alert],
    recorder: Recorder,
    retry: RetryPolicy | None = None,
    breaker_failures: int = 1_000,
) -> AlertDispatcher:
    dispatcher = AlertDispatcher(
        subscribers,
        retry or fast_retries(),
        recorder.dead_letter,
        on_report=recorder.report,
        breaker_failures=breaker_failures,
        breaker_max_probe_seconds=0.1,
    )
    dispatcher.start()
    for offset, alert in enumerate(alerts):
        dispatcher.submit(alert, "alerts", 0, offset)
    return dispatcher


@pytest.fixture
def receiver() -> Iterator[AlertReceiver]:
    with AlertReceiver(port=0, secrets=[SECRET], quiet=True) as running:
        yield running


def test_signed_delivery_reaches_the_reference_receiver(
    receiver: AlertReceiver, recorder: Recorder, make_alert: MakeAlert
) -> None:
    alert = make_alert()
    dispatcher = run_dispatcher([webhook("ops", receiver.url + "/alerts")], [alert], recorder)
    assert dispatcher.wait_idle(10)
    dispatcher.stop()
    assert receiver.alerts == [alert]
    assert receiver.rejected == 0
    assert recorder.outcomes("ops") == ["delivered"]


def test_500_500_200_is_delivered_once(recorder: Recorder, make_alert: MakeAlert) -> None:
    with ScriptedServer([Answer(500), Answer(500)], default=Answer(200)) as server:
        dispatcher = run_dispatcher([webhook("flaky", server.url)], [make_alert()], recorder)
        assert dispatcher.wait_idle(10)
        dispatcher.stop()
    assert len(server.requests) == 3
    assert {request.headers["webhook-id"] for request in server.requests} == {make_alert().alert_id}
    assert recorder.outcomes("flaky") == ["delivered"]
    assert [report.attempts for report in recorder.reports] == [3]
    assert recorder.dead_letters == []


def test_400_is_not_retried_and_is_dead_lettered_with_the_reason(
    recorder: Recorder, make_alert: MakeAlert
) -> None:
    with ScriptedServer(default=Answer(400)) as server:
        dispatcher = run_dispatcher([webhook("strict", server.url)], [make_alert()], recorder)
        assert dispatcher.wait_idle(10)
        time.sleep(0.3)  # room for a (wrong) retry to show up
        dispatcher.stop()
    assert len(server.requests) == 1
    assert recorder.outcomes("strict") == ["rejected"]
    assert len(recorder.dead_letters) == 1 and "HTTP 400" in recorder.dead_letters[0][2]


def test_cap_reached_dead_letters_after_max_attempts(recorder: Recorder, make_alert: MakeAlert) -> None:
    with ScriptedServer(default=Answer(503)) as server:
        dispatcher = run_dispatcher([webhook("down", server.url)], [make_alert()], recorder, fast_retries(3))
        assert dispatcher.wait_idle(10)
        dispatcher.stop()
    assert len(server.requests) == 3
    assert recorder.outcomes("down") == ["dead_lettered"]
    ((alert_id, subscriber, reason),) = recorder.dead_letters
    assert (alert_id, subscriber) == (make_alert().alert_id, "down")
    assert "gave up after 3 attempts" in reason and "HTTP 503" in reason


def test_cap_by_time_and_network_errors(recorder: Recorder, make_alert: MakeAlert) -> None:
    # Nothing listens on this port: every attempt is a connection error, retried until the time cap.
    with ScriptedServer() as probe:
        dead_url = probe.url
    retry = RetryPolicy(
        max_attempts=100,
        max_retry_seconds=0.5,
        initial_backoff_seconds=0.05,
        max_backoff_seconds=0.1,
        random=random.Random(2),
    )
    dispatcher = run_dispatcher([webhook("gone", dead_url)], [make_alert()], recorder, retry)
    assert dispatcher.wait_idle(10)
    dispatcher.stop()
    assert recorder.outcomes("gone") == ["dead_lettered"]
    assert "ConnectError" in recorder.dead_letters[0][2]
    assert "limit" in recorder.dead_letters[0][2]


def test_429_honours_retry_after(recorder: Recorder, make_alert: MakeAlert) -> None:
    with ScriptedServer([Answer(429, headers={"Retry-After": "1"})], default=Answer(200)) as server:
        dispatcher = run_dispatcher([webhook("limited", server.url)], [make_alert()], recorder)
        assert dispatcher.wait_idle(10)
        dispatcher.stop()
    assert len(server.requests) == 2
    assert server.requests[1].at - server.requests[0].at >= 0.95
    assert recorder.outcomes("limited") == ["delivered"]


def test_slow_subscriber_does_not_delay_a_fast_one(
    receiver: AlertReceiver, recorder: Recorder, make_alert: MakeAlert
) -> None:
    alerts = [make_alert(cause=f"w-{index}", entity=f"M-{index}") for index in range(5)]
    with ScriptedServer(default=Answer(200, delay_seconds=2.0)) as slow:
        dispatcher = run_dispatcher(
            [webhook("slow", slow.url), webhook("fast", receiver.url + "/alerts")], alerts, recorder
        )
        # The slow one needs 10 s for five alerts; the fast one gets all of them while it is on the first.
        assert receiver.wait_for(5, timeout=5.0)
        assert len(slow.requests) <= 2
        assert recorder.outcomes("slow") == []
        # Its offsets stay uncommitted until the slow subscriber is done with them too.
        assert dispatcher.allowed_offsets({("alerts", 0): 5}) == {("alerts", 0): 0}
        dispatcher.stop(timeout=5)
    assert recorder.outcomes("fast") == ["delivered"] * 5


def test_filters_kinds_severity_entities(
    receiver: AlertReceiver, recorder: Recorder, make_alert: MakeAlert
) -> None:
    alerts = [
        make_alert(cause="1", kind="fraud", entity="C-1", severity="critical"),  # kind filtered
        make_alert(cause="2", entity="M-1", severity="info"),  # severity filtered
        make_alert(cause="3", entity="M-9", severity="critical"),  # entity filtered
        make_alert(cause="4", entity="M-1", severity="critical"),  # delivered
    ]
    subscriber = webhook(
        "picky",
        receiver.url + "/alerts",
        kinds=["maintenance"],
        min_severity="warning",
        entities=["M-1", "M-2"],
    )
    dispatcher = run_dispatcher([subscriber], alerts, recorder)
    assert dispatcher.wait_idle(10)
    dispatcher.stop()
    assert recorder.outcomes("picky") == ["filtered", "filtered", "filtered", "delivered"]
    assert [alert.alert_id for alert in receiver.alerts] == [alerts[3].alert_id]
    assert dispatcher.allowed_offsets({("alerts", 0): 4}) == {("alerts", 0): 4}


def test_same_alert_twice_is_delivered_once_per_subscriber(
    receiver: AlertReceiver, recorder: Recorder, make_alert: MakeAlert
) -> None:
    alert = make_alert()
    dispatcher = run_dispatcher([webhook("ops", receiver.url + "/alerts")], [alert, alert], recorder)
    assert dispatcher.wait_idle(10)
    dispatcher.stop()
    assert recorder.outcomes("ops") == ["delivered", "duplicate"]
    assert len(receiver.alerts) == 1


def test_jsonl_and_slack_sinks(tmp_path, recorder: Recorder, make_alert: MakeAlert) -> None:  # type: ignore[no-untyped-def]
    import orjson

    with ScriptedServer() as slack:
        subscribers = [
            SubscriberSettings(name="file", sink="jsonl", path=tmp_path / "alerts.jsonl"),
            SubscriberSettings(name="chat", sink="slack", url=slack.url),
        ]
        dispatcher = run_dispatcher(subscribers, [make_alert()], recorder)
        assert dispatcher.wait_idle(10)
        dispatcher.stop()
    lines = (tmp_path / "alerts.jsonl").read_bytes().splitlines()
    assert [orjson.loads(line)["alert_id"] for line in lines] == [make_alert().alert_id]
    payload = orjson.loads(slack.requests[0].body)
    assert "M-1" in payload["text"] and payload["blocks"]
    assert "webhook-signature" not in slack.requests[0].headers


def test_misconfigured_subscribers_fail_clearly() -> None:
    with pytest.raises(ValueError, match="needs a url"):
        AlertDispatcher([SubscriberSettings(name="x", sink="webhook")], fast_retries(), lambda *a: None)
    with pytest.raises(ValueError, match="at least one secret"):
        AlertDispatcher(
            [SubscriberSettings(name="x", url="http://127.0.0.1:1")], fast_retries(), lambda *a: None
        )
    with pytest.raises(ValueError, match="no alert subscribers"):
        AlertDispatcher([], fast_retries(), lambda *a: None)


def delivered_ids(server: ScriptedServer) -> list[str]:
    """The webhook ids the server answered with a 2xx, in the order it answered them."""
    return [request.headers["webhook-id"] for request in server.answered(200)]


def test_retries_are_bounded_by_time_not_by_a_count_of_six() -> None:
    policy = RetryPolicy(random=random.Random(3))
    assert policy.max_attempts is None and policy.max_retry_seconds == 86_400
    # Six attempts used to be the end after about 6 s; a subscriber down for minutes is still retried.
    assert policy.give_up_reason(attempts_made=6, elapsed_seconds=6.2, next_delay=10.0) is None
    assert policy.give_up_reason(attempts_made=500, elapsed_seconds=86_395, next_delay=10.0) is not None


def test_an_outage_parks_alerts_and_delivers_them_in_order_once_it_ends(
    recorder: Recorder, make_alert: MakeAlert, caplog: pytest.LogCaptureFixture
) -> None:
    alerts = [make_alert(cause=f"w-{index}", entity=f"M-{index}") for index in range(20)]
    caplog.set_level("INFO", logger="consumers.alerting.delivery")
    with ScriptedServer(default=Answer(503)) as server:
        dispatcher = run_dispatcher([webhook("ops", server.url)], alerts, recorder, breaker_failures=3)
        # Parked alerts are durable in the dead-letter topic, so every offset may be committed while down.
        assert dispatcher.wait_idle(10)
        assert dispatcher.allowed_offsets({("alerts", 0): 20}) == {("alerts", 0): 20}
        assert recorder.outcomes("ops") == ["parked"] * 20
        assert all(reason.startswith("parked: ops unavailable") for _, _, reason in recorder.dead_letters)
        assert wait_until(lambda: len(server.requests) >= 6, timeout=10)  # probes go on
        server.default = Answer(200)
        assert wait_until(lambda: len(delivered_ids(server)) >= 20, timeout=10)
        dispatcher.stop()
    assert delivered_ids(server) == [alert.alert_id for alert in alerts]
    assert dispatcher.workers[0].redelivered == 20
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert len(warnings) == 2, warnings  # one when the breaker opens, one when it closes
    assert "circuit open" in warnings[0] and "reachable again" in warnings[1]


def test_a_dead_subscriber_holds_back_neither_another_nor_the_commits(
    receiver: AlertReceiver, recorder: Recorder, make_alert: MakeAlert, caplog: pytest.LogCaptureFixture
) -> None:
    with ScriptedServer() as gone:
        dead_url = gone.url
    alerts = [make_alert(cause=f"w-{index}", entity=f"M-{index}") for index in range(60)]
    subscribers = [webhook("gone", dead_url, queue_size=5), webhook("ops", receiver.url + "/alerts")]
    caplog.set_level("INFO", logger="consumers.alerting.delivery")
    # Submitting blocks while a queue is full: with a queue of 5 and a dead subscriber retrying each alert
    # for a day, this would never return.
    dispatcher = run_dispatcher(
        subscribers, alerts, recorder, RetryPolicy(initial_backoff_seconds=0.02), breaker_failures=3
    )
    assert receiver.wait_for(60, timeout=10)
    assert dispatcher.wait_idle(10)
    assert dispatcher.allowed_offsets({("alerts", 0): 60}) == {("alerts", 0): 60}
    dispatcher.stop()
    assert recorder.outcomes("gone") == ["parked"] * 60
    assert recorder.outcomes("ops") == ["delivered"] * 60
    lines = [record for record in caplog.records if "gone" in record.getMessage()]
    assert len(lines) < 10, [record.getMessage() for record in lines]


def test_a_probe_that_fails_keeps_the_breaker_open_and_parks_on(
    recorder: Recorder, make_alert: MakeAlert
) -> None:
    first, second = make_alert(cause="a"), make_alert(cause="b")
    with ScriptedServer(default=Answer(503)) as server:
        dispatcher = run_dispatcher([webhook("ops", server.url)], [first], recorder, breaker_failures=2)
        assert wait_until(lambda: len(server.requests) >= 5, timeout=10)  # 2 attempts, then probes
        dispatcher.submit(second, "alerts", 0, 1)
        assert dispatcher.wait_idle(10)
        worker = dispatcher.workers[0]
        assert worker.breaker.is_open
        assert [parked.alert.alert_id for parked in worker.parked] == [first.alert_id, second.alert_id]
        # Only the oldest parked alert is probed: one request at a time, not one per alert.
        assert {request.headers["webhook-id"] for request in server.requests} == {first.alert_id}
        dispatcher.stop()
