"""What a topic is: its name, key, retention, cleanup policy and partitions, declared once by whoever owns it.

Services declare the topics they read and write as `TopicSpec`s; the core creates them (`streaming topics
create`, and every service at start) without knowing what they hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MIB = 1024 * 1024
GIB = 1024 * MIB


@dataclass(frozen=True)
class TopicSpec:
    """One topic: `logical_name` is the settings field holding its name (e.g. `sensor_readings`).

    Retention is by size per partition, not by time. Record timestamps are event times, and Kafka's time
    retention works on them: a replay or backtest of last month's data would be deleted as soon as the
    broker's next retention check ran. `retention_ms` stays available for topics that want it.
    """

    logical_name: str
    key: str
    description: str
    retention_bytes: int = GIB
    retention_ms: int = -1
    cleanup_policy: str = "delete"
    partitions: int | None = None
    extra_configs: dict[str, str] = field(default_factory=dict)

    def configs(self) -> dict[str, str]:
        configs = {
            "cleanup.policy": self.cleanup_policy,
            "retention.ms": str(self.retention_ms),
            "retention.bytes": str(self.retention_bytes),
        }
        # Timestamps are event times; simulated and replayed streams run ahead of the wall clock, which the
        # broker's default (1 h, Kafka >= 3.6) rejects as a fatal InvalidTimestamp for the whole batch.
        configs["message.timestamp.after.max.ms"] = str(2**63 - 1)
        configs.update(self.extra_configs)
        return configs

    @property
    def default_name(self) -> str:
        """The topic's name before the prefix, unless `topics.names` renames it: `late_events` ->
        `late-events`.

        >>> TopicSpec("late_events", "source key", "late records").default_name
        'late-events'
        """
        return self.logical_name.replace("_", "-")


#: The topics of the core itself, whatever the services.
CORE_TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec("late_events", "source key", "Events later than the allowed lateness, kept whole.", 256 * MIB),
    TopicSpec("dead_letters", "source key", "Undecodable or unprocessable records, with reason", 256 * MIB),
)
