"""Settings of the serving side: the local Redis, the cache, precompute, the API and its feedback buffer."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

#: The attribute under which the lead registers this section on `streaming.config.Settings`.
SECTION = "recommendation_serving"


def _default_redis_home() -> Path:
    return Path.home() / ".cache" / "streaming"


class RecommendationServingSettings(BaseModel):
    """The `[recommendation_serving]` table.

    Parameters
    ----------
    Every field below; see each `description`.

    >>> settings = RecommendationServingSettings(redis_port=6391)
    >>> settings.local_redis_url()
    'redis://127.0.0.1:6391/0'
    >>> settings.max_k
    50
    """

    # Redis -------------------------------------------------------------------------------------------
    redis_url: str | None = Field(
        default=None,
        description="URL of an external Redis (redis://host:port/db). Unset: $REDIS_URL, else the local one.",
    )
    redis_host: str = Field(default="127.0.0.1", description="Address the local redis-server listens on.")
    redis_port: int = Field(default=6390, description="Port of the local redis-server.")
    redis_home: Path = Field(
        default_factory=_default_redis_home, description="Root of the local Redis's data and log directory."
    )
    redis_maxmemory_bytes: int = Field(
        default=256 * 1024 * 1024,
        description="Memory bound of the local Redis; past it the least recently used entries are evicted.",
    )
    redis_start_timeout_seconds: float = Field(
        default=20.0, description="Wall seconds to wait for a starting local Redis to answer PING."
    )
    redis_socket_timeout_seconds: float = Field(
        default=0.05,
        description="Longest wait for one Redis reply in the API before answering from the fallback, in s.",
    )
    redis_retry_after_seconds: float = Field(
        default=1.0,
        description="After a Redis failure, the API skips Redis for this long before trying it again, in s.",
    )
    # Cache -------------------------------------------------------------------------------------------
    key_prefix: str = Field(
        default="recs", description="Start of every cache key, so several pipelines can share one Redis."
    )
    entry_ttl_seconds: int = Field(
        default=6 * 3600, description="Lifetime of one precomputed list in Redis, in seconds."
    )
    compress_min_bytes: int = Field(
        default=512,
        description="Entries at least this long are zstd-compressed, kept only when that saves >= 10 %.",
    )
    # Precompute --------------------------------------------------------------------------------------
    top_n: int = Field(
        default=50, ge=1, le=1000, description="Length of each precomputed list; also the largest k served."
    )
    debounce_seconds: float = Field(
        default=2.0,
        description="A changed customer or item is recomputed this long after its last change, in s.",
    )
    max_delay_seconds: float = Field(
        default=30.0,
        description="A customer or item that keeps changing is still recomputed at least this often, in s.",
    )
    popular_items: int = Field(
        default=10_000,
        description="How many of the most interacted-with items get precomputed similar-items lists.",
    )
    precompute_batch_size: int = Field(
        default=500, description="Lists computed and written to Redis per pipeline round trip."
    )
    # API ---------------------------------------------------------------------------------------------
    api_host: str = Field(default="127.0.0.1", description="Address the recommendations API binds to.")
    api_port: int = Field(default=8090, description="Port of the recommendations API; 0 picks a free one.")
    default_k: int = Field(default=10, ge=1, description="k when a request does not give one.")
    artifacts_dir: Path = Field(
        default=Path(".streaming/recommendations/artifacts"),
        description="Where the learner saves model artifacts; the API's fallback loads them from here.",
    )
    feedback_buffer_events: int = Field(
        default=10_000,
        description="Feedback events held while Kafka is unreachable; beyond it feedback is refused (503).",
    )
    feedback_send_timeout_seconds: float = Field(
        default=10.0, description="How long one batch of feedback may take to reach Kafka before a retry."
    )
    shown_list_ttl_seconds: int = Field(
        default=24 * 3600,
        description="How long the last list shown to a customer counts for hit rate@10, in seconds.",
    )
    coverage_window_seconds: float = Field(
        default=3600.0,
        description="Catalogue coverage counts the distinct items recommended within this window, in s.",
    )

    @property
    def max_k(self) -> int:
        return self.top_n

    def local_redis_url(self) -> str:
        return f"redis://{self.redis_host}:{self.redis_port}/0"

    def redis_data_dir(self) -> Path:
        return self.redis_home / f"redis-{self.redis_port}"


def serving_settings(settings: object) -> RecommendationServingSettings:
    """This section from the project's `Settings`, or the defaults while the section is not registered.

    >>> serving_settings(object()).top_n
    50
    """
    section = getattr(settings, SECTION, None)
    return section if isinstance(section, RecommendationServingSettings) else RecommendationServingSettings()
