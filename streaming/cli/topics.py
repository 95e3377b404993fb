"""`streaming topics create|list`: the topic catalog."""

from __future__ import annotations

import argparse

from rich.table import Table

from streaming.cli.common import add_common_options, bootstrap_for, settings_from_args
from streaming.console import console
from streaming.kafka import ensure_topics, make_admin, topic_specs


def add_create_arguments(create: argparse.ArgumentParser) -> None:
    add_common_options(create)
    create.add_argument(
        "--partitions", type=int, help="partitions for new topics (default: topics.partitions)"
    )


def add_list_arguments(listing: argparse.ArgumentParser) -> None:
    add_common_options(listing)


def create(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if args.partitions:
        settings = settings.model_copy(
            update={"topics": settings.topics.model_copy(update={"partitions": args.partitions})}
        )
    admin = make_admin(settings, bootstrap_for(settings))
    try:
        outcome = ensure_topics(admin, settings)
    finally:
        admin.close()
    for name, state in outcome.items():
        print(f"{state:8} {name}")
    return 0


def list_topics(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    admin = make_admin(settings, bootstrap_for(settings))
    try:
        existing = set(admin.list_topics())
    finally:
        admin.close()
    table = Table(title="topic catalog")
    for column in ("topic", "exists", "key", "cleanup", "retention per partition", "description"):
        table.add_column(column)
    for name, spec in topic_specs(settings).items():
        table.add_row(
            name,
            "yes" if name in existing else "no",
            spec.key,
            spec.cleanup_policy,
            f"{spec.retention_bytes / 2**20:,.0f} MiB",
            spec.description,
        )
    console.print(table)
    return 0
