"""A batch that fails half-way through updating partitioned state is rolled back, not retried on top of
its half-applied state: under exactly-once the committed output equals a run without the bad record, and
the bad record (only it) is a dead letter."""

from __future__ import annotations

import msgspec
import pytest

from streaming.app import Application, Batch, Context, ProcessorBase, Source
from streaming.config import Settings
from streaming.schemas import Codec, DeadLetter, encode
from streaming.services import registered
from streaming.state import ChangelogStore
from tests.streaming.services.toy import SERVICE as TOY
from tests.streaming.services.toy import ToyNumber
from tests.support.kafka import produce, read_all

pytestmark = pytest.mark.kafka

T0 = 1_767_225_600.0
POISON = 13.0


class RunningTotals(ProcessorBase):
    """Adds each number to its key's total (changelog state), emits the total; chokes on 13 after it has
    already added it, as a bug half-way through a batch would."""

    def __init__(self) -> None:
        self.totals = ChangelogStore("totals")
        super().__init__("totals", [Source("toy_numbers", Codec(ToyNumber))], [self.totals])

    def on_batch(self, batch: Batch, context: Context) -> None:
        for number, _record in batch.items:
            total = (self.totals.get(batch.partition, number.key) or 0.0) + number.value
            self.totals.set(batch.partition, number.key, total)
            if number.value == POISON:
                raise ValueError("unlucky number")
            context.emit("toy_products", ToyNumber(key=number.key, value=total, event_time=number.event_time))

    def on_assigned(self, partitions: list[int]) -> None:
        for partition in partitions:
            if partition not in self.totals.partitions:
                self.totals.open_partition(partition)


@pytest.mark.parametrize("guarantee", ["exactly-once", "at-least-once"])
def test_a_half_applied_batch_rolls_back_and_only_the_bad_record_is_dead_lettered(
    topics: Settings, guarantee: str
) -> None:
    with registered(TOY):
        from streaming.kafka import ensure_topics, make_admin

        admin = make_admin(topics, topics.kafka.bootstrap_servers or "")
        try:
            ensure_topics(admin, topics, only=["toy_numbers", "toy_products"])
        finally:
            admin.close()
        values = [float(v) for v in range(1, 30)]
        numbers = [
            ToyNumber(key="k", value=value, event_time=T0 + index) for index, value in enumerate(values)
        ]
        produce(topics, topics.topic_name("toy_numbers"), [(b"k", encode(number)) for number in numbers])
        app = Application(
            topics, service=f"rollback-{guarantee}", group_id=f"rollback-{guarantee}", guarantee=guarantee
        )
        app.add(RunningTotals())
        summary = app.run(idle_exit_seconds=3.0, duration=90)
        outputs = read_all(topics, topics.topic_name("toy_products"), idle_seconds=2.0)
        letters = read_all(topics, topics.topic_name("dead_letters"), idle_seconds=1.0)
    totals = [msgspec.json.decode(record.value, type=ToyNumber).value for record in outputs]
    expected, running = [], 0.0
    for value in values:
        if value == POISON:
            continue
        running += value
        expected.append(running)
    if guarantee == "exactly-once":
        assert totals == expected, "committed totals count the bad record, or count some record twice"
    else:
        # At-least-once may repeat outputs, but never a total that includes the bad record.
        assert sorted(set(totals)) == sorted(set(expected))
    decoded = [msgspec.json.decode(record.value, type=DeadLetter) for record in letters]
    assert [letter.reason for letter in decoded] == ["processing_error"]
    assert msgspec.json.decode(decoded[0].original_value or b"", type=ToyNumber).value == POISON
    assert summary.dead_letters == 1
