"""`streaming consume fraud`: its options, and running it."""

from __future__ import annotations

import argparse

from consumers.learning.service_cli import add_scoring_arguments, run_scoring


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_scoring_arguments(parser, "fraud")


def run(args: argparse.Namespace) -> int:
    from consumers.fraud.service import build

    return run_scoring(args, "fraud", build)
