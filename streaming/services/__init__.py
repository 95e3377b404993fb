"""Services declare themselves once (`Service`); the core finds them through one registry."""

from streaming.services.definition import (
    COMMON_DEMO_OPTIONS,
    CONSUMER_STAGE,
    Command,
    CommandGroup,
    DemoProcess,
    DemoRun,
    LogStreams,
    ReplayFormat,
    ReplaySchema,
    Service,
    StageMetrics,
    StateLocation,
)
from streaming.services.registry import (
    EXTRA_SERVICES_VARIABLE,
    Registry,
    RegistryError,
    register,
    registered,
    registry,
    resolve,
    unregister,
)

__all__ = [
    "COMMON_DEMO_OPTIONS",
    "CONSUMER_STAGE",
    "EXTRA_SERVICES_VARIABLE",
    "Command",
    "CommandGroup",
    "DemoProcess",
    "DemoRun",
    "LogStreams",
    "Registry",
    "RegistryError",
    "ReplayFormat",
    "ReplaySchema",
    "Service",
    "StageMetrics",
    "StateLocation",
    "register",
    "registered",
    "registry",
    "resolve",
    "unregister",
]
