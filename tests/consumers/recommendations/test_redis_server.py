"""The local redis-server: start is idempotent and waits, the bounds are applied, stop stops it."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from consumers.recommendations.redis_server import LocalRedis, RedisServerError, resolve_redis_url
from tests.consumers.recommendations.conftest import redis_settings


def test_the_session_server_runs_bounded_and_keeps_nothing_on_disk(redis_server: LocalRedis) -> None:
    client = redis.Redis.from_url(redis_server.url)
    try:
        config = client.config_get("*")
        assert config["maxmemory-policy"] == "allkeys-lru"
        assert int(config["maxmemory"]) == 64 * 1024 * 1024
        assert config["save"] == "" and config["appendonly"] == "no"
        assert config["bind"] == "127.0.0.1"
    finally:
        client.close()
    status = redis_server.status()
    assert status.running and status.answering and status.used_memory_bytes
    assert "running" in status.describe()


def test_start_twice_stop_and_status(tmp_path: Path) -> None:
    server = LocalRedis(redis_settings(tmp_path))
    assert not server.status().running
    try:
        url = server.start()
        pid = server.status().pid
        assert server.start() == url  # idempotent: the same process answers
        assert server.status().pid == pid
    finally:
        assert server.stop()
    assert not server.status().running
    assert not server.answers()
    assert not server.stop()


def test_a_taken_port_is_refused_clearly(redis_server: LocalRedis, tmp_path: Path) -> None:
    settings = redis_settings(tmp_path).model_copy(update={"redis_port": redis_server.settings.redis_port})
    with pytest.raises(RedisServerError, match="taken"):
        LocalRedis(settings).start()


def test_a_missing_binary_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(RedisServerError, match="apt-get install"):
        LocalRedis(redis_settings(tmp_path), binary="no-such-redis-server").start()


def test_redis_url_names_an_external_server(tmp_path: Path) -> None:
    settings = redis_settings(tmp_path)
    assert (
        resolve_redis_url(settings, environ={"REDIS_URL": "redis://elsewhere:1/0"}) == "redis://elsewhere:1/0"
    )
    with pytest.raises(RedisServerError, match="REDIS_URL"):
        resolve_redis_url(settings, start_local=False, environ={})
