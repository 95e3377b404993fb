"""Fixtures of the serving tests: a real redis-server for the session, a fresh key prefix per test, and the
support recommender trained on generated shop events."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from consumers.recommendations.api import ServingState, create_app
from consumers.recommendations.cache import RecommendationCache, make_redis_client
from consumers.recommendations.feedback import RecordProducer
from consumers.recommendations.interface import Recommender
from consumers.recommendations.redis_server import LocalRedis
from consumers.recommendations.service import BackgroundServer, build_state
from consumers.recommendations.serving_settings import RecommendationServingSettings
from streaming.config import Settings
from tests.consumers.recommendations.support import (
    CovisitationRecommender,
    ShopHistory,
    free_port,
    generate_shop,
)


def redis_settings(home: Path, **overrides: object) -> RecommendationServingSettings:
    options: dict[str, object] = {
        "redis_port": free_port(),
        "redis_home": home,
        "redis_maxmemory_bytes": 64 * 1024 * 1024,
        **overrides,
    }
    return RecommendationServingSettings.model_validate(options)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedis]:
    server = LocalRedis(redis_settings(tmp_path_factory.mktemp("redis")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: LocalRedis) -> str:
    return redis_server.url


@pytest.fixture
def key_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def cache(redis_url: str, key_prefix: str) -> Iterator[RecommendationCache]:
    client = make_redis_client(redis_url, socket_timeout_seconds=2.0)
    try:
        yield RecommendationCache(client, key_prefix=key_prefix, ttl_seconds=600)
    finally:
        client.close()


@pytest.fixture(scope="session")
def history() -> ShopHistory:
    return generate_shop()


@pytest.fixture(scope="session")
def recommender(history: ShopHistory) -> CovisitationRecommender:
    return CovisitationRecommender(history)


class ApiFactory:
    """Starts API instances (uvicorn on free loopback ports) and stops them all at the end of a test."""

    def __init__(self) -> None:
        self.servers: list[BackgroundServer] = []

    def start(
        self,
        fallback: Recommender,
        redis_url: str,
        serving: RecommendationServingSettings,
        settings: Settings | None = None,
        producer_factory: Callable[[], RecordProducer | None] | None = None,
        start_sink: bool = True,
    ) -> tuple[BackgroundServer, ServingState]:
        state = build_state(
            settings or Settings(),
            fallback,
            redis_url,
            registry=CollectorRegistry(),
            producer_factory=producer_factory or (lambda: None),
            serving=serving,
        )
        if start_sink:
            state.feedback.start()
        server = BackgroundServer(
            create_app(state), on_stop=lambda: state.feedback.close(timeout_seconds=2.0)
        )
        server.start()
        self.servers.append(server)
        return server, state

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture
def apis() -> Iterator[ApiFactory]:
    factory = ApiFactory()
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture
def serving(key_prefix: str) -> RecommendationServingSettings:
    return RecommendationServingSettings(
        key_prefix=key_prefix, top_n=20, redis_socket_timeout_seconds=0.2, redis_retry_after_seconds=0.2
    )
