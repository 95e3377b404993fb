"""Headless Chromium (Debian's `chromium` and `chromium-driver`) driven by selenium, for the storefront's
browser test and benchmark. selenium is a development dependency; it is imported only here."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1000",
)


class BrowserUnavailable(RuntimeError):
    """Chromium or its driver is missing. The message says how to install them."""


def find_chromium() -> tuple[str, str]:
    """Paths of the browser and its driver."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        raise BrowserUnavailable(
            "headless Chromium is needed: `make redis-tools`, or apt-get install -y chromium chromium-driver"
        )
    return browser, driver


@contextmanager
def headless_chromium(page_load_timeout_seconds: float = 30.0) -> Iterator[Any]:
    """A selenium WebDriver on a fresh profile, quit (and the profile removed) on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = find_chromium()
    profile = Path(tempfile.mkdtemp(prefix="storefront-chromium-"))
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(page_load_timeout_seconds)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def rendered_milliseconds(driver: Any, timeout_seconds: float = 30.0) -> float:
    """Wait until the storefront says it rendered both lists; return the time since navigation, in ms."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    WebDriverWait(driver, timeout_seconds).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "body[data-state='rendered']"))
    )
    return float(driver.execute_script("return window.recsRenderedMs"))
