"""The command line is built from declarations: every command's --help works, options common to all may
come before the last word, and a user mistake is a message, not a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from streaming.cli.main import build_parser, commands, main
from streaming.services import registry


@pytest.mark.parametrize("path", [command.path for command in commands()], ids=lambda path: " ".join(path))
def test_every_command_has_a_working_help(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([*path, "--help"])
    assert exited.value.code == 0
    assert f"usage: streaming {' '.join(path)}" in capsys.readouterr().out


def test_the_top_level_help_lists_every_group_and_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    shown = capsys.readouterr().out
    for command in commands():
        assert command.path[0] in shown


def test_common_options_may_come_before_the_service_name() -> None:
    parsed = build_parser().parse_args(["consume", "--bootstrap", "h:9092", "fraud", "--topic-prefix", "p."])
    assert parsed.bootstrap == "h:9092" and parsed.topic_prefix == "p."
    later = build_parser().parse_args(["consume", "fraud", "--bootstrap", "x:1"])
    assert later.bootstrap == "x:1"


def test_every_service_command_is_registered_once() -> None:
    paths = [command.path for command in commands()]
    assert len(paths) == len(set(paths))
    assert {("consume", "fraud"), ("consume", "windows"), ("produce", "sensors"), ("evaluate",)} <= set(paths)
    assert set(registry().commands) <= set(paths)


def test_no_command_prints_help_and_returns_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: streaming" in capsys.readouterr().out


def test_an_unknown_service_to_reset_is_a_message_not_a_traceback() -> None:
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "streaming.cli.main",
            "state",
            "reset",
            "--service",
            "nope",
            "--bootstrap",
            "127.0.0.1:1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 2
    assert "no service named 'nope'" in finished.stderr and "Traceback" not in finished.stderr
