"""File checkpoints of a service's whole state together with the input offsets it reflects.

Each checkpoint is a new, numbered file written atomically (temporary file, fsync, rename), so a crash
mid-write leaves the previous checkpoint intact. Restoring the newest one and replaying from its offsets
reproduces the same outputs, provided the service itself is deterministic.

The file is self-describing and checked: a magic string and format version, a JSON header (service, the
state's own version, offsets, when it was written, the versions of the libraries whose objects it holds),
the state written with `streaming.state.stable` (so moving a class does not break it), and a CRC32 of
everything before it. A file that is corrupt, from an earlier release, or holds types this release does
not know is refused with `CheckpointError`, naming the file and the fix. A service never silently starts
cold: that would throw away what its models learned while the group's offsets say it was all processed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import re
import signal
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from streaming.state import stable

log = logging.getLogger(__name__)

MAGIC = b"STRMCKPT"
FORMAT_VERSION = 2
_NAME = re.compile(r"^checkpoint-(\d{8})\.ckpt$")
#: What the release before format 2 wrote: a plain pickle, tied to module paths.
_LEGACY_NAME = re.compile(r"^checkpoint-(\d{8})\.pkl$")
_HEADER = struct.Struct(">8sHI")
_TRAILER = struct.Struct(">I")
LIBRARIES: tuple[str, ...] = ("river", "numpy", "scikit-learn")


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used. The message names the file and what to do about it."""


@dataclass
class Checkpoint:
    """One saved state: `offsets` maps (topic, partition) to the next offset to read."""

    version: int
    offsets: dict[tuple[str, int], int]
    snapshot: Any
    created_at: float = field(default_factory=time.time)
    metadata: dict[str, Any] = field(default_factory=dict)
    libraries: dict[str, str] = field(default_factory=dict)


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def encode_checkpoint(checkpoint: Checkpoint) -> bytes:
    """The bytes of a checkpoint file."""
    header = {
        "version": checkpoint.version,
        "offsets": [
            [topic, partition, offset] for (topic, partition), offset in sorted(checkpoint.offsets.items())
        ],
        "created_at": checkpoint.created_at,
        "metadata": checkpoint.metadata,
        "libraries": checkpoint.libraries or library_versions(),
    }
    header_bytes = json.dumps(header, sort_keys=True).encode()
    body = (
        _HEADER.pack(MAGIC, FORMAT_VERSION, len(header_bytes))
        + header_bytes
        + stable.dumps(checkpoint.snapshot)
    )
    return body + _TRAILER.pack(zlib.crc32(body))


def decode_checkpoint(data: bytes, path: Path, fix: str) -> Checkpoint:
    """A checkpoint from its file's bytes, or `CheckpointError` saying why not and how to go on."""
    if len(data) < _HEADER.size + _TRAILER.size:
        raise CheckpointError(f"checkpoint {path} is truncated ({len(data)} bytes). {fix}")
    magic, version, header_length = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise CheckpointError(f"{path} is not a checkpoint file. {fix}")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format {version}; this release reads format {FORMAT_VERSION}. {fix}"
        )
    (expected,) = _TRAILER.unpack_from(data, len(data) - _TRAILER.size)
    if zlib.crc32(data[: -_TRAILER.size]) != expected:
        raise CheckpointError(f"checkpoint {path} is corrupt (checksum mismatch). {fix}")
    start = _HEADER.size
    try:
        header = json.loads(data[start : start + header_length])
        snapshot = stable.loads(data[start + header_length : -_TRAILER.size])
    except stable.UnknownStateType as error:
        raise CheckpointError(
            f"checkpoint {path} cannot be restored by this release: {error}. {fix}"
        ) from error
    except Exception as error:
        raise CheckpointError(
            f"checkpoint {path} is unreadable ({type(error).__name__}: {error}). {fix}"
        ) from error
    return Checkpoint(
        version=int(header["version"]),
        offsets={(topic, int(partition)): int(offset) for topic, partition, offset in header["offsets"]},
        snapshot=snapshot,
        created_at=float(header["created_at"]),
        metadata=dict(header.get("metadata", {})),
        libraries=dict(header.get("libraries", {})),
    )


