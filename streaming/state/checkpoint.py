"""File checkpoints of a service's whole state together with the input offsets it reflects.

Each checkpoint is a new, versioned file written atomically (temporary file, fsync, rename), so a crash
mid-write leaves the previous checkpoint intact. Restoring the newest one and replaying from its offsets
reproduces the same outputs, provided the service itself is deterministic.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_NAME = re.compile(r"^checkpoint-(\d{8})\.pkl$")


@dataclass
class Checkpoint:
    """One saved state: `offsets` maps (topic, partition) to the next offset to read."""

    version: int
    offsets: dict[tuple[str, int], int]
    snapshot: Any
    created_at: float = field(default_factory=time.time)
    metadata: dict[str, Any] = field(default_factory=dict)


class CheckpointStore:
    """A directory of versioned checkpoints; the newest `keep` are kept.

    >>> import tempfile
    >>> store = CheckpointStore(tempfile.mkdtemp(), keep=2)
    >>> store.save({("transactions", 0): 42}, {"model": "weights"}).version
    1
    >>> store.latest().offsets
    {('transactions', 0): 42}
    """

    def __init__(
        self, directory: str | Path, interval_seconds: float = 30.0, keep: int = 3, background: bool = True
    ) -> None:
        self.directory = Path(directory)
        self.interval_seconds = interval_seconds
        self.keep = keep
        self.background = background and hasattr(os, "fork")
        self._child: tuple[int, dict[tuple[str, int], int]] | None = None

    def versions(self) -> list[int]:
        if not self.directory.is_dir():
            return []
        found = (_NAME.match(path.name) for path in self.directory.iterdir())
        return sorted(int(match.group(1)) for match in found if match)

    def path_for(self, version: int) -> Path:
        return self.directory / f"checkpoint-{version:08d}.pkl"

    def latest(self) -> Checkpoint | None:
        for version in reversed(self.versions()):
            try:
                with self.path_for(version).open("rb") as handle:
                    checkpoint: Checkpoint = pickle.load(handle)
                return checkpoint
            except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ModuleNotFoundError):
                # A torn or incompatible file: fall back to the previous version rather than fail.
                continue
        return None

    def save(
        self, offsets: dict[tuple[str, int], int], snapshot: Any, metadata: dict[str, Any] | None = None
    ) -> Checkpoint:
        self.directory.mkdir(parents=True, exist_ok=True)
        versions = self.versions()
        checkpoint = Checkpoint(
            version=(versions[-1] + 1) if versions else 1,
            offsets=dict(offsets),
            snapshot=snapshot,
            metadata=dict(metadata or {}),
        )
        target = self.path_for(checkpoint.version)
        temporary = target.with_suffix(".tmp")
        with temporary.open("wb") as handle:
            pickle.dump(checkpoint, handle, protocol=pickle.HIGHEST_PROTOCOL)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        directory_handle = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory_handle)
        finally:
            os.close(directory_handle)
        for old in versions[: max(0, len(versions) + 1 - self.keep)]:
            self.path_for(old).unlink(missing_ok=True)
        return checkpoint

    # Background checkpoints --------------------------------------------------------------------------

    def save_in_background(
        self,
        offsets: dict[tuple[str, int], int],
        snapshot: Callable[[], Any],
        metadata: dict[str, Any] | None = None,
    ) -> bool:
        """Pickle and write the state in a forked child, so a large model never pauses the caller.

        The child sees a copy-on-write image of memory frozen at the fork, which is exactly a consistent
        snapshot at `offsets`. Returns False (and does nothing) while the previous one is still being written.
        Call `finished()` regularly to learn which offsets are safely saved.
        """
        if self._child is not None:
            return False
        self.directory.mkdir(parents=True, exist_ok=True)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, reported through its exit status
            status = 1
            try:
                self.save(offsets, snapshot(), metadata)
                status = 0
            except BaseException:
                log.exception("background checkpoint failed")
            finally:
                # Skip atexit handlers and finalizers: they belong to the parent (Kafka clients, servers).
                os._exit(status)
        self._child = (pid, dict(offsets))
        return True

    def finished(self, wait: bool = False) -> dict[tuple[str, int], int] | None:
        """The offsets of a background checkpoint that completed since the last call, if any."""
        if self._child is None:
            return None
        pid, offsets = self._child
        waited, status = os.waitpid(pid, 0 if wait else os.WNOHANG)
        if waited == 0:
            return None
        self._child = None
        if os.waitstatus_to_exitcode(status) != 0:
            log.error("background checkpoint (pid %d) failed; the previous checkpoint stays current", pid)
            return None
        return offsets

    @property
    def writing(self) -> bool:
        return self._child is not None
