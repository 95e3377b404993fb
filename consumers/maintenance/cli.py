"""`streaming consume maintenance`: its options, and running it."""

from __future__ import annotations

import argparse

from consumers.learning.service_cli import add_scoring_arguments, run_scoring


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_scoring_arguments(parser, "maintenance")


def run(args: argparse.Namespace) -> int:
    from consumers.maintenance.service import build

    return run_scoring(args, "maintenance", build)
