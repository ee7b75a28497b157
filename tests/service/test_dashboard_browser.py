"""The dashboard in a real browser: headless Chromium (Debian chromium + chromium-driver) via selenium.

Skipped, with the reason, when selenium, chromium or chromedriver is missing (CI installs them:
``apt-get install -y chromium chromium-driver``).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lasps.pipeline import outputs as out
from lasps.service.app import create_app
from tests.service.browser import chromium_or_skip, full_page_png


@pytest.fixture(scope="module")
def server(service_home: Path) -> Iterator[str]:
    """uvicorn serving the app on a free port of 127.0.0.1, in a thread."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(service_home), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    driver = chromium_or_skip(str(tmp_path_factory.mktemp("chromium-profile")))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _rendered_chart(driver: Any) -> dict[str, float]:
    """Size of the first drawn chart line (a polyline inside an inline SVG) as the browser laid it out."""
    return driver.execute_script(
        "const p = document.querySelector('svg.lasps-chart polyline');"
        "if (!p) return null; const r = p.getBoundingClientRect();"
        "return {w: r.width, h: r.height, n: document.querySelectorAll('svg.lasps-chart').length};")


def _network_requests(driver: Any) -> list[str]:
    return driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")


def test_dashboard_pages(server: str, browser: Any, daily_run: tuple[Path, Any], tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    picks = list(daily_run[1].picks["code"])
    browser.get(server + "/")
    rows = browser.find_elements(By.CSS_SELECTOR, "table#picks tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[1].text for r in rows] == picks
    chart = _rendered_chart(browser)
    assert chart and chart["w"] > 200 and chart["h"] > 20 and chart["n"] >= 2
    assert _network_requests(browser) == []  # no scripts, fonts, images or style sheets fetched
    shot = full_page_png(browser, tmp_path / "dashboard.png")
    assert shot.stat().st_size > 20_000

    browser.get(server + "/picks")
    assert len(browser.find_elements(By.CSS_SELECTOR, "table#contributions tbody tr")) == len(picks)
    assert browser.find_elements(By.CSS_SELECTOR, "table#selection tbody tr")

    browser.get(server + "/rankings?split=all&by=ic_ir")
    assert len(browser.find_elements(By.CSS_SELECTOR, "table#rankings tbody tr")) == 30
    assert browser.find_elements(By.CSS_SELECTOR, "svg.lasps-chart rect")

    browser.get(server + "/backtests")
    link = browser.find_element(By.CSS_SELECTOR, "table#backtests tbody tr a")
    link.click()
    assert browser.find_element(By.CSS_SELECTOR, "table#metrics")
    assert _rendered_chart(browser)["w"] > 200

    browser.get(server + "/reports")
    browser.find_element(By.CSS_SELECTOR, "table#reports a").click()
    assert "LASPS daily alpha report" in browser.title
    full_page_png(browser, tmp_path / "report.png")


def test_report_file_opens_offline(browser: Any, daily_run: tuple[Path, Any]) -> None:
    """The HTML report renders from disk with its charts and requests nothing."""
    home, result = daily_run
    browser.get(out.report_paths(home, result.date)[1].as_uri())
    chart = _rendered_chart(browser)
    assert chart and chart["n"] >= 4 + len(result.picks)
    assert _network_requests(browser) == []
