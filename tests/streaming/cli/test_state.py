"""A scoring service never starts cold while its group has committed offsets; `streaming state reset` is
the explicit way to start it from scratch, and rewinds its group."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from consumers.learning.synthetic import FraudStream
from contracts import Transaction
from streaming.config import Settings
from streaming.schemas import encode
from tests.services_support import ROOT
from tests.support.kafka import produce

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _streaming(settings: Settings, env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "streaming.cli.main", *arguments,
        "--bootstrap", settings.kafka.bootstrap_servers or "", "--topic-prefix", settings.topics.prefix,
    ]  # fmt: skip
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)


def test_a_lost_checkpoint_is_refused_until_an_explicit_reset(topics: Settings, tmp_path: Path) -> None:
    transactions = [
        event for event in FraudStream(seed=3, cards=50).events(300) if isinstance(event, Transaction)
    ]
    produce(
        topics, topics.topic_name("transactions"), [(t.card_id.encode(), encode(t)) for t in transactions]
    )
    checkpoints = tmp_path / "fraud-checkpoints"
    env = {**os.environ, "STREAMING_FRAUD__CHECKPOINT_DIR": str(checkpoints)}
    run = ("consume", "fraud", "--idle-exit", "4", "--duration", "120", "--no-metrics")

    first = _streaming(topics, env, *run)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"{len(transactions)} scored" in first.stdout
    assert list(checkpoints.glob("checkpoint-*.ckpt"))

    shutil.move(str(checkpoints), str(tmp_path / "lost"))
    refused = _streaming(topics, env, *run)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "no checkpoint" in refused.stderr and "streaming state reset --service fraud" in refused.stderr
    assert "Traceback" not in refused.stderr

    reset = _streaming(topics, env, "state", "reset", "--service", "fraud")
    assert reset.returncode == 0, reset.stdout + reset.stderr
    assert "rewind" in reset.stdout

    again = _streaming(topics, env, *run)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{len(transactions)} scored" in again.stdout, "after the reset it starts from the beginning"
