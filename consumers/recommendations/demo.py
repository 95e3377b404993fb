"""What the demo needs for the recommendations: a Redis of the run's own, stopped with the run."""

from __future__ import annotations

from collections.abc import Callable

from streaming.ports import free_listening_port
from streaming.services import DemoRun


def start_redis(run: DemoRun) -> Callable[[], None]:
    """Start a local redis-server on a free loopback port for this run; returns what stops it."""
    from consumers.recommendations.redis_server import LocalRedis
    from consumers.recommendations.serving_settings import RecommendationServingSettings

    port = free_listening_port()
    server = LocalRedis(
        RecommendationServingSettings(
            redis_port=port,
            redis_home=(run.report_dir / "redis").resolve(),
            redis_maxmemory_bytes=256 * 2**20,
        )
    )
    url = server.start()
    run.environment["REDIS_URL"] = url

    def stop() -> None:
        server.stop()

    return stop
