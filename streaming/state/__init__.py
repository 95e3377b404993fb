"""State: per-partition changelog stores, whole-service file checkpoints, and the stable pickling both use
for the project's own classes."""

from streaming.state.changelog import ChangelogStore
from streaming.state.checkpoint import Checkpoint, CheckpointError, CheckpointStore
from streaming.state.stable import UnstableStateError

__all__ = [
    "ChangelogStore",
    "Checkpoint",
    "CheckpointError",
    "CheckpointStore",
    "UnstableStateError",
]
