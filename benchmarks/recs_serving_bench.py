"""Serving speed of the recommendations API on this machine: cache hits at a fixed request rate, cache misses
answered by the fallback, the storefront in headless Chromium, precompute throughput, and cache memory.

    .venv/bin/python benchmarks/recs_serving_bench.py [--customers 20000] [--items 20000] [--rate 1000]
        [--hit-requests 10000] [--miss-requests 2000] [--storefront-loads 20] [--no-browser]

Prints one JSON object. Everything runs on loopback and stops by itself: a private redis-server, the API in
a subprocess (uvicorn, bounded by --max-seconds), and an open-loop load generator whose latencies are
measured from each request's scheduled time, so a stalled server cannot hide its queue (no coordinated
omission). The fallback here is an exact dot-product search over item vectors (a stand-in for the learner's
ANN index); pass --loader module:function --artifacts DIR to measure the real one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from consumers.recommendations.cache import ListCodec, RecommendationCache, make_redis_client, measure_memory
from consumers.recommendations.interface import Recommendation, RecommendationList, Recommender
from consumers.recommendations.precompute import Precomputer
from consumers.recommendations.redis_server import LocalRedis
from consumers.recommendations.serving_settings import RecommendationServingSettings

CATEGORIES = ("books", "garden", "kitchen", "music", "outdoor", "toys", "tools", "sports")


class VectorRecommender:
    """Exact top-k by dot product over random unit vectors: a deterministic stand-in for the learner."""

    def __init__(self, customers: int, items: int, dimensions: int = 32, seed: int = 11) -> None:
        generator = np.random.default_rng(seed)
        self.item_ids = [f"p-{index:07d}" for index in range(items)]
        self.item_index = {item_id: index for index, item_id in enumerate(self.item_ids)}
        self.item_vectors = generator.standard_normal((items, dimensions)).astype(np.float32)
        self.item_vectors /= np.linalg.norm(self.item_vectors, axis=1, keepdims=True)
        self.customer_vectors = generator.standard_normal((customers, dimensions)).astype(np.float32)
        self.customers = customers
        self.popular = tuple(Recommendation(item_id, 1.0, "popular") for item_id in self.item_ids[:100])

    @property
    def model_version(self) -> int:
        return 1

    @property
    def catalogue_size(self) -> int:
        return len(self.item_ids)

    def _top(self, query: np.ndarray, k: int, exclude: int | None, source: Any) -> tuple[Recommendation, ...]:
        scores = self.item_vectors @ query
        if exclude is not None:
            scores[exclude] = -np.inf
        top = np.argpartition(-scores, k)[:k]
        top = top[np.argsort(-scores[top])]
        return tuple(Recommendation(self.item_ids[index], float(scores[index]), source) for index in top)

    def recommend(self, customer_id: str, k: int) -> RecommendationList:
        try:
            number = int(customer_id.removeprefix("c-"))
        except ValueError:
            number = -1
        if not 0 <= number < self.customers:
            return RecommendationList(self.popular[:k], 1, cold_start=True, computed_at=1.7e9)
        return RecommendationList(
            self._top(self.customer_vectors[number], k, None, "hybrid"), 1, computed_at=1.7e9
        )

    def similar_items(self, item_id: str, k: int) -> RecommendationList | None:
        index = self.item_index.get(item_id)
        if index is None:
            return None
        return RecommendationList(
            self._top(self.item_vectors[index], k, index, "similar"), 1, computed_at=1.7e9
        )

    def knows_item(self, item_id: str) -> bool:
        return item_id in self.item_index

    def describe_item(self, item_id: str) -> dict[str, str] | None:
        index = self.item_index.get(item_id)
        if index is None:
            return None
        return {
            "name": f"Item {index}",
            "category": CATEGORIES[index % len(CATEGORIES)],
            "price": f"{9 + index % 90}.99",
        }


def fallback_from(args: argparse.Namespace) -> Recommender:
    if args.loader:
        from consumers.recommendations.service import load_fallback

        return load_fallback(args.loader, Path(args.artifacts))
    return VectorRecommender(args.customers, args.items)


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# The API subprocess -----------------------------------------------------------------------------------


def serve(args: argparse.Namespace) -> int:
    import threading

    import uvicorn

    from consumers.recommendations.api import create_app
    from consumers.recommendations.service import build_state
    from streaming.config import Settings

    serving = RecommendationServingSettings(top_n=args.top_n)
    state = build_state(
        Settings(), fallback_from(args), args.redis_url, producer_factory=lambda: None, serving=serving
    )
    # Bounded: the server exits by itself even if the parent died without stopping it.
    threading.Timer(args.max_seconds, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
    uvicorn.run(create_app(state), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    return 0


def start_server(args: argparse.Namespace, redis_url: str, port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        __file__,
        "--serve",
        "--port",
        str(port),
        "--redis-url",
        redis_url,
        "--customers",
        str(args.customers),
        "--items",
        str(args.items),
        "--top-n",
        str(args.top_n),
        "--max-seconds",
        str(args.max_seconds),
    ]
    if args.loader:
        command += ["--loader", args.loader, "--artifacts", args.artifacts]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API exited with code {process.returncode}")
        try:
            import httpx

            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the API did not answer within 60 s")


# The load generator -----------------------------------------------------------------------------------


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> int:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def _open_loop(
    port: int, paths: list[str], rate: float, connections: int, max_seconds: float
) -> dict[str, Any]:
    """Send `paths` at `rate` per second over keep-alive connections; latency from each scheduled time."""
    started = time.perf_counter() + 0.2
    schedule = asyncio.Queue[tuple[float, str]]()
    for index, path in enumerate(paths):
        schedule.put_nowait((started + index / rate, path))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = started + max_seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while not schedule.empty() and time.perf_counter() < deadline:
                due, path = schedule.get_nowait()
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                status = await _get(reader, writer, path)
                latencies.append(time.perf_counter() - due)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    return _summary(latencies, statuses, elapsed, rate)


def _summary(latencies: list[float], statuses: dict[int, int], elapsed: float, rate: float) -> dict[str, Any]:
    ordered = sorted(latencies)

    def percentile(share: float) -> float:
        return (
            round(ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000, 3)
            if ordered
            else float("nan")
        )

    return {
        "requests": len(ordered),
        "target_rate_per_second": rate,
        "achieved_rate_per_second": round(len(ordered) / elapsed, 1),
        "p50_ms": percentile(0.50),
        "p95_ms": percentile(0.95),
        "p99_ms": percentile(0.99),
        "max_ms": round(ordered[-1] * 1000, 3) if ordered else None,
        "statuses": {str(code): count for code, count in sorted(statuses.items())},
    }


def load(port: int, paths: list[str], rate: float, connections: int, max_seconds: float) -> dict[str, Any]:
    return asyncio.run(_open_loop(port, paths, rate, connections, max_seconds))


# Storefront -------------------------------------------------------------------------------------------


def storefront(port: int, loads: int, customers: int, items: int) -> dict[str, Any]:
    from consumers.recommendations.browser import headless_chromium, rendered_milliseconds

    times: list[float] = []
    with headless_chromium() as driver:
        driver.get(f"http://127.0.0.1:{port}/shop/products/p-0000000?customer=c-0")  # warm the browser cache
        rendered_milliseconds(driver)
        for index in range(loads):
            driver.get(
                f"http://127.0.0.1:{port}/shop/products/p-{index % items:07d}?customer=c-{index % customers}"
            )
            times.append(rendered_milliseconds(driver))
    ordered = sorted(times)
    return {
        "loads": loads,
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "max_ms": round(ordered[-1], 1),
    }


# Main -------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=20_000, help="customers precomputed into Redis")
    parser.add_argument("--items", type=int, default=20_000, help="catalogue size")
    parser.add_argument("--top-n", type=int, default=50, help="length of each precomputed list")
    parser.add_argument("--rate", type=float, default=1000.0, help="requests per second for cache hits")
    parser.add_argument("--hit-requests", type=int, default=10_000)
    parser.add_argument("--miss-rate", type=float, default=200.0, help="requests per second for misses")
    parser.add_argument("--miss-requests", type=int, default=2_000)
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections of the generator")
    parser.add_argument("--storefront-loads", type=int, default=20)
    parser.add_argument("--no-browser", action="store_true", help="skip the storefront measurement")
    parser.add_argument("--memory-sample", type=int, default=20_000, help="entries written to measure memory")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="hard bound on the whole run")
    parser.add_argument("--loader", help="module:function of a real ArtifactLoader (with --artifacts)")
    parser.add_argument("--artifacts", help="artifacts directory for --loader")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args)
    if bool(args.loader) != bool(args.artifacts):
        parser.error("--loader and --artifacts go together")

    home = Path(tempfile.mkdtemp(prefix="recs-bench-"))
    redis = LocalRedis(
        RecommendationServingSettings(
            redis_port=free_port(), redis_home=home, redis_maxmemory_bytes=1024 * 1024 * 1024
        )
    )
    redis.start()
    result: dict[str, Any] = {"customers": args.customers, "items": args.items, "top_n": args.top_n}
    server: subprocess.Popen[bytes] | None = None
    try:
        model = fallback_from(args)
        serving = RecommendationServingSettings(top_n=args.top_n)
        cache = RecommendationCache(
            make_redis_client(redis.url, 5.0), serving.key_prefix, serving.entry_ttl_seconds
        )
        customers = [f"c-{index}" for index in range(args.customers)]
        precomputer = Precomputer(model, cache, top_n=args.top_n)
        report = precomputer.precompute_all(customers)
        result["precompute"] = {
            "customers": report.customers,
            "seconds": round(report.seconds, 2),
            "customers_per_second": round(report.customers / report.seconds, 1),
        }
        sample = min(args.memory_sample, args.customers)
        customer_lists = [
            (f"m-{index}", model.recommend(f"c-{index}", args.top_n)) for index in range(sample)
        ]
        item_lists = [
            (f"m-{index}", model.similar_items(f"p-{index:07d}", args.top_n))
            for index in range(min(sample, args.items))
        ]
        uncompressed = ListCodec(compress_min_bytes=10**9)
        result["memory"] = {
            "customers": measure_memory(cache, "customer", customer_lists).as_dict(),
            "items": measure_memory(
                cache, "item", [(key, value) for key, value in item_lists if value]
            ).as_dict(),
            "customer_list_uncompressed_bytes": round(
                statistics.fmean(len(uncompressed.encode(listing)) for _, listing in customer_lists), 1
            ),
        }
        port = free_port()
        server = start_server(args, redis.url, port)
        # Warm-up, then cache hits at the target rate.
        load(port, [f"/recommendations/c-{index}" for index in range(500)], 500.0, args.connections, 30)
        hits = [
            f"/recommendations/c-{(index * 7919) % args.customers}?k=10" for index in range(args.hit_requests)
        ]
        result["cache_hits"] = load(port, hits, args.rate, args.connections, args.max_seconds / 3)
        # Misses: known items never precomputed, answered by the fallback's search.
        misses = [
            f"/items/p-{(index * 7919) % args.items:07d}/similar?k=10" for index in range(args.miss_requests)
        ]
        result["cache_misses_fallback"] = load(
            port, misses, args.miss_rate, args.connections, args.max_seconds / 3
        )
        if not args.no_browser:
            result["storefront_rendered"] = storefront(
                port, args.storefront_loads, args.customers, args.items
            )
        result["goals"] = {"cache_hits_p99_ms": 5, "cache_misses_p99_ms": 30, "storefront_p95_ms": 300}
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
        redis.stop()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
