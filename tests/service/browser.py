"""Headless Chromium for the dashboard tests (Debian ``chromium`` + ``chromium-driver`` via selenium).

:func:`chromium_or_skip` returns a WebDriver or skips the test with the reason (selenium, chromium or
chromedriver missing). :func:`full_page_png` captures a whole page (beyond the viewport) through the
DevTools protocol. Also usable as a script to refresh ``docs/img/report.png``::

    python tests/service/browser.py lasps_home/demo/reports/2026-10-30_alpha.html docs/img/report.png
"""

from __future__ import annotations

import base64
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--hide-scrollbars", "--force-device-scale-factor=1")
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
DRIVERS = ("chromedriver", "chromium-driver")


def find_binaries() -> tuple[str | None, str | None, str]:
    """``(browser, driver, reason)``; reason is empty when both were found."""
    browser = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    driver = next((shutil.which(d) for d in DRIVERS if shutil.which(d)), None)
    missing = [n for n, p in (("chromium", browser), ("chromedriver", driver)) if p is None]
    reason = "" if not missing else (f"{' and '.join(missing)} not installed "
                                     "(apt-get install -y chromium chromium-driver)")
    return browser, driver, reason


def make_driver(user_data_dir: str, width: int = 1280, height: int = 900) -> Any:
    """A headless Chrome WebDriver (raises ImportError without selenium, RuntimeError without binaries)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver, reason = find_binaries()
    if reason:
        raise RuntimeError(reason)
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser  # type: ignore[assignment]
    for f in FLAGS:
        opts.add_argument(f)
    opts.add_argument(f"--user-data-dir={user_data_dir}")
    opts.add_argument(f"--window-size={width},{height}")
    return webdriver.Chrome(service=Service(executable_path=driver), options=opts)


def chromium_or_skip(user_data_dir: str) -> Any:
    """:func:`make_driver`, or ``pytest.skip`` with the reason."""
    import pytest

    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[dev]')")
    _, _, reason = find_binaries()
    if reason:
        pytest.skip(reason)
    return make_driver(user_data_dir)


def full_page_png(driver: Any, path: Path, width: int = 1280) -> Path:
    """Screenshot of the whole page (not just the viewport) to ``path``."""
    height = int(driver.execute_script("return Math.ceil(document.documentElement.scrollHeight)"))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                             "fromSurface": True})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def main(argv: list[str]) -> int:  # pragma: no cover - a maintenance script
    src, dst = Path(argv[0]).resolve(), Path(argv[1])
    with tempfile.TemporaryDirectory() as profile:
        driver = make_driver(profile)
        try:
            driver.get(src.as_uri())
            full_page_png(driver, dst)
        finally:
            driver.quit()
    print(dst)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
