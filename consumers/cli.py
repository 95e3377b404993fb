"""`streaming consume windows|maintenance|fraud|alerts`: the long-running services."""

from __future__ import annotations

import argparse
import importlib

from streaming.cli.main import current_arguments, requested_word

#: subcommand -> (module with add_arguments/run, help text)
SERVICES: dict[str, tuple[str, str]] = {
    "windows": ("consumers.downsampler", "downsample sensor readings into event-time window aggregates"),
    "maintenance": ("consumers.learning.maintenance_service", "score sensor windows for imminent failure"),
    "fraud": ("consumers.learning.fraud_service", "score every transaction for fraud"),
    "alerts": ("consumers.alerting.dispatcher_service", "deliver alerts to subscribers"),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("consume", help="run a consumer service")
    services = parser.add_subparsers(dest="service", metavar="SERVICE", required=True)
    # Import only the service asked for: each pulls in different heavy libraries (River, httpx).
    wanted = requested_word(current_arguments, 1)
    for name, (module_name, help_text) in SERVICES.items():
        if wanted in SERVICES and name != wanted:
            services.add_parser(name, help=help_text)
            continue
        module = importlib.import_module(module_name)
        service = services.add_parser(name, help=help_text)
        module.add_arguments(service)
        service.set_defaults(handler=module.run)
