"""Child processes that are always stopped: SIGTERM, then SIGKILL after a timeout, whatever happened.

Each child runs in its own session (process group), so a Ctrl-C on the terminal reaches only the demo,
which then stops the children in order, and a child's own children are stopped with it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

import psutil


@dataclass
class ResourceUsage:
    """CPU seconds (user + system) and peak resident memory of one process tree, as last sampled."""

    cpu_seconds: float = 0.0
    peak_rss_bytes: int = 0


@dataclass
class ManagedProcess:
    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen[bytes]
    started_at: float = field(default_factory=time.time)
    usage: ResourceUsage = field(default_factory=ResourceUsage)
    stopped_by: str | None = None  # "exit", "SIGTERM" or "SIGKILL"
    _log_handle: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def sample_usage(self) -> ResourceUsage:
        """Refresh CPU time and peak RSS of the process and its children (while it runs)."""
        try:
            root = psutil.Process(self.pid)
            tree = [root, *root.children(recursive=True)]
            cpu = 0.0
            rss = 0
            for member in tree:
                with contextlib.suppress(psutil.Error):
                    times = member.cpu_times()
                    cpu += times.user + times.system
                    rss += member.memory_info().rss
        except psutil.Error:
            return self.usage
        self.usage.cpu_seconds = max(self.usage.cpu_seconds, cpu)
        self.usage.peak_rss_bytes = max(self.usage.peak_rss_bytes, rss)
        return self.usage

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class ProcessGroup:
    """Starts processes and guarantees they are gone when the block ends (or the interpreter exits).

    >>> import sys, tempfile
    >>> with ProcessGroup(Path(tempfile.mkdtemp())) as group:
    ...     child = group.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
    ...     child.running
    True
    >>> child.running, child.stopped_by
    (False, 'SIGTERM')
    """

    def __init__(self, log_dir: Path, stop_timeout_seconds: float = 15.0) -> None:
        self.log_dir = log_dir
        self.stop_timeout_seconds = stop_timeout_seconds
        self.processes: list[ManagedProcess] = []
        atexit.register(self.stop_all)

    def start(
        self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> ManagedProcess:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        handle = log_path.open("ab")
        process = subprocess.Popen(
            list(argv),
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
        managed = ManagedProcess(name, list(argv), log_path, process, _log_handle=handle)
        self.processes.append(managed)
        return managed

    def sample_usage(self) -> None:
        for managed in self.processes:
            if managed.running:
                managed.sample_usage()

    def stop_all(self) -> None:
        """SIGTERM every running child (newest first: consumers before producers), SIGKILL the stragglers."""
        running = [managed for managed in reversed(self.processes) if managed.running]
        for managed in running:
            managed.sample_usage()
            self._signal(managed, signal.SIGTERM)
            managed.stopped_by = "SIGTERM"
        deadline = time.monotonic() + self.stop_timeout_seconds
        for managed in running:
            try:
                managed.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(managed, signal.SIGKILL)
                managed.stopped_by = "SIGKILL"
                managed.process.wait(timeout=10)
        for managed in self.processes:
            # Whatever the child left behind in its own process group goes too.
            for pid in self._group_members(managed):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            if managed.stopped_by is None:
                managed.stopped_by = "exit"
            if managed._log_handle is not None:
                managed._log_handle.close()
                managed._log_handle = None

    @staticmethod
    def _signal(managed: ManagedProcess, signum: int) -> None:
        if not managed.running:
            return
        try:
            os.killpg(managed.pid, signum)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                managed.process.send_signal(signum)

    @staticmethod
    def _group_members(managed: ManagedProcess) -> list[int]:
        """Live processes in the group the child leads (its pid is the group id while any member lives)."""
        members = []
        for process in psutil.process_iter():
            with contextlib.suppress(psutil.Error, OSError):
                in_group = process.pid != os.getpid() and os.getpgid(process.pid) == managed.pid
                if in_group and process.status() != psutil.STATUS_ZOMBIE:
                    members.append(process.pid)
        return members

    def leftovers(self) -> list[int]:
        """Pids of started processes, or of members of their process groups, that still exist."""
        alive: set[int] = set()
        for managed in self.processes:
            if managed.running:
                alive.add(managed.pid)
            alive.update(self._group_members(managed))
        return sorted(alive)

    def __enter__(self) -> ProcessGroup:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop_all()
        atexit.unregister(self.stop_all)
