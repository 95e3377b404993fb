"""The recommendations API and the storefront it serves (FastAPI).

- `GET /recommendations/{customer_id}?k=10`: a customer's top-k; an unknown customer gets a cold-start list.
- `GET /items/{item_id}/similar?k=10`: an item's similar items; an unknown item is 404.
- `GET /items/{item_id}`: what the recommender knows of an item (404 when unknown).
- `POST /feedback`: impression, click or purchase; 202 once buffered for Kafka, 503 when the buffer is full.
- `/metrics`, `/healthz`, and the storefront at `/shop/products/{item_id}?customer=...`.

k out of range and malformed feedback are 422 (FastAPI's validation) and nothing is written. Redis being
down is never an error: the lookup answers from the fallback and the answer says `degraded: true`.

Handlers are `async` and call Redis and the fallback synchronously: both answer in well under a
millisecond on loopback (and Redis within its socket timeout at worst), and skipping the thread pool
saves more than that per request.

No `from __future__ import annotations` here: FastAPI reads the handlers' annotations, and the k bound is a
local of `create_app` (it comes from the settings), which postponed annotations could not resolve.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Annotated, Any, Protocol, runtime_checkable

import orjson
from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParameter
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from consumers.recommendations.feedback import FeedbackRequest, FeedbackSink, encode_events, feedback_events
from consumers.recommendations.lookup import RecommendationLookup, ServedList
from consumers.recommendations.online_metrics import CoverageTracker, ShownLists
from consumers.recommendations.serving_metrics import ServingMetrics
from consumers.recommendations.serving_settings import RecommendationServingSettings


@runtime_checkable
class DescribesItems(Protocol):
    """Optional: a recommender that can say what an item is (name, category, price) for the storefront."""

    def describe_item(self, item_id: str) -> dict[str, str] | None: ...


@dataclass
class ServingState:
    """Everything the app's handlers use.

    Parameters
    ----------
    lookup
        Cache first, then the fallback recommender.
    feedback
        The bounded buffer to Kafka.
    shown
        The last list shown to each customer (hit rate@10).
    coverage
        Distinct items recommended (catalogue coverage).
    metrics
        The app's Prometheus metrics.
    settings
        k bounds and defaults.
    clock
        Wall clock for feedback event times.
    """

    lookup: RecommendationLookup
    feedback: FeedbackSink
    shown: ShownLists
    coverage: CoverageTracker
    metrics: ServingMetrics
    settings: RecommendationServingSettings = field(default_factory=RecommendationServingSettings)
    clock: Callable[[], float] = time.time


def create_app(state: ServingState) -> FastAPI:
    """The app. Replicas built from the same Redis and artifacts answer identically.

    >>> from prometheus_client import CollectorRegistry
    >>> from consumers.recommendations.cache import RecommendationCache, make_redis_client
    >>> from consumers.recommendations.interface import Recommendation, RecommendationList
    >>> class Popular:
    ...     model_version = 1
    ...     def recommend(self, customer_id, k):
    ...         return RecommendationList((Recommendation("p-1", 1.0, "popular"),), 1, cold_start=True)
    ...     def similar_items(self, item_id, k): return None
    ...     def knows_item(self, item_id): return False
    >>> client = make_redis_client("redis://127.0.0.1:1/0")
    >>> metrics = ServingMetrics(CollectorRegistry())
    >>> state = ServingState(RecommendationLookup(RecommendationCache(client), Popular(), metrics),
    ...     FeedbackSink(lambda: None, "shop-events"), ShownLists(client), CoverageTracker(None), metrics)
    >>> sorted(route.path for route in create_app(state).routes if "{" in route.path)
    ['/items/{item_id}', '/items/{item_id}/similar', '/recommendations/{customer_id}',
     '/shop/products/{item_id}']
    """
    app = FastAPI(title="ShopSmart recommendations", version="1", docs_url="/docs", redoc_url=None)
    settings = state.settings
    metrics = state.metrics
    service = metrics.service
    static = resources.files("consumers.recommendations").joinpath("static")
    storefront_html = static.joinpath("storefront.html").read_bytes()
    storefront_js = static.joinpath("storefront.js").read_bytes()

    def refresh_catalogue_size() -> None:
        # A reloading fallback learns its catalogue only once the first artifacts arrive, and it grows.
        catalogue_size = getattr(state.lookup.fallback, "catalogue_size", None)
        if isinstance(catalogue_size, int) and catalogue_size > 0:
            state.coverage.catalogue_size = catalogue_size

    refresh_catalogue_size()
    fallback_version = metrics.fallback_model_version.labels(service)
    latency = {
        (endpoint, outcome): metrics.request_seconds.labels(service, endpoint, outcome)
        for endpoint in ("recommendations", "similar", "item", "feedback", "storefront")
        for outcome in ("hit", "miss", "unavailable", "none")
    }

    CustomerId = Annotated[str, PathParameter(min_length=1, max_length=128)]
    ItemId = Annotated[str, PathParameter(min_length=1, max_length=128)]
    K = Annotated[int, Query(ge=1, le=settings.max_k, description=f"list length, 1..{settings.max_k}")]
    WithDetails = Annotated[bool, Query(description="add what the recommender knows of each item")]

    def describe(item_id: str) -> dict[str, str] | None:
        fallback = state.lookup.fallback
        return fallback.describe_item(item_id) if isinstance(fallback, DescribesItems) else None

    def answer(key: str, entity_id: str, served: ServedList, details: bool) -> Response:
        listing = served.listing
        items: list[dict[str, Any]] = []
        for item in listing.items:
            entry: dict[str, Any] = {
                "item_id": item.item_id,
                "score": round(item.score, 6),
                "source": item.source,
            }
            if details:
                entry.update(describe(item.item_id) or {})
            items.append(entry)
        body = {
            key: entity_id,
            "recommendation_id": listing.recommendation_id,
            "model_version": listing.model_version,
            "cold_start": listing.cold_start,
            "degraded": served.degraded,
            "cache": served.cache,
            "computed_at": listing.computed_at,
            "items": items,
        }
        state.coverage.record(item.item_id for item in listing.items)
        if listing.cold_start:
            endpoint = "recommendations" if key == "customer_id" else "similar"
            metrics.cold_start.labels(service, endpoint).inc()
        return Response(orjson.dumps(body), media_type="application/json")

    @app.get("/recommendations/{customer_id}")
    async def recommendations(
        customer_id: CustomerId, k: K = settings.default_k, details: WithDetails = False
    ) -> Response:
        started = time.perf_counter()
        served = state.lookup.for_customer(customer_id, k)
        response = answer("customer_id", customer_id, served, details)
        latency["recommendations", served.cache].observe(time.perf_counter() - started)
        return response

    @app.get("/items/{item_id}/similar")
    async def similar(item_id: ItemId, k: K = settings.default_k, details: WithDetails = False) -> Response:
        started = time.perf_counter()
        served = state.lookup.for_item(item_id, k)
        if served is None:
            latency["similar", "none"].observe(time.perf_counter() - started)
            return _error(404, f"unknown item {item_id!r}")
        response = answer("item_id", item_id, served, details)
        latency["similar", served.cache].observe(time.perf_counter() - started)
        return response

    @app.get("/items/{item_id}")
    async def item(item_id: ItemId) -> Response:
        started = time.perf_counter()
        if not state.lookup.fallback.knows_item(item_id):
            response = _error(404, f"unknown item {item_id!r}")
        else:
            body = {"item_id": item_id, **(describe(item_id) or {})}
            response = Response(orjson.dumps(body), media_type="application/json")
        latency["item", "none"].observe(time.perf_counter() - started)
        return response

    @app.post("/feedback", status_code=202)
    async def feedback(request: FeedbackRequest) -> Response:
        started = time.perf_counter()
        events = feedback_events(request, state.clock())
        if not state.feedback.offer(encode_events(events)):
            metrics.feedback_requests.labels(service, request.kind, "refused").inc()
            latency["feedback", "none"].observe(time.perf_counter() - started)
            return _error(503, "feedback buffer is full while Kafka is unreachable; retry later", retry=True)
        metrics.feedback_requests.labels(service, request.kind, "accepted").inc()
        metrics.feedback_events.labels(service, request.kind).inc(len(events))
        if request.kind == "impression" and request.list_kind == "customer":
            state.shown.remember(request.customer_id, request.item_ids)
        elif request.kind == "purchase":
            outcome = state.shown.purchase(request.customer_id, request.item_id or "")
            metrics.purchases.labels(service, outcome).inc()
        body = {"accepted": len(events), "buffered": state.feedback.buffered}
        latency["feedback", "none"].observe(time.perf_counter() - started)
        return Response(orjson.dumps(body), status_code=202, media_type="application/json")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        if request.url.path == "/feedback":
            metrics.feedback_requests.labels(service, "unknown", "invalid").inc()
        return await request_validation_exception_handler(request, error)

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        refresh_catalogue_size()
        ratio = state.coverage.ratio()
        metrics.distinct_items.labels(service).set(state.coverage.distinct())
        if ratio is not None:
            metrics.coverage.labels(service).set(ratio)
        fallback_version.set(state.lookup.fallback.model_version)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz")
    async def healthz() -> Response:
        body = {
            "status": "ok",
            "redis": "skipped after a failure" if state.lookup.redis_skipped else "in use",
            "kafka": "connected" if state.feedback.connected else "not connected",
            "feedback_buffered": state.feedback.buffered,
            "fallback_model_version": state.lookup.fallback.model_version,
        }
        return Response(orjson.dumps(body), media_type="application/json")

    @app.get("/", include_in_schema=False)
    async def home() -> Response:
        """The storefront, on the most popular item (the first of a newcomer's list)."""
        popular = state.lookup.fallback.recommend("", 1).items
        return RedirectResponse(f"/shop/products/{popular[0].item_id}" if popular else "/docs")

    @app.get("/shop/products/{item_id}", include_in_schema=False)
    async def storefront(item_id: ItemId) -> Response:
        started = time.perf_counter()
        response = Response(storefront_html, media_type="text/html; charset=utf-8")
        latency["storefront", "none"].observe(time.perf_counter() - started)
        return response

    @app.get("/static/storefront.js", include_in_schema=False)
    async def storefront_script() -> Response:
        return Response(storefront_js, media_type="text/javascript; charset=utf-8")

    return app


def _error(status: int, detail: str, retry: bool = False) -> Response:
    headers = {"Retry-After": "1"} if retry else None
    return Response(
        orjson.dumps({"detail": detail}), status_code=status, media_type="application/json", headers=headers
    )
