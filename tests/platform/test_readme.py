"""The README's quick start and configuration table say what the code does."""

from __future__ import annotations

from pathlib import Path

from streaming.config.reference import END_MARKER, START_MARKER, settings_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_configuration_table_matches_the_settings() -> None:
    text = README.read_text()
    table = text.split(START_MARKER)[1].split(END_MARKER)[0].strip()
    assert table == settings_table(), "run: streaming config table, and paste it between the README markers"


def test_quick_start_is_the_two_commands() -> None:
    quick_start = README.read_text().split("## Quick start")[1].split("\n## ")[0]
    commands = [line.split("#")[0].strip() for line in quick_start.split("```")[1].strip().splitlines()]
    assert commands == ["make demo", "make test"]
    for prerequisite in ("Python 3.11", "Java 17", "Maven"):
        assert prerequisite in quick_start
