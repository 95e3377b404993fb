"""Children are always stopped: SIGTERM first, SIGKILL for those that ignore it, grandchildren too."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import psutil

from streaming.demo.processes import ProcessGroup

STUBBORN = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('up', flush=True); time.sleep(120)"
)
PARENT = (
    "import subprocess, sys, time; "
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
    "print('up', flush=True); time.sleep(120)"
)


def _wait_for_line(path: Path) -> None:
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if path.exists() and "up" in path.read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} never said up")


def test_sigterm_then_sigkill_and_no_leftovers(tmp_path: Path) -> None:
    group = ProcessGroup(tmp_path, stop_timeout_seconds=1.0)
    polite = group.start("polite", [sys.executable, "-c", "import time; time.sleep(120)"])
    stubborn = group.start("stubborn", [sys.executable, "-c", STUBBORN])
    parent = group.start("parent", [sys.executable, "-c", PARENT])
    _wait_for_line(stubborn.log_path)
    _wait_for_line(parent.log_path)
    grandchildren = [child.pid for child in psutil.Process(parent.pid).children()]
    assert grandchildren
    group.sample_usage()
    assert stubborn.usage.peak_rss_bytes > 0
    group.stop_all()
    assert polite.stopped_by == "SIGTERM" and not polite.running
    assert stubborn.stopped_by == "SIGKILL" and not stubborn.running
    assert group.leftovers() == []
    for pid in grandchildren:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_child_that_exits_on_its_own_is_recorded(tmp_path: Path) -> None:
    with ProcessGroup(tmp_path) as group:
        child = group.start("quick", [sys.executable, "-c", "raise SystemExit(3)"])
        child.process.wait(timeout=20)
    assert child.returncode == 3 and child.stopped_by == "exit"
    assert os.path.exists(child.log_path)
