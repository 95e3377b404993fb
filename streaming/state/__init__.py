"""State: Kafka-backed changelog stores for partitioned state, file checkpoints for whole-service state."""

from streaming.state.changelog import ChangelogStore
from streaming.state.checkpoint import Checkpoint, CheckpointStore

__all__ = ["ChangelogStore", "Checkpoint", "CheckpointStore"]