class CheckpointStore:
    """A directory of numbered checkpoints; the newest `keep` are kept.

    Parameters
    ----------
    directory
        Where the files go (one directory per service and group).
    interval_seconds
        How often the consume loop checkpoints, in wall seconds.
    keep
        How many files to keep.
    background
        Write in a forked child, so a large model never pauses the service.
    reset_hint
        The command that resets this state, quoted in every refusal (e.g. `streaming state reset
        --service downsampler`).

    >>> import tempfile
    >>> store = CheckpointStore(tempfile.mkdtemp(), keep=2)
    >>> store.save({("transactions", 0): 42}, {"model": "weights"}).version
    1
    >>> store.latest().offsets
    {('transactions', 0): 42}
    """

    def __init__(
        self,
        directory: str | Path,
        interval_seconds: float = 30.0,
        keep: int = 3,
        background: bool = True,
        reset_hint: str = "streaming state reset --service <name>",
    ) -> None:
        self.directory = Path(directory)
        self.interval_seconds = interval_seconds
        self.keep = keep
        self.background = background and hasattr(os, "fork")
        self.reset_hint = reset_hint
        self._child: tuple[int, dict[tuple[str, int], int]] | None = None

    @property
    def fix(self) -> str:
        return (
            f"To start this service from scratch (its models start cold and its group is rewound to the "
            f"beginning of its inputs), run `{self.reset_hint}`; or restore a good checkpoint into "
            f"{self.directory}."
        )

    def versions(self) -> list[int]:
        return self._numbers(_NAME)

    def _numbers(self, pattern: re.Pattern[str]) -> list[int]:
        if not self.directory.is_dir():
            return []
        found = (pattern.match(path.name) for path in self.directory.iterdir())
        return sorted(int(match.group(1)) for match in found if match)

    def path_for(self, version: int) -> Path:
        return self.directory / f"checkpoint-{version:08d}.ckpt"

    def latest(self) -> Checkpoint | None:
        """The newest checkpoint; None when there is none at all. Anything unusable raises
        `CheckpointError`."""
        versions = self.versions()
        legacy = self._numbers(_LEGACY_NAME)
        if legacy and (not versions or max(legacy) >= max(versions)):
            newest = self.directory / f"checkpoint-{max(legacy):08d}.pkl"
            raise CheckpointError(
                f"checkpoint {newest} was written by an earlier release, in a format tied to its module "
                f"paths, which this release cannot read. {self.fix}"
            )
        if not versions:
            return None
        path = self.path_for(versions[-1])
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CheckpointError(f"checkpoint {path} cannot be read: {error}. {self.fix}") from error
        return decode_checkpoint(data, path, self.fix)

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
            libraries=library_versions(),
        )
        data = encode_checkpoint(checkpoint)
        target = self.path_for(checkpoint.version)
        temporary = target.with_suffix(".tmp")
        with temporary.open("wb") as handle:
            handle.write(data)
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
        self.reset_file.unlink(missing_ok=True)
        return checkpoint

    @property
    def reset_file(self) -> Path:
        return self.directory / "reset-acknowledged.json"

    def acknowledge_reset(self, note: dict[str, Any]) -> None:
        """Record that starting without a checkpoint is wanted (`streaming state reset` did it), until the
        next checkpoint is written."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.reset_file.write_text(json.dumps(note, sort_keys=True))

    @property
    def reset_acknowledged(self) -> bool:
        return self.reset_file.is_file()

    def clear(self, backup: Path | None = None) -> list[Path]:
        """Move every checkpoint (current and legacy) into `backup` (or delete them). Returns what moved."""
        if not self.directory.is_dir():
            return []
        moved = []
        for path in sorted(self.directory.iterdir()):
            if not (_NAME.match(path.name) or _LEGACY_NAME.match(path.name) or path.suffix == ".tmp"):
                continue
            if backup is None:
                path.unlink()
            else:
                backup.mkdir(parents=True, exist_ok=True)
                path.rename(backup / path.name)
            moved.append(path)
        return moved

    # Background checkpoints --------------------------------------------------------------------------

    def save_in_background(
        self,
        offsets: dict[tuple[str, int], int],
        snapshot: Callable[[], Any],
        metadata: dict[str, Any] | None = None,
    ) -> bool:
        """Write the state in a forked child, so a large model never pauses the caller.

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
            except BaseException as error:
                with contextlib.suppress(OSError):
                    self.error_file.write_text(f"{type(error).__name__}: {error}")
            finally:
                # Skip atexit handlers and finalizers: they belong to the parent (Kafka clients, servers).
                os._exit(status)
        self._child = (pid, dict(offsets))
        return True

    def finished(
        self, wait: bool = False, timeout_seconds: float = 120.0
    ) -> dict[tuple[str, int], int] | None:
        """The offsets of a background checkpoint that completed since the last call, if any.

        A child that failed raises `CheckpointError` with its reason; the previous checkpoint stays
        current. With `wait`, a child still writing after `timeout_seconds` is killed (a fork can inherit a
        lock another thread held) and reported as failed."""
        if self._child is None:
            return None
        pid, offsets = self._child
        deadline = time.monotonic() + timeout_seconds
        while True:
            waited, status = os.waitpid(pid, os.WNOHANG)
            if waited != 0 or not wait:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                self._child = None
                raise CheckpointError(
                    f"a checkpoint into {self.directory} took over {timeout_seconds:.0f} s; stopped it"
                )
            time.sleep(0.01)
        if waited == 0:
            return None
        self._child = None
        if os.waitstatus_to_exitcode(status) != 0:
            reason = "no reason recorded"
            with contextlib.suppress(OSError):
                reason = self.error_file.read_text()
                self.error_file.unlink()
            raise CheckpointError(f"writing a checkpoint into {self.directory} failed: {reason}")
        return offsets

    @property
    def error_file(self) -> Path:
        return self.directory / "last-error.txt"

    @property
    def writing(self) -> bool:
        return self._child is not None
