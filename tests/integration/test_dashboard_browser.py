"""The dashboard page in headless Chromium (Debian's chromium + chromium-driver, via Selenium) on a real
worker fed by the replayed sample: summary cards, the chart, the tables and the drill-down render real
data; a click on "Generate fix" with the token entered puts a fix request on the fix-requests topic.
A screenshot is kept in ``test-artifacts/dashboard.png``.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from streamfix.kafka.wire import FixRequest
from streamfix.runtime.settings import Settings

from .helpers import REPO_ROOT, read_topic, running_worker
from .test_api_routes import API_ENV, TOKEN, prepare_topics, replay_sample, wait_for_patterns

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

pytestmark = [pytest.mark.kafka, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = REPO_ROOT / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,2000"]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("headless Chromium is not installed (scripts/install-browser.sh)")
    options = Options()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def refreshes(driver: WebDriver) -> int:
    """How many times the page has loaded its data (it counts them on <body>)."""
    return int(driver.execute_script("return Number(document.body.dataset.refreshes || 0)"))


def text_of(driver: WebDriver, element_id: str) -> str:
    return str(driver.find_element(By.ID, element_id).text)


def test_dashboard_renders_and_generates_a_fix(
    kafka_settings: Settings, tmp_path: Path, browser: WebDriver
) -> None:
    base = f"http://127.0.0.1:{kafka_settings.web_port}"
    prepare_topics(kafka_settings)
    with running_worker(kafka_settings, tmp_path / "worker.log", **API_ENV):
        expected = replay_sample(kafka_settings, time.time())
        patterns = wait_for_patterns(kafka_settings.web_port, expected, log=tmp_path / "worker.log")
        wait = WebDriverWait(browser, 30, poll_frequency=0.1)

        page = httpx.get(f"{base}/error-monitor/ui", timeout=10)
        csp = page.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert httpx.get(f"{base}/error-monitor/ui", headers={"Host": "evil.example"}, timeout=10).status_code == 421
        browser.get(f"{base}/error-monitor/ui")  # the page works under its own policy (no inline code)
        wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded") == "true")
        browser.find_element(By.ID, "auto-refresh").click()  # no timer re-rendering rows while we click them
        assert text_of(browser, "card-total") == str(patterns["total"])
        fixable = [p for p in patterns["patterns"] if p["fixable"]]
        assert text_of(browser, "card-fixable") == str(len(fixable))
        lines = browser.find_elements(By.CSS_SELECTOR, "#chart svg polyline")
        assert lines and all(line.get_attribute("data-category") for line in lines)
        legend = text_of(browser, "categories")
        assert all(category in legend for category in {p["category"] for p in patterns["patterns"]})

        buttons = browser.find_elements(By.CSS_SELECTOR, "#fixable-table button.generate-fix")
        assert buttons
        fingerprint = str(buttons[0].get_attribute("data-fingerprint"))
        buttons[0].click()  # without a token: the page asks for one
        wait.until(lambda d: "token" in text_of(d, "action-status"))

        done = refreshes(browser)
        browser.find_element(By.ID, "token").send_keys(TOKEN)
        browser.find_element(By.CSS_SELECTOR, "#token-form button").click()
        wait.until(lambda d: refreshes(d) > done)  # the page reloads its data with the token
        assert "token set" in text_of(browser, "token-state")
        assert browser.execute_script("return sessionStorage.getItem('streamfix.apiToken')") == TOKEN
        browser.find_element(
            By.CSS_SELECTOR, f"#fixable-table button[data-fingerprint='{fingerprint}']"
        ).click()
        wait.until(lambda d: "Fix requested" in text_of(d, "action-status"))
        assert f"{fingerprint}#1" in text_of(browser, "action-status")

        browser.find_element(
            By.CSS_SELECTOR, f"#fixable-table tr[data-fingerprint='{fingerprint}'] td"
        ).click()
        wait.until(lambda d: d.find_element(By.ID, "detail").is_displayed())
        assert text_of(browser, "detail-traceback").strip()
        assert fingerprint in text_of(browser, "detail-meta")

        done = refreshes(browser)
        Select(browser.find_element(By.ID, "hours")).select_by_value("1")  # the sample spans minutes
        wait.until(lambda d: refreshes(d) > done)
        assert (
            browser.execute_script("return document.querySelector('#chart svg').getAttribute('data-hours')")
            == "1"
        )
        ARTIFACTS.mkdir(exist_ok=True)
        browser.execute_script("window.scrollTo(0, 0)")
        assert browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))

        records = asyncio.run(
            read_topic(kafka_settings, f"{kafka_settings.topic_prefix}.fix-requests", 1, wait_s=30)
        )
    [record] = records
    request = FixRequest.from_obj(orjson.loads(record.value))
    assert (request.request_id, request.trigger, record.key) == (
        f"{fingerprint}#1",
        "api",
        fingerprint.encode(),
    )
