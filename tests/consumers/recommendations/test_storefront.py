"""The storefront in a real headless Chromium: both lists render from the API, impressions and clicks reach
/feedback, and an unknown product still renders. Navigation-to-rendered time is printed, not asserted."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from consumers.recommendations.browser import headless_chromium, rendered_milliseconds
from consumers.recommendations.cache import RecommendationCache
from consumers.recommendations.precompute import Precomputer
from consumers.recommendations.serving_settings import RecommendationServingSettings
from tests.consumers.recommendations.conftest import ApiFactory
from tests.consumers.recommendations.support import CovisitationRecommender

#: The README's picture is refreshed only when asked (STREAMING_UPDATE_SCREENSHOTS=1), not on every run.
SCREENSHOT = Path(__file__).resolve().parents[3] / "docs" / "images" / "storefront.png"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with headless_chromium() as driver:
        yield driver


def _cards(driver: Any, row: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, f"#{row}-items .card"))


def _events(client: httpx.Client, kind: str) -> float:
    prefix = f'streaming_recommendation_feedback_events_total{{kind="{kind}",service="recommendations-api"}} '
    lines = [line for line in client.get("/metrics").text.splitlines() if line.startswith(prefix)]
    return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0


def test_the_product_page_renders_both_lists_and_sends_feedback(
    browser: Any,
    apis: ApiFactory,
    redis_url: str,
    serving: RecommendationServingSettings,
    cache: RecommendationCache,
    recommender: CovisitationRecommender,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from selenium.webdriver.support.wait import WebDriverWait

    Precomputer(recommender, cache, top_n=20).precompute_all(["c-00007"], ["p-0007"])
    server, _state = apis.start(recommender, redis_url, serving)
    client = httpx.Client(base_url=server.url)
    browser.get(f"{server.url}/shop/products/p-0007?customer=c-00007")
    milliseconds = rendered_milliseconds(browser)
    with capsys.disabled():
        print(f"\nstorefront: navigation to both lists rendered in {milliseconds:.0f} ms")
    for_you, similar = _cards(browser, "for-you"), _cards(browser, "similar")
    expected_for_you = cache.get("customer", "c-00007")
    expected_similar = cache.get("item", "p-0007")
    assert expected_for_you is not None and expected_similar is not None
    assert [card.get_attribute("data-item-id") for card in for_you] == [
        item.item_id for item in expected_for_you.items[:10]
    ]
    assert [card.get_attribute("data-item-id") for card in similar] == [
        item.item_id for item in expected_similar.items[:10]
    ]
    assert recommender.history.catalogue["p-0007"]["name"] in browser.find_element("css selector", "h1").text
    WebDriverWait(browser, 20).until(lambda _: _events(client, "impression") == 20)
    browser.set_window_size(1280, 1000)  # both rows in the picture
    picture = SCREENSHOT if os.environ.get("STREAMING_UPDATE_SCREENSHOTS") else tmp_path / "storefront.png"
    assert browser.save_screenshot(str(picture)) and picture.stat().st_size > 10_000
    # A click is sent, then the clicked product's page opens and renders in turn.
    clicked = for_you[0].get_attribute("data-item-id")
    for_you[0].click()
    WebDriverWait(browser, 20).until(lambda driver: f"/shop/products/{clicked}" in driver.current_url)
    rendered_milliseconds(browser)
    WebDriverWait(browser, 20).until(lambda _: _events(client, "click") == 1)
    assert _events(client, "impression") > 20  # the new page's lists were shown too


def test_an_unknown_product_and_a_new_customer_still_render(
    browser: Any,
    apis: ApiFactory,
    redis_url: str,
    serving: RecommendationServingSettings,
    recommender: CovisitationRecommender,
) -> None:
    server, _state = apis.start(recommender, redis_url, serving)
    browser.get(f"{server.url}/shop/products/p-9999?customer=first-visit")
    rendered_milliseconds(browser)
    assert "Product not found" in browser.find_element("css selector", "h1").text
    assert len(_cards(browser, "for-you")) == 10
    assert "popular picks" in browser.find_element("id", "for-you-note").text
    assert _cards(browser, "similar") == []
