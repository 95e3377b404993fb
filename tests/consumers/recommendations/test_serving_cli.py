"""`streaming redis start|stop|status` and `streaming serve recommendations` handlers, run the way the CLI
runs them."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from consumers.recommendations.serving_cli import (
    add_redis_arguments,
    add_serve_arguments,
    run_redis,
    run_serve,
)
from tests.consumers.recommendations.support import CovisitationRecommender, free_port

LOADER = "tests.consumers.recommendations.support:load_recommender"


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


def _serve_arguments(*words: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    return parser.parse_args(list(words))


def test_serve_with_an_unknown_loader_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_serve(_serve_arguments("--artifacts", str(tmp_path), "--loader", "no.such:loader")) == 2
    error = capsys.readouterr().err
    assert "not installed" in error and len(error.strip().splitlines()) == 1


def test_serve_runs_in_the_foreground_and_stops_on_sigint(
    tmp_path: Path, redis_url: str, recommender: CovisitationRecommender
) -> None:
    recommender.save(tmp_path / "artifacts")
    port = free_port()
    script = (
        "import sys; from consumers.recommendations.serving_cli import add_serve_arguments, run_serve; "
        "import argparse; parser = argparse.ArgumentParser(); add_serve_arguments(parser); "
        "sys.exit(run_serve(parser.parse_args(sys.argv[1:])))"
    )
    arguments = [
        "--artifacts",
        str(tmp_path / "artifacts"),
        "--loader",
        LOADER,
        "--port",
        str(port),
        "--redis-url",
        redis_url,
        "--bootstrap",
        f"127.0.0.1:{free_port()}",
    ]
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", script, *arguments],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).resolve().parents[3],
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/recommendations/c-00001", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the API did not answer within 60 s"
                time.sleep(0.1)
        assert response.status_code == 200 and response.json()["items"]
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert "process_cpu_seconds_total" in metrics  # the global registry, with process metrics
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
