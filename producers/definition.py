"""The two simulators as services: `streaming produce sensors` and `streaming produce transactions`."""

from __future__ import annotations

from contracts import Label, SensorReading, SensorReadingBatch, Transaction
from contracts.shop import Product, ShopEvent
from contracts.topics import LABELS, PRODUCTS, SENSOR_READINGS, SHOP_EVENTS, TRANSACTIONS
from producers.settings import ProducerSettings
from producers.shop import ShopSimulationSettings
from streaming.services import Command, DemoProcess, DemoRun, ReplaySchema, Service, StageMetrics

#: A producer's stage in the demo: what it sends and how long the broker takes to acknowledge.
PRODUCER_STAGE = StageMetrics(
    None, "streaming_producer_events_total", "streaming_producer_send_seconds", lag=False
)

#: A small share of late and malformed records in the demo exercises the late-events and dead-letter paths.
DEMO_FAULTS = ["--late-fraction", "0.002", "--bad-fraction", "0.001"]


def _sensor_demo_arguments(run: DemoRun) -> list[str]:
    options = run.options
    # A smaller fleet failing more often: labels within a minute, and a load that leaves room for every stage.
    return [
        "--speedup", f"{options.speedup:g}",
        "--machines", str(options.machines),
        "--failure-rate", f"{options.failure_rate:g}",
        *DEMO_FAULTS,
    ]  # fmt: skip


def _transaction_demo_arguments(run: DemoRun) -> list[str]:
    # Real card traffic is about one payment per card-day; a fixed rate gives the fraud service enough to
    # score, and moves event time fast enough that chargebacks arrive within the demo.
    return ["--rate", f"{run.options.transaction_rate:g}", *DEMO_FAULTS]


#: What `streaming replay --schema` maps files onto: a machine's consecutive readings become one batch record.
SENSOR_SCHEMA = ReplaySchema(
    "sensor",
    SensorReading,
    key_column="machine_id",
    wire_type=SensorReadingBatch,
    combine=SensorReadingBatch.from_readings,
    group_by=lambda reading: reading.machine_id,
    group_size=ProducerSettings().readings_per_record,
)
TRANSACTION_SCHEMA = ReplaySchema("transaction", Transaction, key_column="card_id")
LABEL_SCHEMA = ReplaySchema("label", Label, key_column="entity_id")

SENSORS = Service(
    name="producer-sensors",
    description="a simulated machine fleet: readings keyed by machine, failure labels",
    commands=(
        Command(
            ("produce", "sensors"),
            "a machine fleet: readings keyed by machine, failure labels",
            "producers.cli:add_sensor_arguments",
            "producers.cli:run_sensors",
        ),
    ),
    topics=(SENSOR_READINGS, LABELS),
    settings_section="producers",
    settings=ProducerSettings,
    metrics_port=9101,
    schemas=(SensorReadingBatch, Label),
    replay_schemas=(SENSOR_SCHEMA, LABEL_SCHEMA),
    demo=DemoProcess(
        "sensors produced",
        ("produce", "sensors"),
        arguments=_sensor_demo_arguments,
        start_order=90,
        metrics=PRODUCER_STAGE,
    ),
    demo_options="producers.cli:add_demo_options",
)

TRANSACTIONS_PRODUCER = Service(
    name="producer-transactions",
    description="simulated card payments with fraud, and late chargeback labels",
    commands=(
        Command(
            ("produce", "transactions"),
            "card payments with fraud, late chargeback labels",
            "producers.cli:add_transaction_arguments",
            "producers.cli:run_transactions",
        ),
    ),
    topics=(TRANSACTIONS, LABELS),
    settings_section="producers",
    settings=ProducerSettings,
    metrics_port=9102,
    schemas=(Transaction, Label),
    replay_schemas=(TRANSACTION_SCHEMA, LABEL_SCHEMA),
    demo=DemoProcess(
        "transactions produced",
        ("produce", "transactions"),
        arguments=_transaction_demo_arguments,
        start_order=90,
        metrics=PRODUCER_STAGE,
    ),
)


def _shop_demo_arguments(run: DemoRun) -> list[str]:
    options = run.options
    return ["--rate", f"{options.shop_rate:g}", "--customers", str(options.shop_customers)]


SHOP = Service(
    name="producer-shop",
    description="a simulated online shop: its catalogue, and customers' views, carts and purchases",
    commands=(
        Command(
            ("produce", "shop"),
            "a simulated shop: products, and sessions of views, carts and purchases keyed by customer",
            "producers.cli:add_shop_arguments",
            "producers.cli:run_shop",
        ),
    ),
    topics=(SHOP_EVENTS, PRODUCTS),
    settings_section="shop",
    settings=ShopSimulationSettings,
    metrics_port=9108,
    schemas=(ShopEvent, Product),
    demo=DemoProcess(
        "shop events produced",
        ("produce", "shop"),
        arguments=_shop_demo_arguments,
        start_order=90,
        metrics=PRODUCER_STAGE,
    ),
)

SERVICES = (SENSORS, TRANSACTIONS_PRODUCER, SHOP)
