"""ShopSmart recommendations as services: the learner (`streaming consume recommendations`), the API and
storefront (`streaming serve recommendations`), Redis (`streaming redis`), and the offline commands
(`streaming recs evaluate|segment`)."""

from __future__ import annotations

from consumers.recommendations.serving_settings import SECTION as SERVING_SECTION
from consumers.recommendations.serving_settings import RecommendationServingSettings
from consumers.recommendations.settings import RecommendationSettings, learner_checkpoint_dir
from consumers.recommendations.topics import PRODUCTS, SHOP_EVENTS
from contracts.shop import Product, ShopEvent
from streaming.ports import free_listening_port
from streaming.services import (
    Command,
    CommandGroup,
    DemoProcess,
    DemoRun,
    ReplayFormat,
    Service,
    StageMetrics,
    StateLocation,
)

MODULE = "consumers.recommendations"


def _demo_environment(run: DemoRun) -> dict[str, str]:
    """Where the demo's learner saves artifacts and the API reads them; Redis comes from `_demo_redis`."""
    return {"STREAMING_RECOMMENDATION_SERVING__ARTIFACTS_DIR": str(run.report_dir / "state" / "artifacts")}


def _demo_learner_environment(run: DemoRun) -> dict[str, str]:
    # The first artifacts (the API's fallback and its catalogue) within seconds of a short run, not 30 s.
    return {**_demo_environment(run), "STREAMING_RECOMMENDATIONS__ARTIFACTS_INTERVAL_SECONDS": "10"}


def _api_arguments(run: DemoRun) -> list[str]:
    port = run.shared("recommendations-api-port", free_listening_port)
    return ["--port", str(port)]


def _api_address(run: DemoRun) -> str:
    return f"http://127.0.0.1:{run.shared('recommendations-api-port', free_listening_port)}/"


LEARNER = Service(
    name="recommendations",
    description="learn recommendations from shop events; precompute lists into Redis; save artifacts",
    commands=(
        Command(
            ("consume", "recommendations"),
            "learn recommendations from shop events; keep Redis's precomputed lists fresh",
            f"{MODULE}.cli:add_consume_arguments",
            f"{MODULE}.cli:run_consume",
        ),
    ),
    groups=(CommandGroup(("recs",), "evaluate recommenders offline; segment customers"),),
    topics=(SHOP_EVENTS, PRODUCTS),
    settings_section="recommendations",
    settings=RecommendationSettings,
    metrics_port=9107,
    schemas=(ShopEvent, Product),
    state=StateLocation(
        group_id=lambda settings: settings.section("recommendations", RecommendationSettings).group_id,
        checkpoint_dir=learner_checkpoint_dir,
    ),
    demo=DemoProcess(
        "recommendations learned",
        ("consume", "recommendations"),
        environment=_demo_learner_environment,
    ),
    demo_setup=f"{MODULE}.demo:start_redis",
    replay_formats=(
        ReplayFormat(
            "online-retail",
            "InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID onto products "
            "and shop-events",
            f"{MODULE}.replay:online_retail",
        ),
        ReplayFormat(
            "movielens",
            "MovieLens 100k u.data (and u.item, or --items) onto products and shop-events",
            f"{MODULE}.replay:movielens",
        ),
    ),
)

OFFLINE = Service(
    name="recs",
    description="offline evaluation of recommenders, and batch customer segmentation",
    commands=(
        Command(
            ("recs", "evaluate"),
            "evaluate recommenders on an interaction log: standard and time-ordered protocols",
            f"{MODULE}.cli:add_evaluate_arguments",
            f"{MODULE}.cli:run_evaluate",
        ),
        Command(
            ("recs", "shoppers"),
            "simulated shoppers on the API: visits, impressions, clicks and purchases (bounded)",
            f"{MODULE}.serving_cli:add_shoppers_arguments",
            f"{MODULE}.serving_cli:run_shoppers",
        ),
        Command(
            ("recs", "segment"),
            "segment customers offline (RFM and taste) for merchandising and fallbacks",
            f"{MODULE}.cli:add_segment_arguments",
            f"{MODULE}.cli:run_segment",
        ),
    ),
)

API = Service(
    name="recommendations-api",
    description="the recommendations API and the storefront page",
    commands=(
        Command(
            ("serve", "recommendations"),
            "the recommendations API (FastAPI) and the storefront, from Redis with an ANN fallback",
            f"{MODULE}.serving_cli:add_serve_arguments",
            f"{MODULE}.serving_cli:run_serve",
        ),
    ),
    groups=(CommandGroup(("redis",), "run the local Redis the recommendation cache uses"),),
    topics=(SHOP_EVENTS,),
    settings_section=SERVING_SECTION,
    settings=RecommendationServingSettings,
    demo=DemoProcess(
        "recommendations served",
        ("serve", "recommendations"),
        arguments=_api_arguments,
        environment=_demo_environment,
        common_options=("--bootstrap", "--topic-prefix"),
        metrics=StageMetrics(
            "streaming_recommendation_request_seconds_count",
            None,
            "streaming_recommendation_request_seconds",
            lag=False,
        ),
        metrics_option="--port",
        address=_api_address,
    ),
)

REDIS = Service(
    name="redis",
    description="the local Redis",
    commands=(
        Command(
            ("redis", "start"),
            "start the local redis-server (no-op when running)",
            f"{MODULE}.serving_cli:add_redis_action_arguments",
            f"{MODULE}.serving_cli:run_redis_start",
        ),
        Command(
            ("redis", "stop"),
            "stop the local redis-server",
            f"{MODULE}.serving_cli:add_redis_action_arguments",
            f"{MODULE}.serving_cli:run_redis_stop",
        ),
        Command(
            ("redis", "status"),
            "say whether the local redis-server runs and answers",
            f"{MODULE}.serving_cli:add_redis_action_arguments",
            f"{MODULE}.serving_cli:run_redis_status",
        ),
    ),
)


def _shopper_arguments(run: DemoRun) -> list[str]:
    duration = run.options.duration + 30
    return ["--api", _api_address(run), "--customers", str(run.options.shop_customers), "--rate", "20",
            "--duration", f"{duration:g}"]  # fmt: skip


SHOPPERS = Service(
    name="shoppers",
    description="simulated shoppers on the storefront's API",
    demo=DemoProcess(
        "shoppers visiting",
        ("recs", "shoppers"),
        arguments=_shopper_arguments,
        start_order=95,
        common_options=(),
        metrics=None,
    ),
)

SERVICES = (LEARNER, OFFLINE, API, REDIS, SHOPPERS)
