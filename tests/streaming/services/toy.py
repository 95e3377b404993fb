"""A toy service defined only here, in the tests: it multiplies numbers. Nothing under `streaming/` knows
it; it gets its topics, settings section, metrics port, command and demo entry by declaring them."""

from __future__ import annotations

import argparse

from pydantic import BaseModel, Field

from streaming.app import Application, Context, ProcessorBase, Record, Source
from streaming.schemas import Codec, EntityId, Event, EventTime
from streaming.services import Command, DemoProcess, Service, StateLocation
from streaming.topics import TopicSpec


class ToyNumber(Event, kw_only=True, frozen=True):
    """A number of some key at some time."""

    key: EntityId
    value: float
    event_time: EventTime

    def entity_key(self) -> str:
        return self.key


class ToySettings(BaseModel):
    """The toy's section: `[toy]`."""

    group_id: str = Field(default="toy", description="Consumer group of the toy.")
    multiplier: float = Field(default=2.0, description="What each number is multiplied by.")


class Multiplier(ProcessorBase):
    def __init__(self, multiplier: float) -> None:
        super().__init__("multiplier", [Source("toy_numbers", Codec(ToyNumber))])
        self.multiplier = multiplier

    def on_record(self, event: ToyNumber, record: Record, context: Context) -> None:
        product = ToyNumber(key=event.key, value=event.value * self.multiplier, event_time=event.event_time)
        context.emit("toy_products", product)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from streaming.cli.common import add_common_options, add_run_options

    add_common_options(parser)
    add_run_options(parser, "toy")


def run(args: argparse.Namespace) -> int:
    from streaming.cli.common import settings_from_args
    from streaming.cli.service import run_application

    settings = settings_from_args(args)
    config = settings.section("toy", ToySettings)

    def build(bootstrap: str) -> Application:
        app = Application(settings, "toy", config.group_id, bootstrap, instance_id=args.instance_id)
        app.add(Multiplier(config.multiplier))
        return app

    return run_application(args, settings, "toy", build)


SERVICE = Service(
    name="toy",
    description="multiplies toy numbers",
    commands=(
        Command(("consume", "toy"), "multiply toy numbers", f"{__name__}:add_arguments", f"{__name__}:run"),
    ),
    topics=(
        TopicSpec("toy_numbers", "key", "Numbers to multiply."),
        TopicSpec("toy_products", "key", "The products."),
    ),
    settings_section="toy",
    settings=ToySettings,
    metrics_port=9199,
    schemas=(ToyNumber,),
    alert_kinds=("toy",),
    state=StateLocation(group_id=lambda settings: settings.section("toy", ToySettings).group_id),
    demo=DemoProcess("toy products", ("consume", "toy")),
)
