"""The weekly job's topic outputs, in one Kafka transaction: profiles, scores and alerts of a week become
visible together or not at all (readers use read_committed), so a run killed midway publishes nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

from consumers.churn.job import WeekOutputs
from streaming.config import Settings
from streaming.kafka import KafkaError, OutputProducer
from streaming.schemas import encode
from streaming.schemas.base import Event

#: Written into a week's directory once its topic outputs are committed.
PUBLISHED = "published.json"


class PublishFailed(RuntimeError):
    """The week's transaction did not commit; nothing of it is visible, and a re-run publishes it."""


class KafkaSinks:
    """A `ChurnSinks` that writes a week's outputs to `customer_profiles`, `churn_scores` and `alerts` in one
    transaction, then marks the week published.

    Parameters
    ----------
    settings, bootstrap
        Where the cluster is.
    job_directory
        The job's directory (`ChurnJob.root`): where the published marker of each week goes.
    transactional_id
        One per job (default `<prefix>churn-job`): a new run fences a killed one and aborts what it left
        open. Partition-parallel workers publish nothing; only the merging run does.
    """

    def __init__(
        self, settings: Settings, bootstrap: str, job_directory: Path, transactional_id: str | None = None
    ) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.job_directory = Path(job_directory)
        self.transactional_id = transactional_id or f"{settings.topics.prefix}churn-job"
        self.published_counts: dict[str, int] = {}

    def publish(self, outputs: WeekOutputs) -> None:
        producer = OutputProducer(
            self.settings, self.bootstrap, role="churn-job", transactional_id=self.transactional_id
        )
        counts = {"customer_profiles": 0, "churn_scores": 0, "alerts": 0}
        try:
            producer.begin_transaction()
            for topic, events in (
                ("customer_profiles", outputs.profiles),
                ("churn_scores", outputs.scores),
                ("alerts", outputs.alerts),
            ):
                self._send_all(producer, topic, events)
                counts[topic] = len(events)
            producer.flush()
            failure = producer.failure()
            if failure is not None:
                raise PublishFailed(f"{outputs.week}: {failure}")
            producer.commit_transaction()
        except KafkaError as error:
            raise PublishFailed(f"{outputs.week}: the transaction did not commit ({error})") from error
        finally:
            producer.close()
        self.published_counts = counts
        marker = self.job_directory / "weeks" / str(outputs.week) / PUBLISHED
        temporary = marker.with_suffix(".tmp")
        temporary.write_text(json.dumps({"week": str(outputs.week), "at": time.time(), **counts}) + "\n")
        temporary.replace(marker)

    def _send_all(self, producer: OutputProducer, logical_topic: str, events: Sequence[Event]) -> None:
        topic = self.settings.topic_name(logical_topic)
        for event in events:
            stamp = getattr(event, "event_time", None)
            producer.send(
                topic,
                event.entity_key().encode(),
                encode(event),
                timestamp_ms=None if stamp is None else int(float(stamp) * 1000),
            )


def is_published(job_directory: Path, week: object) -> bool:
    """True once the week's outputs reached the topics (and its files are committed)."""
    return (Path(job_directory) / "weeks" / str(week) / PUBLISHED).is_file()
