"""Customer churn as services: the weekly job (`streaming churn run|schedule`), its backtest
(`streaming churn evaluate`), and, for the demo, a customer base whose event time runs fast so that weeks
pass in seconds."""

from __future__ import annotations

from consumers.churn.settings import ChurnSettings
from consumers.churn.topics import TOPICS
from contracts import ChurnScore, CustomerProfile
from streaming.services import Command, CommandGroup, DemoProcess, DemoRun, Service

MODULE = "consumers.churn"

#: The demo's customers live on topics of their own: their event time runs a week every few seconds,
#: which the fraud and downsampling services reading the main topics must not see.
DEMO_TOPICS = {"transactions": "churn-demo-transactions", "labels": "churn-demo-labels"}
#: Simulated seconds per wall second in the demo: one week every 4 s.
DEMO_SPEEDUP = 7 * 86_400 / 4.0
#: Weeks of history the demo's customers start with, so that models train within the run.
DEMO_HISTORY_WEEKS = 8
#: The demo's customer base: small and quick to churn, so that the producer keeps up with a week every
#: few seconds on a shared laptop (about 900 payments a second) and each week has churners to learn from.
DEMO_CUSTOMER_ENVIRONMENT = {
    "STREAMING_PRODUCERS__TRANSACTIONS_PER_CARD_DAY": "0.6",
    "STREAMING_PRODUCERS__CUSTOMERS__WEEKLY_CHURN_HAZARD": "0.05",
    "STREAMING_PRODUCERS__CUSTOMERS__CHURN_REPORT_DELAY_WEEKS": "1",
}


def _demo_topics_environment() -> dict[str, str]:
    return {f"STREAMING_TOPICS__NAMES__{name.upper()}": topic for name, topic in DEMO_TOPICS.items()}


def _schedule_environment(run: DemoRun) -> dict[str, str]:
    return {
        **_demo_topics_environment(),
        "STREAMING_CHURN__OUTPUT_DIR": str(run.report_dir / "churn"),
        # Short demo horizon and lateness, so that labelled weeks (and a model) exist within minutes.
        "STREAMING_CHURN__HORIZON_WEEKS": "1",
        "STREAMING_CHURN__ALLOWED_LATENESS_SECONDS": "3600",
        "STREAMING_CHURN__TRAINING_CUTOFFS": "1",
        "STREAMING_CHURN__TREES": "20",
        # Twenty trees on a few thousand rows train in milliseconds; a process pool takes seconds to start.
        "STREAMING_CHURN__JOBS": "1",
    }


def _schedule_arguments(run: DemoRun) -> list[str]:
    return ["--poll-seconds", "1"]


def _customers_arguments(run: DemoRun) -> list[str]:
    import time

    start = time.time() - DEMO_HISTORY_WEEKS * 7 * 86_400
    return ["--cards", "800", "--speedup", f"{DEMO_SPEEDUP:g}", "--start-time", f"{start:.0f}",
            "--seed", "11", "--no-metrics", "--quiet"]  # fmt: skip


CHURN = Service(
    name="churn",
    description="customer churn: the weekly ETL, its models, at-risk list, alerts and report",
    commands=(
        Command(
            ("churn", "run"),
            "run the weekly job for one week (or one worker's partitions of it, or the merge)",
            f"{MODULE}.cli:add_run_arguments",
            f"{MODULE}.cli:run_run",
        ),
        Command(
            ("churn", "schedule"),
            "run the weekly job by itself whenever event time passes a week's end plus the lateness",
            f"{MODULE}.cli:add_schedule_arguments",
            f"{MODULE}.cli:run_schedule",
        ),
        Command(
            ("churn", "evaluate"),
            "temporal backtest of churn strategies on a transaction log (CSV or Parquet)",
            f"{MODULE}.cli:add_evaluate_arguments",
            f"{MODULE}.cli:run_evaluate",
        ),
    ),
    groups=(CommandGroup(("churn",), "customer churn: the weekly job, its schedule, and its backtest"),),
    topics=TOPICS,
    settings_section="churn",
    settings=ChurnSettings,
    schemas=(CustomerProfile, ChurnScore),
    alert_kinds=("churn",),
    demo=DemoProcess(
        "churn weeks scored",
        ("churn", "schedule"),
        arguments=_schedule_arguments,
        environment=_schedule_environment,
        start_order=90,
        common_options=("--bootstrap", "--topic-prefix", "--duration"),
        metrics=None,
    ),
)

CUSTOMERS = Service(
    name="producer-customers",
    description="the demo's customer base, its event time running a week every 4 s",
    demo=DemoProcess(
        "customers buying (fast event time)",
        ("produce", "transactions"),
        arguments=_customers_arguments,
        environment=lambda run: {**_demo_topics_environment(), **DEMO_CUSTOMER_ENVIRONMENT},
        start_order=90,
        common_options=("--bootstrap", "--topic-prefix", "--duration"),
        metrics=None,
    ),
)

SERVICES = (CHURN, CUSTOMERS)
