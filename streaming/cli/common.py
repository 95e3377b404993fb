"""Options every subcommand shares, and turning them into settings and a broker address."""

from __future__ import annotations

import argparse
import logging
import os
import re

from streaming.config import Settings
from streaming.kafka.bootstrap import resolve_bootstrap, with_bootstrap
from streaming.kafka.io_stalls import install_io_stall_filter


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """--config, --bootstrap, --topic-prefix and --log-level. They may be given before the command's last
    word too (`streaming consume --bootstrap h:9092 windows`): unset, they leave no default behind that would
    hide a value given earlier."""
    group = parser.add_argument_group("common options")
    unset = argparse.SUPPRESS
    group.add_argument(
        "--config", default=unset, help="TOML settings file (default: $STREAMING_CONFIG or ./streaming.toml)"
    )
    group.add_argument(
        "--bootstrap",
        default=unset,
        help="Kafka bootstrap servers; default $KAFKA_BOOTSTRAP_SERVERS or local",
    )
    group.add_argument(
        "--topic-prefix", default=unset, help="Prefix for every topic name (settings: topics.prefix)"
    )
    group.add_argument("--log-level", default=unset, help="DEBUG, INFO, WARNING or ERROR")


def add_run_options(parser: argparse.ArgumentParser, service: str) -> None:
    """Options every long-running service shares: bounded runs, the instance id, the metrics endpoint."""
    group = parser.add_argument_group("run")
    group.add_argument("--duration", type=float, help="stop after this many seconds")
    group.add_argument("--idle-exit", type=float, help="stop after this many seconds without input")
    group.add_argument(
        "--instance-id", help="unique per process of the group (transactional id); default: the host name"
    )
    group.add_argument(
        "--metrics-port",
        type=int,
        help=f"/metrics port (default: metrics.ports.{service}; 0 = any free port)",
    )
    group.add_argument("--no-metrics", action="store_true", help="do not serve /metrics")


def settings_from_args(args: argparse.Namespace) -> Settings:
    if getattr(args, "config", None):
        os.environ["STREAMING_CONFIG"] = str(args.config)
    settings = with_bootstrap(Settings(), getattr(args, "bootstrap", None))
    if getattr(args, "topic_prefix", None) is not None:
        topics = settings.topics.model_copy(update={"prefix": args.topic_prefix})
        settings = settings.model_copy(update={"topics": topics})
    level = getattr(args, "log_level", None) or settings.logging.level
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(max(logging.WARNING, logging.getLevelName(level)))
    install_io_stall_filter()
    return settings


def bootstrap_for(settings: Settings) -> str:
    return resolve_bootstrap(settings)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(text: str) -> float:
    """Seconds from `90`, `1.5s`, `10m`, `2h` or `7d`.

    >>> parse_duration("10m"), parse_duration("250ms"), parse_duration("3")
    (600.0, 0.25, 3.0)
    """
    match = _DURATION.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 30s, 10m, 2h, 7d)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
