"""Simulated shoppers on the storefront's API: they ask for their recommendations, see them, sometimes click
one and sometimes buy it, and say so through `POST /feedback`. That closes the loop in the demo (the online
metrics, click-through rate and hit rate, need real feedback) and gives the serving side steady traffic.

Bounded in time and count; paced by a token bucket; every answer that is not 2xx is counted, none raises.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from producers.pacing import TokenBucket


@dataclass
class ShopperReport:
    """What the shoppers did."""

    visits: int = 0
    clicks: int = 0
    purchases: int = 0
    answers: Counter[str] = field(default_factory=Counter)


class Shoppers:
    """Visits of `customers` simulated customers to the API at `rate` per second.

    Parameters
    ----------
    api
        The API's base URL (`http://127.0.0.1:8090`).
    customers
        How many customer ids (`u-000000`...) visit; the shop simulator's customers have these ids.
    rate
        Visits per second.
    click_probability, purchase_probability
        Chance that a visit clicks its first recommendation, and that a click ends in a purchase.
    seed
        The same seed gives the same visits.

    >>> shoppers = Shoppers("http://127.0.0.1:1", customers=10, rate=5.0, seed=1)
    >>> shoppers.customer_id(3)
    'u-000003'
    """

    def __init__(
        self,
        api: str,
        customers: int,
        rate: float,
        click_probability: float = 0.3,
        purchase_probability: float = 0.3,
        seed: int = 0,
        stop_event: threading.Event | None = None,
    ) -> None:
        self.api = api.rstrip("/")
        self.customers = customers
        self.rate = rate
        self.click_probability = click_probability
        self.purchase_probability = purchase_probability
        self.random = random.Random(seed)
        self.stop_event = stop_event or threading.Event()
        self.report = ShopperReport()

    @staticmethod
    def customer_id(index: int) -> str:
        return f"u-{index:06d}"

    def run(self, duration: float | None = None, count: int | None = None) -> ShopperReport:
        bucket = TokenBucket(self.rate, stop_event=self.stop_event)
        started = time.monotonic()
        with httpx.Client(base_url=self.api, timeout=5.0) as client:
            while not self.stop_event.is_set():
                if duration is not None and time.monotonic() - started >= duration:
                    break
                if count is not None and self.report.visits >= count:
                    break
                bucket.acquire(1)
                self.visit(client, self.customer_id(self.random.randrange(self.customers)))
        return self.report

    def visit(self, client: httpx.Client, customer: str) -> None:
        self.report.visits += 1
        listing = self._call(client, "get", f"/recommendations/{customer}", params={"k": 10})
        if listing is None or not listing.get("items"):
            return
        list_id = listing.get("recommendation_id") or None
        items = [entry["item_id"] for entry in listing["items"]]
        self._call(
            client,
            "post",
            "/feedback",
            json={
                "kind": "impression",
                "customer_id": customer,
                "recommendation_id": list_id,
                "item_ids": items,
            },
        )
        if self.random.random() >= self.click_probability:
            return
        position = self.random.randrange(min(3, len(items)))
        chosen = {
            "customer_id": customer,
            "recommendation_id": list_id,
            "item_id": items[position],
            "position": position,
        }
        self._call(client, "post", "/feedback", json={"kind": "click", **chosen})
        self.report.clicks += 1
        if self.random.random() < self.purchase_probability:
            self._call(client, "post", "/feedback", json={"kind": "purchase", **chosen})
            self.report.purchases += 1

    def _call(self, client: httpx.Client, method: str, path: str, **options: Any) -> dict[str, Any] | None:
        try:
            response = client.request(method, path, **options)
        except httpx.HTTPError as error:
            self.report.answers[type(error).__name__] += 1
            return None
        self.report.answers[str(response.status_code)] += 1
        if response.status_code >= 300:
            return None
        return (
            response.json()
            if response.headers.get("content-type", "").startswith("application/json")
            else None
        )
