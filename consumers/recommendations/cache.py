"""The precomputed lists in Redis: top-N per customer and similar-items per product.

Each entry is one Redis string: a one-byte format tag, then a msgpack array (scores as packed float32,
sources as small integers), zstd-compressed when that pays. Every entry has a TTL, so lists of customers
who stopped coming age out; the server's `allkeys-lru` policy bounds memory when the TTLs alone do not.
"""

from __future__ import annotations

import sys
import time
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, get_args

import msgpack
import redis
import zstandard
from redis.backoff import NoBackoff
from redis.retry import Retry

from consumers.recommendations.interface import Recommendation, RecommendationList, Source

#: What a cache entry is about: a customer's top-N, or an item's similar items.
EntryKind = Literal["customer", "item"]

_SOURCES: tuple[Source, ...] = get_args(Source)
_SOURCE_CODES = {source: code for code, source in enumerate(_SOURCES)}
_RAW, _ZSTD = b"\x00", b"\x01"
_FORMAT_VERSION = 1


class CacheUnavailable(RuntimeError):
    """Redis did not answer (down, unreachable or too slow). Callers fall back; they never fail."""


def make_redis_client(url: str, socket_timeout_seconds: float = 0.05) -> redis.Redis:
    """A client that fails fast: short timeouts and no retries, because the caller has a fallback and a
    retry would only add its delay to the answer.

    >>> client = make_redis_client("redis://127.0.0.1:1/0")
    >>> client.connection_pool.connection_kwargs["socket_timeout"]
    0.05
    """
    return redis.Redis.from_url(
        url,
        socket_timeout=socket_timeout_seconds,
        socket_connect_timeout=socket_timeout_seconds,
        retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False,
    )


class ListCodec:
    """Compact bytes for a `RecommendationList`.

    Parameters
    ----------
    compress_min_bytes
        Encodings at least this long are zstd-compressed; the compressed form is kept only when it is at
        least 10 % smaller, so short lists do not pay the decompression for nothing.
    level
        zstd compression level.

    >>> codec = ListCodec()
    >>> listing = RecommendationList(items=(Recommendation("p-1", 0.5, "popular"),), model_version=3,
    ...                              recommendation_id="r-1")
    >>> decoded = codec.decode(codec.encode(listing))
    >>> decoded.items[0].item_id, decoded.items[0].score, decoded.model_version, decoded.recommendation_id
    ('p-1', 0.5, 3, 'r-1')
    """

    def __init__(self, compress_min_bytes: int = 512, level: int = 3) -> None:
        self.compress_min_bytes = compress_min_bytes
        self._compressor = zstandard.ZstdCompressor(level=level)
        self._decompressor = zstandard.ZstdDecompressor()

    def encode(self, listing: RecommendationList) -> bytes:
        payload = msgpack.packb(
            [
                _FORMAT_VERSION,
                listing.model_version,
                listing.cold_start,
                listing.recommendation_id,
                listing.computed_at,
                [item.item_id for item in listing.items],
                _float32_bytes([item.score for item in listing.items]),
                bytes(_SOURCE_CODES[item.source] for item in listing.items),
                listing.extra,
            ]
        )
        if len(payload) >= self.compress_min_bytes:
            compressed = self._compressor.compress(payload)
            if len(compressed) <= 0.9 * len(payload):
                return _ZSTD + compressed
        return _RAW + payload

    def decode(self, data: bytes) -> RecommendationList:
        tag, body = data[:1], data[1:]
        if tag == _ZSTD:
            body = self._decompressor.decompress(body)
        elif tag != _RAW:
            raise ValueError(f"unknown cache entry format tag {tag!r}")
        fields = msgpack.unpackb(body)
        if fields[0] != _FORMAT_VERSION:
            raise ValueError(f"unknown cache entry version {fields[0]!r}")
        _, model_version, cold_start, recommendation_id, computed_at, item_ids, packed, sources, extra = (
            fields
        )
        scores = array("f")
        scores.frombytes(packed)
        if sys.byteorder != "little":
            scores.byteswap()
        items = tuple(
            Recommendation(item_id, float(score), _SOURCES[code])
            for item_id, score, code in zip(item_ids, scores, sources, strict=True)
        )
        return RecommendationList(
            items, int(model_version), bool(cold_start), recommendation_id, float(computed_at), dict(extra)
        )


@dataclass(frozen=True)
class CacheEntry:
    """One list to write: whose it is, and the list."""

    kind: EntryKind
    entity_id: str
    listing: RecommendationList


class ListStore(Protocol):
    """Where precomputed lists are written: `RecommendationCache`, or a stand-in in examples."""

    def put_many(self, entries: Iterable[CacheEntry]) -> int: ...

    def delete(self, kind: EntryKind, entity_id: str) -> None: ...


