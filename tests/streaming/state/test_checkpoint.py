"""Checkpoints are stable across class moves, refuse what they cannot use with a message naming the file
and the fix, and the previous release's files are refused rather than skipped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from consumers.fraud.scorer import FraudScorer
from consumers.fraud.settings import FraudSettings
from consumers.learning.synthetic import FraudStream
from contracts import Label
from streaming.state import CheckpointError, CheckpointStore, UnstableStateError
from streaming.state import stable as stable_module
from streaming.state.stable import stable

FIXTURES = Path(__file__).parent / "fixtures"
RESET = "streaming state reset --service fraud"


def _fed_scorer(events: int = 60) -> tuple[FraudScorer, list[object]]:
    scorer = FraudScorer(FraudSettings(challenger=None), export=False)
    stream = list(FraudStream(seed=1, cards=20).events(events + 20))
    for event in stream[:events]:
        if isinstance(event, Label):
            scorer.on_label(event)
        else:
            scorer.score(event)
    return scorer, stream[events:]


def _scores(scorer: FraudScorer, events: list[object]) -> list[float]:
    return [scorer.score(event).score for event in events if not isinstance(event, Label)]


def test_a_checkpoint_round_trips_with_its_offsets_and_library_versions(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path, reset_hint=RESET)
    scorer, rest = _fed_scorer()
    store.save({("transactions", 3): 60}, {"scorer": scorer.snapshot()})
    checkpoint = store.latest()
    assert checkpoint is not None and checkpoint.offsets == {("transactions", 3): 60}
    assert {"python", "river", "numpy"} <= set(checkpoint.libraries)
    restored = FraudScorer(FraudSettings(challenger=None), export=False)
    restored.restore(checkpoint.snapshot["scorer"])
    assert _scores(restored, rest) == _scores(scorer, rest)


def test_the_checkpoint_of_this_release_keeps_restoring() -> None:
    """A file written by this release (committed): future releases must restore it, or refuse it clearly."""
    store = CheckpointStore(FIXTURES / "missing", reset_hint=RESET)
    checkpoint = store.path_for(1)
    data = (FIXTURES / "snapshot-3-checkpoint-00000001.ckpt").read_bytes()
    from streaming.state.checkpoint import decode_checkpoint

    restored_state = decode_checkpoint(data, checkpoint, store.fix)
    restored = FraudScorer(FraudSettings(challenger=None), export=False)
    restored.restore(restored_state.snapshot["scorer"])
    fresh, rest = _fed_scorer()
    assert restored_state.offsets == {("transactions", 0): 60}
    assert _scores(restored, rest) == _scores(fresh, rest)


def test_a_checkpoint_of_older_model_state_is_refused_with_the_file_and_the_fix(tmp_path: Path) -> None:
    """The scorer's state of 2026-12-01 (same file format, an older monitor): refused, naming the fix."""
    shutil.copy(FIXTURES / "format-2-checkpoint-00000001.ckpt", tmp_path / "checkpoint-00000001.ckpt")
    store = CheckpointStore(tmp_path, reset_hint=RESET)
    with pytest.raises(CheckpointError) as refused:
        store.latest()
    message = str(refused.value)
    assert str(tmp_path / "checkpoint-00000001.ckpt") in message and RESET in message


def test_the_previous_release_checkpoint_is_refused_with_the_file_and_the_fix(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "previous-release-checkpoint-00000001.pkl", tmp_path / "checkpoint-00000001.pkl")
    store = CheckpointStore(tmp_path, reset_hint=RESET)
    with pytest.raises(CheckpointError) as refused:
        store.latest()
    message = str(refused.value)
    assert str(tmp_path / "checkpoint-00000001.pkl") in message
    assert "earlier release" in message and RESET in message


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda data: data[: len(data) // 2], "corrupt"),
        (lambda data: data[:-5] + bytes([data[-5] ^ 1]) + data[-4:], "corrupt"),
        (lambda data: b"not a checkpoint at all" * 4, "not a checkpoint"),
        (lambda data: b"", "truncated"),
    ],
)
def test_a_damaged_checkpoint_stops_the_service_instead_of_falling_back(
    tmp_path: Path, damage: object, reason: str
) -> None:
    store = CheckpointStore(tmp_path, reset_hint=RESET)
    store.save({("t", 0): 1}, {"state": 1})
    store.save({("t", 0): 2}, {"state": 2})
    path = store.path_for(2)
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    with pytest.raises(CheckpointError, match=reason) as refused:
        store.latest()
    assert str(path) in str(refused.value) and RESET in str(refused.value)


def test_an_unregistered_class_of_the_project_cannot_be_checkpointed() -> None:
    class NotRegistered:
        pass

    NotRegistered.__module__ = "consumers.somewhere"
    with pytest.raises(UnstableStateError, match=r"consumers\.somewhere"):
        stable_module.dumps({"x": NotRegistered()})


def test_a_class_that_moved_still_restores_under_its_stable_id() -> None:
    @stable("test.moving/1")
    class Before:
        def __init__(self) -> None:
            self.value = 41

    data = stable_module.dumps(Before())

    class After:  # the same class, defined somewhere else after a refactoring
        value: int

    del stable_module._TYPES["test.moving/1"]  # in a new release only the moved class exists
    stable_module.register(After, "test.moving/1")
    restored = stable_module.loads(data)
    assert isinstance(restored, After) and restored.value == 41


def test_a_type_this_release_does_not_know_is_refused(tmp_path: Path) -> None:
    @stable("test.retired/1")
    class Retired:
        pass

    store = CheckpointStore(tmp_path, reset_hint=RESET)
    store.save({}, {"old": Retired()})
    del stable_module._TYPES["test.retired/1"]
    with pytest.raises(CheckpointError, match=r"test\.retired/1"):
        store.latest()


def test_a_failed_background_checkpoint_reports_its_reason(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)

    def broken() -> object:
        raise RuntimeError("disk on fire")

    assert store.save_in_background({("t", 0): 1}, broken)
    with pytest.raises(CheckpointError, match="disk on fire"):
        store.finished(wait=True)
    assert store.latest() is None
