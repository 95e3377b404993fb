"""The recommendations dashboard means something: a real Prometheus scrapes a running API (one replica with
Redis, one with Redis dead) and a precompute metrics endpoint, and every panel query returns a series."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, start_http_server

from consumers.recommendations.cache import RecommendationCache
from consumers.recommendations.precompute import Precomputer
from consumers.recommendations.serving_metrics import PrecomputeMetrics
from consumers.recommendations.serving_settings import RecommendationServingSettings
from streaming.demo.dashboards import DASHBOARD_DIR, check_dashboards, describe_failures, load_dashboards
from tests.consumers.recommendations.conftest import ApiFactory
from tests.consumers.recommendations.support import CovisitationRecommender, free_port
from tests.support.prometheus import running_prometheus

pytestmark = pytest.mark.slow


@pytest.fixture
def precompute_endpoint(
    cache: RecommendationCache, recommender: CovisitationRecommender
) -> Iterator[tuple[str, Precomputer]]:
    registry = CollectorRegistry()
    precomputer = Precomputer(recommender, cache, debounce_seconds=0, metrics=PrecomputeMetrics(registry))
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield f"127.0.0.1:{server.server_port}", precomputer
    finally:
        server.shutdown()
        thread.join(5)


def _traffic(urls: list[str], precomputer: Precomputer, stop: threading.Event) -> None:
    clients = [httpx.Client(base_url=url, timeout=5) for url in urls]
    step = 0
    while not stop.is_set():
        step += 1
        precomputer.customer_changed(f"c-{step % 50:05d}")
        precomputer.item_changed(f"p-{step % 30:04d}")
        precomputer.run_due()
        for client in clients:
            listing = client.get(f"/recommendations/c-{step % 50:05d}").json()
            client.get("/recommendations/newcomer")
            client.get(f"/items/p-{step % 40:04d}/similar")
            shown = [item["item_id"] for item in listing["items"]]
            list_id = listing["recommendation_id"]
            customer = f"c-{step % 50:05d}"
            client.post(
                "/feedback",
                json={
                    "kind": "impression",
                    "customer_id": customer,
                    "recommendation_id": list_id,
                    "item_ids": shown,
                },
            )
            client.post(
                "/feedback",
                json={
                    "kind": "click",
                    "customer_id": customer,
                    "recommendation_id": list_id,
                    "item_id": shown[0],
                },
            )
            client.post(
                "/feedback", json={"kind": "purchase", "customer_id": customer, "item_id": shown[step % 2]}
            )
        stop.wait(0.05)


def test_every_panel_query_returns_a_series(
    apis: ApiFactory,
    tmp_path: Path,
    redis_url: str,
    serving: RecommendationServingSettings,
    recommender: CovisitationRecommender,
    precompute_endpoint: tuple[str, Precomputer],
) -> None:
    healthy, _ = apis.start(recommender, redis_url, serving)
    degraded, _ = apis.start(recommender, f"redis://127.0.0.1:{free_port()}/0", serving)
    precompute_target, precomputer = precompute_endpoint
    targets = {
        "api": f"127.0.0.1:{healthy.port}",
        "api-degraded": f"127.0.0.1:{degraded.port}",
        "precompute": precompute_target,
    }
    dashboards = {"recommendations.json": load_dashboards(DASHBOARD_DIR)["recommendations.json"]}
    stop = threading.Event()
    worker = threading.Thread(target=_traffic, args=([healthy.url, degraded.url], precomputer, stop))
    with running_prometheus(targets, tmp_path / "prometheus") as prometheus:
        worker.start()
        try:
            deadline = time.monotonic() + 60
            checks = check_dashboards(prometheus, dashboards)
            while not all(check.ok for check in checks) and time.monotonic() < deadline:
                time.sleep(1)
                checks = check_dashboards(prometheus, dashboards)
        finally:
            stop.set()
            worker.join(10)
    assert len(checks) >= 20
    assert all(check.ok for check in checks), "panels without data:\n" + describe_failures(checks)
