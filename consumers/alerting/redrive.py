"""`streaming alerts redrive`: deliver dead-lettered alerts again, once the subscriber can take them.

The alert dead-letter topic holds every alert a subscriber did not take: parked while its circuit breaker
was open, given up after `max_retry_seconds`, or rejected. A redrive reads that topic, picks the letters
by subscriber, time of failure and alert id, drops repeats of the same alert for the same subscriber
(an alert parked in two outages, or dead-lettered by two dispatcher runs), and sends each one with the
subscriber's own sink, so it arrives signed, with its original `webhook-id`, as on the first try.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field

import msgspec

from consumers.alerting.breaker import CircuitBreaker
from consumers.alerting.retry import RetryPolicy
from consumers.alerting.settings import AlertSettings, SubscriberSettings
from consumers.alerting.sinks import SendResult, Sink, make_sink
from contracts import Alert
from streaming.config import Settings
from streaming.kafka import ConsumerRecord, read_topic
from streaming.schemas import Codec, DeadLetter, EventDecodeError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Letter:
    """One dead-lettered alert, with the subscriber it was meant for."""

    subscriber: str
    alert: Alert
    failed_at: float
    parked: bool
    offset: str  # partition@offset, for messages


@dataclass(frozen=True)
class Selection:
    """Which letters a redrive takes.

    Parameters
    ----------
    subscribers
        Only letters for these subscribers (empty: all).
    since, until
        Only letters that failed in `[since, until)`, epoch seconds (None: no bound).
    alert_ids
        Only these alerts (empty: all).
    parked_only
        Only alerts parked while a breaker was open (not those rejected or given up).

    >>> selection = Selection(subscribers={"ops"}, since=100.0)
    >>> selection.reason_to_skip("ops", failed_at=150.0, alert_id="a", parked=False) is None
    True
    >>> selection.reason_to_skip("billing", failed_at=150.0, alert_id="a", parked=False)
    'another subscriber'
    >>> selection.reason_to_skip("ops", failed_at=50.0, alert_id="a", parked=False)
    'outside the time range'
    """

    subscribers: Collection[str] = ()
    since: float | None = None
    until: float | None = None
    alert_ids: Collection[str] = ()
    parked_only: bool = False

    def reason_to_skip(self, subscriber: str, failed_at: float, alert_id: str, parked: bool) -> str | None:
        if self.subscribers and subscriber not in self.subscribers:
            return "another subscriber"
        if (self.since is not None and failed_at < self.since) or (
            self.until is not None and failed_at >= self.until
        ):
            return "outside the time range"
        if self.alert_ids and alert_id not in self.alert_ids:
            return "another alert"
        if self.parked_only and not parked:
            return "not parked"
        return None


@dataclass
class RedriveSummary:
    """What a redrive read and did, per subscriber where it matters."""

    letters_read: int = 0
    selected: int = 0
    duplicates: int = 0
    unreadable: int = 0
    delivered: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    unknown_subscribers: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not (self.failed or self.rejected or self.unknown_subscribers)

    def as_dict(self) -> dict[str, object]:
        return {
            "letters_read": self.letters_read,
            "selected": self.selected,
            "duplicates": self.duplicates,
            "unreadable": self.unreadable,
            "delivered": dict(sorted(self.delivered.items())),
            "rejected": dict(sorted(self.rejected.items())),
            "failed": dict(sorted(self.failed.items())),
            "unknown_subscribers": dict(sorted(self.unknown_subscribers.items())),
        }


def letters(
    records: Iterator[ConsumerRecord], summary: RedriveSummary, max_message_bytes: int
) -> Iterator[Letter]:
    """Decode the dead-letter records; what cannot be read is counted and named in the log, not fatal."""
    letter_decoder = msgspec.json.Decoder(DeadLetter)
    alert_codec = Codec(Alert, max_message_bytes)
    for record in records:
        summary.letters_read += 1
        where = f"{record.partition}@{record.offset}"
        headers = {key: value for key, value in record.headers or ()}
        try:
            letter = letter_decoder.decode(record.value or b"")
            alert = alert_codec.decode(letter.original_value or b"")
        except (EventDecodeError, msgspec.DecodeError, RecursionError) as error:
            summary.unreadable += 1
            log.warning("dead letter %s is not a dead-lettered alert (%s); skipped", where, error)
            continue
        subscriber = headers.get("subscriber", b"").decode(errors="replace")
        yield Letter(subscriber, alert, letter.failed_at, headers.get("parked") == b"true", where)


def redrive(
    letters_found: Iterator[Letter],
    subscribers: dict[str, SubscriberSettings],
    selection: Selection,
    retry: RetryPolicy,
    summary: RedriveSummary,
    sinks: dict[str, Sink] | None = None,
    dry_run: bool = False,
    progress: Callable[[RedriveSummary], None] | None = None,
) -> RedriveSummary:
    """Send each selected letter once per (subscriber, alert id), in the order the topic holds them.

    A subscriber that fails `breaker_failures` attempts in a row is left alone for the rest of the run
    (its letters count as failed and stay in the topic for the next redrive).
    """
    sent: set[tuple[str, str]] = set()
    open_sinks = dict(sinks or {})
    breakers: dict[str, CircuitBreaker] = {}
    try:
        for letter in letters_found:
            if selection.reason_to_skip(
                letter.subscriber, letter.failed_at, letter.alert.alert_id, letter.parked
            ):
                continue
            summary.selected += 1
            key = (letter.subscriber, letter.alert.alert_id)
            if key in sent:
                summary.duplicates += 1
                continue
            sent.add(key)
            settings = subscribers.get(letter.subscriber)
            if settings is None:
                _count(summary.unknown_subscribers, letter.subscriber)
                continue
            if dry_run:
                _count(summary.delivered, letter.subscriber)
                continue
            breaker = breakers.setdefault(letter.subscriber, CircuitBreaker(failure_threshold=5))
            if breaker.is_open:
                _count(summary.failed, letter.subscriber)
                continue
            sink = open_sinks.get(letter.subscriber)
            if sink is None:
                sink = open_sinks[letter.subscriber] = make_sink(settings)
            outcome = retry.run(
                _counted(sink, letter.alert, breaker),
                _pause,
                None,
                _stop_when_open(breaker),
            )
            if outcome.result.outcome == "delivered":
                _count(summary.delivered, letter.subscriber)
            elif outcome.result.outcome == "reject":
                _count(summary.rejected, letter.subscriber)
                log.warning(
                    "%s rejected %s again: %s",
                    letter.subscriber,
                    letter.alert.alert_id,
                    outcome.result.detail,
                )
            else:
                _count(summary.failed, letter.subscriber)
                if breaker.is_open:
                    log.warning(
                        "%s still unreachable (%s); its remaining letters stay for the next redrive",
                        letter.subscriber,
                        outcome.result.detail,
                    )
            if progress is not None:
                progress(summary)
    finally:
        for sink in open_sinks.values():
            sink.close()
    return summary


def _counted(sink: Sink, alert: Alert, breaker: CircuitBreaker) -> Callable[[], SendResult]:
    def attempt() -> SendResult:
        try:
            result = sink.send(alert)
        except Exception as error:
            result = SendResult("retry", f"{type(error).__name__}: {error}"[:300])
        if result.outcome == "retry":
            breaker.record_failure()
        else:
            breaker.record_success()
        return result

    return attempt


def _stop_when_open(breaker: CircuitBreaker) -> Callable[[SendResult], str | None]:
    def give_up(result: SendResult) -> str | None:
        return "circuit open" if breaker.is_open else None

    return give_up


def _pause(seconds: float) -> bool:
    time.sleep(seconds)
    return False


def _count(counts: dict[str, int], subscriber: str) -> None:
    counts[subscriber] = counts.get(subscriber, 0) + 1


def run_redrive(
    settings: Settings,
    bootstrap: str,
    selection: Selection,
    retry: RetryPolicy,
    dry_run: bool = False,
    progress: Callable[[RedriveSummary], None] | None = None,
    sinks: dict[str, Sink] | None = None,
) -> RedriveSummary:
    """Read the alert dead-letter topic and redrive what `selection` picks to the configured subscribers."""
    config = settings.section("alerts", AlertSettings)
    subscribers = {subscriber.name: subscriber for subscriber in config.subscribers}
    unknown = sorted(set(selection.subscribers) - set(subscribers))
    if unknown:
        known = ", ".join(sorted(subscribers)) or "none configured"
        raise KeyError(f"no subscriber named {', '.join(unknown)} in alerts.subscribers ({known})")
    summary = RedriveSummary()
    records = read_topic(
        settings, bootstrap, settings.topic_name("alert_dead_letters"), role="alerts-redrive"
    )
    found = letters(records, summary, settings.topics.max_message_bytes)
    return redrive(
        found, subscribers, selection, retry, summary, sinks=sinks, dry_run=dry_run, progress=progress
    )
