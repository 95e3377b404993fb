"""Run `streaming` CLI services as real subprocesses, the way operators do, and watch a group's progress."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from streaming.config import Settings
from streaming.kafka import make_admin


def start_cli(
    arguments: list[str], log_path: Path, environment: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    env = {**os.environ, **(environment or {})}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)  # the test passes --bootstrap explicitly
    handle = log_path.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "streaming.cli.main", *arguments],
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )


def committed_total(settings: Settings, group_id: str, topic: str, partitions: set[int] | None = None) -> int:
    """Sum of the group's committed offsets on a topic, or on some of its partitions (0 when none yet)."""
    admin = make_admin(settings, settings.kafka.bootstrap_servers or "")
    try:
        offsets = admin.list_group_offsets(group_id).get(group_id, {})
    except Exception:
        return 0
    finally:
        admin.close()
    return sum(
        meta.offset
        for tp, meta in offsets.items()
        if tp.topic == topic and meta.offset >= 0 and (partitions is None or tp.partition in partitions)
    )


def wait_for_commits(
    settings: Settings,
    group_id: str,
    topic: str,
    at_least: int,
    timeout_seconds: float = 60.0,
    partitions: set[int] | None = None,
) -> int:
    deadline = time.monotonic() + timeout_seconds
    total = 0
    while time.monotonic() < deadline:
        total = committed_total(settings, group_id, topic, partitions)
        if total >= at_least:
            return total
        time.sleep(0.1)
    raise TimeoutError(
        f"group {group_id} committed {total} of the {at_least} offsets of {topic} "
        f"awaited in {timeout_seconds:g} s"
    )


def stop(process: subprocess.Popen[bytes], timeout_seconds: float = 30.0) -> int:
    if process.poll() is None:
        process.terminate()
        try:
            return process.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait(timeout=timeout_seconds)


def wait_for_log(path: Path, text: str, timeout_seconds: float = 60.0) -> None:
    """Wait until a process's log contains `text`."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if path.is_file() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.1)
    content = path.read_text(errors="replace")[-2000:] if path.is_file() else "(no log)"
    raise TimeoutError(f"{path.name} never said {text!r}:\n{content}")


def condensed_log(path: Path, characters: int = 6000) -> str:
    """The end of a service's log with runs of the same message collapsed into one line and a count: a
    client retrying every 100 ms would otherwise fill the tail and hide what led to it."""
    if not path.is_file():
        return "(no log)"
    lines: list[str] = []
    previous, repeats = "", 0
    for line in path.read_text(errors="replace").splitlines():
        message = line[24:] if line[:4].isdigit() else line  # without the timestamp
        if message == previous:
            repeats += 1
            continue
        if repeats:
            lines.append(f"    [the line above {repeats} more times]")
        lines.append(line)
        previous, repeats = message, 0
    if repeats:
        lines.append(f"    [the line above {repeats} more times]")
    return "\n".join(lines)[-characters:]
