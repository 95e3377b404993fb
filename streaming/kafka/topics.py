"""The topic catalog on the cluster: idempotent creation of every declared topic.

Topics are declared once, by the core (`streaming.topics.CORE_TOPICS`) and by the services that own them
(`Service.topics`). `streaming topics create` and every service at start call `ensure_topics`.
"""

from __future__ import annotations

import time

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from streaming.config import Settings
from streaming.topics import TopicSpec


def topic_specs(settings: Settings) -> dict[str, TopicSpec]:
    """The catalog (the core's topics and every registered service's) by full topic name."""
    from streaming.services import registry

    return {settings.topic_name(spec.logical_name): spec for spec in registry().topics.values()}


def changelog_topic(settings: Settings, group_id: str, store: str) -> str:
    """The compacted topic that backs one state store of one consumer group."""
    return f"{settings.topics.prefix}{group_id}-{store}-changelog"


def ensure_topics(
    admin: KafkaAdminClient,
    settings: Settings,
    extra: dict[str, TopicSpec] | None = None,
    only: list[str] | None = None,
) -> dict[str, str]:
    """Create missing topics; leave existing ones alone. Returns {topic: 'created' | 'exists'}."""
    wanted = topic_specs(settings)
    if only is not None:
        wanted = {name: spec for name, spec in wanted.items() if spec.logical_name in only or name in only}
    wanted.update(extra or {})
    existing = set(admin.list_topics())
    outcome = {name: "exists" for name in wanted if name in existing}
    missing = [
        NewTopic(
            name=name,
            num_partitions=spec.partitions or settings.topics.partitions,
            replication_factor=settings.topics.replication_factor,
            topic_configs=spec.configs(),
        )
        for name, spec in wanted.items()
        if name not in existing
    ]
    if missing:
        try:
            admin.create_topics(missing, validate_only=False)
            outcome.update({topic.name: "created" for topic in missing})
        except TopicAlreadyExistsError:
            # Another process created some of them at the same time; create the rest one by one.
            for topic in missing:
                try:
                    admin.create_topics([topic], validate_only=False)
                    outcome[topic.name] = "created"
                except TopicAlreadyExistsError:
                    outcome[topic.name] = "exists"
    if missing:
        _wait_for_metadata(admin, [topic.name for topic in missing])
    return outcome


def _wait_for_metadata(admin: KafkaAdminClient, names: list[str], timeout_seconds: float = 30.0) -> None:
    """Creation is asynchronous on the broker; wait until every new topic has leaders."""
    deadline = time.monotonic() + timeout_seconds
    pending = set(names)
    while pending and time.monotonic() < deadline:
        try:
            described = admin.describe_topics(list(pending))
        except KafkaError:
            time.sleep(0.1)
            continue
        for topic in described:
            partitions = topic.get("partitions") or []
            leaders_known = partitions and all(p.get("leader_id", -1) >= 0 for p in partitions)
            if topic.get("error_code", 0) == 0 and leaders_known:
                pending -= {topic["name"]}
        if pending:
            time.sleep(0.1)
    if pending:
        raise TimeoutError(f"topics have no leader after {timeout_seconds:.0f} s: {sorted(pending)}")
