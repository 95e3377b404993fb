"""`streaming redis start|stop|status` handlers, run the way the CLI runs them."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from consumers.recommendations.cli import add_redis_arguments, run_redis
from tests.recommendations.support import free_port


def _run(*words: str) -> int:
    parser = argparse.ArgumentParser()
    add_redis_arguments(parser)
    return run_redis(parser.parse_args(list(words)))


def test_start_status_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # the data directory defaults under ~/.cache
    port = str(free_port())
    try:
        assert _run("start", "--port", port, "--maxmemory", "32mb") == 0
        assert capsys.readouterr().out.strip() == f"redis://127.0.0.1:{port}/0"
        assert _run("status", "--port", port) == 0
        assert "maxmemory=33554432" in capsys.readouterr().out
    finally:
        assert _run("stop", "--port", port) == 0
    assert "stopped" in capsys.readouterr().out
    assert _run("status", "--port", port) == 3


def test_a_bad_memory_size_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _run("start", "--maxmemory", "lots")
    assert exit_info.value.code == 2
    assert "not a memory size" in capsys.readouterr().err