class RecommendationCache:
    """Precomputed lists in Redis, with a TTL on each entry.

    Parameters
    ----------
    client
        A redis-py client; `make_redis_client` makes one that fails fast.
    key_prefix
        Start of every key (`<prefix>:c:<customer_id>`, `<prefix>:i:<item_id>`).
    ttl_seconds
        Lifetime of each entry.
    codec
        How lists become bytes.

    Every Redis failure is raised as `CacheUnavailable`.

    >>> cache = RecommendationCache(make_redis_client("redis://127.0.0.1:6390/0"), ttl_seconds=3600)
    >>> cache.key("customer", "c-1"), cache.key("item", "p-1")
    ('recs:c:c-1', 'recs:i:p-1')
    """

    def __init__(
        self,
        client: redis.Redis,
        key_prefix: str = "recs",
        ttl_seconds: int = 6 * 3600,
        codec: ListCodec | None = None,
    ) -> None:
        self.client = client
        self.key_prefix = key_prefix
        self.ttl_seconds = ttl_seconds
        self.codec = codec or ListCodec()

    def key(self, kind: EntryKind, entity_id: str) -> str:
        return f"{self.key_prefix}:{'c' if kind == 'customer' else 'i'}:{entity_id}"

    def get(self, kind: EntryKind, entity_id: str) -> RecommendationList | None:
        """The cached list, or None when there is none (never cached, expired or evicted)."""
        try:
            data = self.client.get(self.key(kind, entity_id))
        except (redis.RedisError, OSError) as error:
            raise CacheUnavailable(str(error)) from error
        return None if data is None else self.codec.decode(_as_bytes(data))

    def put(self, kind: EntryKind, entity_id: str, listing: RecommendationList) -> None:
        self.put_many([CacheEntry(kind, entity_id, listing)])

    def put_many(self, entries: Iterable[CacheEntry]) -> int:
        """Write entries in one round trip (a non-transactional pipeline). Returns how many were written."""
        pipeline = self.client.pipeline(transaction=False)
        count = 0
        for entry in entries:
            pipeline.set(
                self.key(entry.kind, entry.entity_id), self.codec.encode(entry.listing), ex=self.ttl_seconds
            )
            count += 1
        if count:
            try:
                pipeline.execute()
            except (redis.RedisError, OSError) as error:
                raise CacheUnavailable(str(error)) from error
        return count

    def delete(self, kind: EntryKind, entity_id: str) -> None:
        try:
            self.client.delete(self.key(kind, entity_id))
        except (redis.RedisError, OSError) as error:
            raise CacheUnavailable(str(error)) from error

    def ttl(self, kind: EntryKind, entity_id: str) -> int:
        """Seconds left (-2: no such entry, -1: no TTL)."""
        try:
            return int(self.client.ttl(self.key(kind, entity_id)))
        except (redis.RedisError, OSError) as error:
            raise CacheUnavailable(str(error)) from error


@dataclass(frozen=True)
class MemoryMeasurement:
    """Redis memory taken by a sample of entries, scaled to a million."""

    kind: EntryKind
    entries: int
    list_length: int
    used_memory_delta_bytes: int
    mean_value_bytes: float

    @property
    def bytes_per_million(self) -> float:
        return self.used_memory_delta_bytes / self.entries * 1_000_000

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "entries": self.entries,
            "list_length": self.list_length,
            "mean_value_bytes": round(self.mean_value_bytes, 1),
            "bytes_per_entry": round(self.used_memory_delta_bytes / self.entries, 1),
            "mib_per_million": round(self.bytes_per_million / 2**20, 1),
        }


def measure_memory(
    cache: RecommendationCache, kind: EntryKind, entries: Sequence[tuple[str, RecommendationList]]
) -> MemoryMeasurement:
    """Write `entries` under a scratch prefix, read Redis's `used_memory` before and after, then delete them.

    The delta includes per-key overhead (the key, the expiry record, allocator rounding), which is what a
    million customers or items really cost.
    """
    scratch = RecommendationCache(
        cache.client, f"{cache.key_prefix}-memory-{time.monotonic_ns()}", cache.ttl_seconds, cache.codec
    )
    before = _used_memory(cache.client)
    batch: list[CacheEntry] = []
    value_bytes = 0
    for entity_id, listing in entries:
        batch.append(CacheEntry(kind, entity_id, listing))
        value_bytes += len(cache.codec.encode(listing))
        if len(batch) >= 1000:
            scratch.put_many(batch)
            batch.clear()
    scratch.put_many(batch)
    after = _used_memory(cache.client)
    keys = [scratch.key(kind, entity_id) for entity_id, _ in entries]
    for start in range(0, len(keys), 1000):
        cache.client.delete(*keys[start : start + 1000])
    list_length = max((len(listing.items) for _, listing in entries), default=0)
    return MemoryMeasurement(
        kind, len(entries), list_length, after - before, value_bytes / max(1, len(entries))
    )


def _float32_bytes(values: list[float]) -> bytes:
    """Scores as little-endian float32: 4 bytes each, where msgpack takes 9 (5 as its float32)."""
    packed = array("f", values)
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tobytes()


def _used_memory(client: redis.Redis) -> int:
    info: dict[str, Any] = client.info("memory")
    return int(info["used_memory"])


def _as_bytes(data: Any) -> bytes:
    if isinstance(data, bytes):
        return data
    raise TypeError(f"expected bytes from Redis, got {type(data).__name__}")
