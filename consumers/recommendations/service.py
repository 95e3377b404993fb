"""`streaming serve recommendations`: the API wired to Redis, the fallback recommender and Kafka.

`build_state` assembles the parts from settings; `BackgroundServer` runs the app under uvicorn in a thread
(tests, benchmarks, the demo); `serve` runs it in the foreground until interrupted.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from consumers.recommendations.api import ServingState, create_app
from consumers.recommendations.cache import ListCodec, RecommendationCache, make_redis_client
from consumers.recommendations.feedback import FeedbackSink, RecordProducer
from consumers.recommendations.interface import Recommender
from consumers.recommendations.lookup import RecommendationLookup
from consumers.recommendations.online_metrics import CoverageTracker, ShownLists
from consumers.recommendations.redis_server import RedisServerError, resolve_redis_url
from consumers.recommendations.serving_metrics import ServingMetrics
from consumers.recommendations.serving_settings import RecommendationServingSettings, serving_settings
from consumers.recommendations.topics import SHOP_EVENTS
from streaming.config import Settings

log = logging.getLogger(__name__)

#: The learning side's `ArtifactLoader`, as "module:function".
DEFAULT_LOADER = "consumers.recommendations.artifacts:load_artifacts"

#: Declared by the learning side too (its `topics.py`); used here only when the catalog does not have it yet.


class ServiceError(RuntimeError):
    """The service cannot start (no artifacts, no loader, no Redis). The message says what to do."""


@dataclass(frozen=True)
class ServeOptions:
    """Command-line overrides of the settings."""

    host: str | None = None
    port: int | None = None
    artifacts_dir: Path | None = None
    redis_url: str | None = None
    loader: str = DEFAULT_LOADER


def shop_events_topic(settings: Settings) -> str:
    """The full name of `shop-events`.

    >>> shop_events_topic(Settings(topics={"prefix": "test."}))
    'test.shop-events'
    """
    return settings.topic_name("shop_events")


def artifact_loader(loader: str) -> Callable[[Path], Recommender]:
    """The `module:function` artifact loader."""
    module_name, _, function_name = loader.partition(":")
    try:
        function: Callable[[Path], Recommender] = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as error:
        raise ServiceError(f"the artifact loader {loader!r} is not installed: {error}") from error
    return function


def load_fallback(loader: str, directory: Path) -> Recommender:
    """The fallback recommender from the learner's artifacts, through the `module:function` loader."""
    function = artifact_loader(loader)
    if not directory.is_dir():
        raise ServiceError(
            f"no artifacts in {directory}: run `streaming consume recommendations` first, or pass --artifacts"
        )
    try:
        recommender: Recommender = function(directory)
    except (OSError, ValueError) as error:
        raise ServiceError(f"cannot load the artifacts in {directory}: {error}") from error
    return recommender


def feedback_producer_factory(
    settings: Settings, send_timeout_seconds: float
) -> Callable[[], RecordProducer]:
    """Makes the feedback producer on demand, so the API starts (and buffers) while Kafka is down."""
    from streaming.kafka import ensure_topics, make_admin, make_producer, resolve_bootstrap

    topic = shop_events_topic(settings)
    topic_ready = threading.Event()

    def factory() -> RecordProducer:
        bootstrap = resolve_bootstrap(settings)
        timeout_ms = min(5_000, int(send_timeout_seconds * 1000))
        producer: RecordProducer = make_producer(
            settings,
            bootstrap,
            role="recommendations-feedback",
            # Fail within seconds instead of kafka-python's 30 s to a minute: the buffer holds the events
            # meanwhile, and the sink tries again.
            bootstrap_timeout_ms=timeout_ms,
            max_block_ms=timeout_ms,
            request_timeout_ms=timeout_ms,
            delivery_timeout_ms=max(int(send_timeout_seconds * 1000), timeout_ms + 1_000),
        )
        if not topic_ready.is_set():
            # Only now: the producer bootstrapped, so the broker answers and the admin client will not wait.
            try:
                admin = make_admin(settings, bootstrap)
                try:
                    ensure_topics(admin, settings, extra={topic: SHOP_EVENTS}, only=[topic])
                finally:
                    admin.close()
            except Exception:
                producer.close(timeout=1.0)
                raise
            topic_ready.set()
        return producer

    return factory


