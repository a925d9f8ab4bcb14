"""Headless Chromium for tests that look at a page as a person would: a session, and
screenshots kept in the test's folder and copied to target/screenshots/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.project import PROJECT_DIR

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SCREENSHOTS = PROJECT_DIR / "target" / "screenshots"


def _browser_and_driver() -> tuple[str, str]:
    """Paths of a Chromium and its chromedriver; skip the test when they are missing."""
    browser = os.environ.get("SPARKIFY_CHROMIUM") or next(
        (found for name in BROWSERS if (found := shutil.which(name))), None)
    if not browser:
        pytest.skip("no Chromium installed (apt-get install chromium chromium-driver; "
                    ".ci/run installs them): the browser tests need one")
    driver = os.environ.get("SPARKIFY_CHROMEDRIVER") or shutil.which("chromedriver")
    if not driver and os.environ.get("CHROMEWEBDRIVER"):
        driver = str(Path(os.environ["CHROMEWEBDRIVER"]) / "chromedriver")
    if not driver or not Path(driver).exists():
        pytest.skip(f"Chromium found ({browser}) but no chromedriver "
                    "(apt-get install chromium-driver)")
    return browser, driver


@contextmanager
def chrome_session(tmp_path: Path) -> Iterator[Any]:
    """A headless Chromium (selenium), its profile under `tmp_path`, quit afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    browser, driver = _browser_and_driver()
    options = Options()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1400,1000",
                     f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(argument)
    session = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    session.set_page_load_timeout(60)
    try:
        yield session
    finally:
        session.quit()


def screenshot(chrome: Any, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    assert chrome.save_screenshot(str(path)), f"no screenshot written to {path}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, SCREENSHOTS / name)
    return path
