"""`redrive` on letters in memory: the selection, one delivery per (subscriber, alert), what is left alone."""

from __future__ import annotations

from consumers.alerting.redrive import Letter, RedriveSummary, Selection, redrive
from consumers.alerting.retry import RetryPolicy
from consumers.alerting.settings import SubscriberSettings
from consumers.alerting.sinks import SendResult
from contracts import Alert
from tests.consumers.alerting.conftest import MakeAlert


class RecordingSink:
    def __init__(self, answer: str = "delivered") -> None:
        self.answer = answer
        self.sent: list[str] = []
        self.closed = False

    def send(self, alert: Alert) -> SendResult:
        self.sent.append(alert.alert_id)
        return SendResult(self.answer, "scripted")  # type: ignore[arg-type]

    def close(self) -> None:
        self.closed = True


SUBSCRIBERS = {name: SubscriberSettings(name=name, sink="console") for name in ("ops", "pager")}
QUICK = RetryPolicy(max_retry_seconds=0.5, initial_backoff_seconds=0.001, max_backoff_seconds=0.002)


def letter(alert: Alert, subscriber: str = "ops", failed_at: float = 100.0, parked: bool = True) -> Letter:
    return Letter(subscriber, alert, failed_at, parked, "0@0")


def test_each_alert_goes_once_to_each_subscriber_in_topic_order(make_alert: MakeAlert) -> None:
    first, second = make_alert(cause="1"), make_alert(cause="2")
    sinks = {"ops": RecordingSink(), "pager": RecordingSink()}
    found = [letter(first), letter(second), letter(first), letter(first, "pager")]
    summary = redrive(iter(found), SUBSCRIBERS, Selection(), QUICK, RedriveSummary(), sinks=dict(sinks))
    assert sinks["ops"].sent == [first.alert_id, second.alert_id]
    assert sinks["pager"].sent == [first.alert_id]
    assert (summary.selected, summary.duplicates, summary.delivered) == (4, 1, {"ops": 2, "pager": 1})
    assert summary.complete and sinks["ops"].closed


def test_the_selection_picks_by_subscriber_time_id_and_parking(make_alert: MakeAlert) -> None:
    alerts = [make_alert(cause=str(index)) for index in range(4)]
    found = [
        letter(alerts[0], failed_at=50.0),  # too early
        letter(alerts[1], failed_at=150.0),
        letter(alerts[2], failed_at=150.0, parked=False),  # given up, not parked
        letter(alerts[3], "pager", failed_at=150.0),  # another subscriber
    ]
    sink = RecordingSink()
    selection = Selection(subscribers={"ops"}, since=100.0, until=200.0, parked_only=True)
    summary = redrive(iter(found), SUBSCRIBERS, selection, QUICK, RedriveSummary(), sinks={"ops": sink})
    assert sink.sent == [alerts[1].alert_id] and summary.selected == 1
    by_id = Selection(alert_ids={alerts[2].alert_id})
    sink = RecordingSink()
    redrive(iter(found), SUBSCRIBERS, by_id, QUICK, RedriveSummary(), sinks={"ops": sink})
    assert sink.sent == [alerts[2].alert_id]


def test_a_subscriber_still_down_is_left_alone_after_the_breaker_opens(make_alert: MakeAlert) -> None:
    alerts = [make_alert(cause=str(index)) for index in range(20)]
    down = RecordingSink("retry")
    summary = redrive(
        iter([letter(alert) for alert in alerts]),
        SUBSCRIBERS,
        Selection(),
        QUICK,
        RedriveSummary(),
        sinks={"ops": down},
    )
    assert len(down.sent) == 5  # five failures in a row open the breaker; the rest are not tried
    assert summary.failed == {"ops": 20} and not summary.complete


def test_letters_for_a_subscriber_no_longer_configured_are_counted_not_sent(make_alert: MakeAlert) -> None:
    summary = redrive(
        iter([letter(make_alert(), "gone")]), SUBSCRIBERS, Selection(), QUICK, RedriveSummary(), sinks={}
    )
    assert summary.unknown_subscribers == {"gone": 1} and not summary.complete
