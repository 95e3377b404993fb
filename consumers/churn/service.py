"""One run of the weekly job against Kafka: extract the week from the transactions topic, run the job,
publish its topic outputs in one transaction, push its metrics. `churn run` and `churn schedule` share it."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from consumers.churn.job import ChurnJob, JobResult
from consumers.churn.metrics import job_metrics
from consumers.churn.publish import KafkaSinks
from consumers.churn.settings import ChurnSettings
from consumers.churn.source import TopicWeekSource
from consumers.churn.weeks import IsoWeek
from streaming.config import Settings

log = logging.getLogger(__name__)


@dataclass
class WeekRun:
    """What one run did, and what went wrong around it (the job's result itself is in `result`)."""

    week: IsoWeek
    result: JobResult | None = None
    partial_only: bool = False
    skipped_records: dict[str, int] = field(default_factory=dict)
    published: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def churn_job(settings: Settings) -> ChurnJob:
    return ChurnJob(settings.section("churn", ChurnSettings))


def run_week(
    settings: Settings,
    bootstrap: str,
    week: IsoWeek,
    job: ChurnJob | None = None,
    partitions: Iterable[int] | None = None,
    worker: str | None = None,
    merge: bool = False,
    publish: bool = True,
) -> WeekRun:
    """Run `week`: the whole job, or (with `partitions`) only the partition-parallel Extract + Transform of
    those partitions, saved as the worker's partial, or (with `merge`) the rest of the job over the saved
    partials. Only whole and merging runs publish and push metrics."""
    config = settings.section("churn", ChurnSettings)
    job = job or ChurnJob(config)
    run = WeekRun(week)
    if merge:
        source = None
    else:
        source = TopicWeekSource(
            settings,
            bootstrap,
            week,
            config.allowed_lateness_seconds,
            partitions=partitions,
            chunk_rows=config.chunk_rows,
        )
    if partitions is not None and not merge:
        assert source is not None
        name = worker or "partitions-" + "-".join(str(number) for number in sorted(set(partitions)))
        job.transform_partition(week, source, name)
        run.partial_only = True
        run.skipped_records = dict(source.skipped)
        return run
    sinks = KafkaSinks(settings, bootstrap, job.root) if publish else None
    run.result = job.run(week, source, sinks)
    if source is not None:
        run.skipped_records = dict(source.skipped)
    if sinks is not None:
        run.published = dict(sinks.published_counts)
    failure = job_metrics(run.result, week).push(settings.metrics.pushgateway)
    if failure is not None and settings.metrics.pushgateway:
        run.notes.append(f"metrics not pushed: {failure}")
    return run
