"""`streaming rewind --group G --to TIME`: move a consumer group's committed offsets to a point in time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata

from streaming.config import Settings
from streaming.kafka import make_admin, make_consumer, resolve_bootstrap

#: Group states in which no member holds partitions, so committed offsets may change under nobody.
INACTIVE_STATES = frozenset({"Empty", "Dead", ""})


class GroupActiveError(RuntimeError):
    """The group has members: changing its offsets now would race with them."""


@dataclass
class RewindPlan:
    """Per partition: the committed offset before, the offset at the target time, and the outcome."""

    group: str
    to_ms: int
    partitions: list[dict[str, object]] = field(default_factory=list)
    applied: bool = False

    def describe(self) -> str:
        lines = [
            f"group {self.group}: rewind to {self.to_ms} ms ({'applied' if self.applied else 'dry run'})"
        ]
        for item in self.partitions:
            where = f"{item['topic']}[{item['partition']}]"
            lines.append(f"  {where}: {item['before']} -> {item['after']} ({item['note']})")
        return "\n".join(lines)


def refuse_if_active(admin: Any, group: str, doing: str) -> None:
    """Raise `GroupActiveError` while `group` has members: what `doing` changes would race with them."""
    description = admin.describe_groups([group])[group]
    members = description.get("members") or []
    state = description.get("group_state") or ""
    if members or state not in INACTIVE_STATES:
        clients = sorted({str(member.get("client_id", "?")) for member in members})
        raise GroupActiveError(
            f"group {group!r} is active (state {state}, {len(members)} member(s): {', '.join(clients)}). "
            f"Stop its consumers, then {doing}: changing it under running members would be overwritten "
            "by their next commit."
        )


def rewind_group(
    settings: Settings,
    group: str,
    to_time: float,
    topics: list[str] | None = None,
    bootstrap: str | None = None,
    dry_run: bool = False,
) -> RewindPlan:
    """Reset `group`'s offsets on `topics` (default: every topic it has committed) to the first record with
    timestamp >= `to_time`; partitions with no such record go to their end.

    Refuses with `GroupActiveError` while the group has members: stop its consumers first.
    """
    bootstrap = bootstrap or resolve_bootstrap(settings)
    to_ms = round(to_time * 1000)
    admin = make_admin(settings, bootstrap)
    consumer = make_consumer(settings, bootstrap, group_id=None, role="rewind")
    try:
        refuse_if_active(admin, group, "rewind")
        committed = admin.list_group_offsets({group: None}).get(group, {})
        if not topics:
            topics = sorted({tp.topic for tp in committed})
            if not topics:
                raise LookupError(f"group {group!r} has no committed offsets: name the topics with --topic")
        partitions: list[TopicPartition] = []
        for topic in topics:
            numbers = consumer.partitions_for_topic(topic)
            if not numbers:
                raise LookupError(f"topic {topic!r} does not exist")
            partitions.extend(TopicPartition(topic, number) for number in sorted(numbers))
        found = consumer.offsets_for_times(dict.fromkeys(partitions, to_ms), timeout_ms=30_000)
        ends = consumer.end_offsets(partitions, timeout_ms=30_000)
        plan = RewindPlan(group=group, to_ms=to_ms)
        new_offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for tp in partitions:
            hit = found.get(tp)
            offset = hit.offset if hit is not None else ends[tp]
            before = committed.get(tp)
            new_offsets[tp] = OffsetAndMetadata(offset, "", -1)
            plan.partitions.append(
                {
                    "topic": tp.topic,
                    "partition": tp.partition,
                    "before": None if before is None else before.offset,
                    "after": offset,
                    "note": "first record at or after the time"
                    if hit is not None
                    else "no later record: end",
                }
            )
        if not dry_run:
            outcome = admin.alter_group_offsets(group, new_offsets)
            failed = {
                f"{tp.topic}[{tp.partition}]": error.__name__
                for tp, error in outcome.items()
                if getattr(error, "errno", 0) != 0
            }
            if failed:
                raise GroupActiveError(
                    f"group {group!r}: offsets not changed for {failed} (did a member join?)"
                )
            plan.applied = True
        return plan
    finally:
        consumer.close()
        admin.close()
