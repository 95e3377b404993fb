"""Broker selection for the whole suite, and per-test isolation by topic prefix.

Which broker the suite uses, in this order:
1. `KAFKA_BOOTSTRAP_SERVERS`: an external cluster;
2. a testcontainers Kafka (KRaft) when a Docker daemon answers;
3. the embedded local broker, started on demand (and stopped at the end if this session started it).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import uuid
from collections.abc import Iterator

import pytest

from streaming.config import Settings
from tests.support.brokers import BrokerHandle, select_broker


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[BrokerHandle]:
    handle = select_broker()
    try:
        yield handle
    finally:
        handle.close()


#: The prefixes `topic_prefix` hands out; topics of earlier sessions with one are deleted at start.
TEST_PREFIX = re.compile(r"^t[0-9a-f]{10}\.")

log = logging.getLogger(__name__)


#: How long a test's teardown waits for its topics to go. Deleting is best-effort housekeeping: a broker
#: that is slow to answer (a loaded CI machine, a broker a test just killed) must not fail the test that
#: owned the topics, and whatever is left is swept by the next session's `TEST_PREFIX` pass.
CLEANUP_WAIT_SECONDS = 15.0


def delete_topics_with_prefix(
    bootstrap: str, prefix: str | re.Pattern[str], wait: float | None = None
) -> None:
    """A test's topics go when it ends: every test makes a catalog of its own, and a broker holding tens of
    thousands of partitions runs out of file descriptors (which fails whatever test runs then).

    With `wait`, the deletion runs in a daemon thread and this returns after at most `wait` seconds."""
    if wait is None:
        _delete_topics_with_prefix(bootstrap, prefix)
        return
    worker = threading.Thread(
        target=_delete_topics_with_prefix,
        args=(bootstrap, prefix),
        name=f"delete-topics-{prefix}",
        daemon=True,
    )
    worker.start()
    worker.join(wait)
    if worker.is_alive():
        log.warning(
            "the topics of %s are still being deleted after %.0f s; left to finish on their own", prefix, wait
        )


def _delete_topics_with_prefix(bootstrap: str, prefix: str | re.Pattern[str]) -> None:
    from streaming.kafka import delete_topics, make_admin

    settings = Settings(kafka={"bootstrap_servers": bootstrap})
    try:
        admin = make_admin(settings, bootstrap)
    except Exception as error:  # the broker may be one a test just killed
        log.warning("cannot delete the topics of %s: %s", prefix, error)
        return
    try:
        names = list(admin.list_topics())
        if isinstance(prefix, str):
            doomed = [name for name in names if name.startswith(prefix)]
        else:
            doomed = [name for name in names if prefix.match(name)]
        for start in range(0, len(doomed), 500):
            delete_topics(admin, doomed[start : start + 500])
    except Exception as error:
        log.warning("cannot delete the topics of %s: %s", prefix, error)
    finally:
        admin.close()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: BrokerHandle) -> str:
    delete_topics_with_prefix(kafka_broker.bootstrap, TEST_PREFIX)
    return kafka_broker.bootstrap


@pytest.fixture
def topic_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}."


@pytest.fixture
def settings(kafka_bootstrap: str, topic_prefix: str, tmp_path: os.PathLike[str]) -> Iterator[Settings]:
    """Settings bound to the session's broker, with a topic prefix of this test's own (its topics are
    deleted when the test ends)."""
    yield Settings(
        kafka={"bootstrap_servers": kafka_bootstrap},
        topics={"prefix": topic_prefix},
        processing={"state_dir": str(tmp_path) + "/state", "commit_interval_ms": 100},
    )
    delete_topics_with_prefix(kafka_bootstrap, topic_prefix, wait=CLEANUP_WAIT_SECONDS)


@pytest.fixture
def topics(settings: Settings) -> Settings:
    """`settings`, with every catalog topic created."""
    from streaming.kafka import ensure_topics, make_admin

    admin = make_admin(settings, settings.kafka.bootstrap_servers or "")
    try:
        ensure_topics(admin, settings)
    finally:
        admin.close()
    return settings