def build_state(
    settings: Settings,
    fallback: Recommender,
    redis_url: str,
    registry: CollectorRegistry | None = None,
    producer_factory: Callable[[], RecordProducer | None] | None = None,
    serving: RecommendationServingSettings | None = None,
) -> ServingState:
    """Every part of one API instance. `registry=None` uses the global one (the service's /metrics)."""
    serving = serving or serving_settings(settings)
    metrics = ServingMetrics(registry)
    client = make_redis_client(redis_url, serving.redis_socket_timeout_seconds)
    cache = RecommendationCache(
        client, serving.key_prefix, serving.entry_ttl_seconds, ListCodec(serving.compress_min_bytes)
    )
    sink = FeedbackSink(
        producer_factory or feedback_producer_factory(settings, serving.feedback_send_timeout_seconds),
        shop_events_topic(settings),
        max_buffered_events=serving.feedback_buffer_events,
        send_timeout_seconds=serving.feedback_send_timeout_seconds,
        metrics=metrics,
    )
    return ServingState(
        lookup=RecommendationLookup(cache, fallback, metrics, serving.redis_retry_after_seconds),
        feedback=sink,
        shown=ShownLists(client, serving.key_prefix, serving.shown_list_ttl_seconds),
        coverage=CoverageTracker(None, serving.coverage_window_seconds),
        metrics=metrics,
        settings=serving,
    )


class BackgroundServer:
    """An app under uvicorn in a daemon thread, on loopback; `port=0` picks a free port.

    Parameters
    ----------
    app
        The ASGI app.
    host, port
        Where to listen.
    on_stop
        Called after the server stopped (e.g. closing the feedback sink).

    >>> from fastapi import FastAPI
    >>> with BackgroundServer(FastAPI()) as server:
    ...     server.url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(
        self, app: FastAPI, host: str = "127.0.0.1", port: int = 0, on_stop: Callable[[], Any] | None = None
    ) -> None:
        import uvicorn

        self.host = host
        self.on_stop = on_stop
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="recs-api", daemon=True)
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_seconds: float = 30.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout_seconds
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ServiceError(f"the API did not start on {self.host}:{self.port}")
            time.sleep(0.01)
        self.port = int(self._server.servers[0].sockets[0].getsockname()[1])
        return self

    def stop(self, timeout_seconds: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout_seconds)
        if self.on_stop is not None:
            self.on_stop()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def serve(settings: Settings, options: ServeOptions) -> int:
    """Run the API in the foreground until SIGINT/SIGTERM, then deliver the buffered feedback."""
    import uvicorn

    from consumers.recommendations.reloading import ReloadingRecommender

    serving = serving_settings(settings)
    # Answers from the start, and switches to each newer version the learner saves.
    fallback = ReloadingRecommender(
        options.artifacts_dir or serving.artifacts_dir, artifact_loader(options.loader)
    )
    fallback.start()
    try:
        redis_url = options.redis_url or resolve_redis_url(serving)
    except RedisServerError as error:
        raise ServiceError(str(error)) from error
    state = build_state(settings, fallback, redis_url, serving=serving)
    state.feedback.start()
    host = options.host or serving.api_host
    port = serving.api_port if options.port is None else options.port
    log.info("recommendations API on http://%s:%d (storefront at /), Redis %s", host, port, redis_url)
    print(f"recommendations: storefront on http://{host}:{port}/ (API, /metrics, /healthz)", flush=True)
    try:
        uvicorn.run(create_app(state), host=host, port=port, log_level="warning", access_log=False)
    finally:
        state.feedback.close()
    return 0
