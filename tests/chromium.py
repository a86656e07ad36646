"""Headless Chromium for the browser tests, cut off from everything but loopback.

Chromium is told to send every request through a proxy on a closed loopback
port, except requests to loopback itself, so nothing can leave the machine;
the tests then check from Chromium's own logs that nothing tried and that
the console stayed clean. With ``CI=true`` a missing Chromium, chromedriver
or selenium package fails the test; otherwise it skips.

The test modules take the ``browser`` fixture by assigning it to a name of
their own (``browser = chromium.browser``), or build their own fixture on
:func:`start_browser` when Chromium needs more (a download folder).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# URL schemes that never reach the network.
LOCAL_SCHEMES = frozenset({"data", "blob", "about", "chrome", "devtools"})
# Port 9 (discard) on loopback is closed: a proxied request fails.
CLOSED_PROXY = "http://127.0.0.1:9"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago.

    Returns:
        The port number.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    condition: Callable[[], Any],
    timeout_s: float,
    what: str,
    interval_s: float = 0.25,
    retry_on: tuple[type[Exception], ...] = (),
) -> Any:
    """Call ``condition`` until it returns something true, or fail the test.

    Args:
        condition: Called with no arguments; a true result ends the wait.
        timeout_s: How long to wait before failing the test.
        what: What is awaited, for the failure message.
        interval_s: The pause between two calls.
        retry_on: Exceptions from ``condition`` that count as a false result
            (such as a page redrawn under the call) rather than end the test.

    Returns:
        The first true result of ``condition``.
    """
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = condition()
        except retry_on as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval_s)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what} (last: {last!r})")


def require_browser() -> None:
    """Fail the test under ``CI=true``, else skip it, if Chromium is missing.

    Chromium, chromedriver (the paths in ``CHROMIUM`` and ``CHROMEDRIVER``)
    and the selenium package are all needed.
    """
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if not missing:
        return
    message = f"browser test needs {', '.join(missing)}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def start_browser(
    folder: Path, monkeypatch: pytest.MonkeyPatch, downloads: Path | None = None
) -> Iterator[Any]:
    """Start headless Chromium that can reach loopback only.

    Args:
        folder: Where the profile and chromedriver's log go (a ``tmp_path``).
        monkeypatch: Sets ``SE_OFFLINE`` for the test's duration.
        downloads: A folder for downloads to land in without a prompt;
            ``None`` leaves Chromium's default.

    Yields:
        The Selenium driver, with the browser's console and performance
        (network) logs kept; it quits when the block ends.
    """
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    # Selenium Manager must not look anything up online.
    monkeypatch.setenv("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--no-first-run",
        "--no-default-browser-check",
        "--window-size=1600,1000",
        f"--user-data-dir={folder / 'chromium-profile'}",
        f"--proxy-server={CLOSED_PROXY}",
        "--proxy-bypass-list=<-loopback>;127.0.0.1;localhost",
    ):
        options.add_argument(argument)
    if downloads is not None:
        options.add_experimental_option(
            "prefs",
            {
                "download.default_directory": str(downloads),
                "download.prompt_for_download": False,
                "safebrowsing.enabled": False,
            },
        )
    options.set_capability(
        "goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"}
    )
    service = Service(str(CHROMEDRIVER), log_output=str(folder / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.set_page_load_timeout(60)
        if downloads is not None:
            driver.execute_cdp_cmd(
                "Page.setDownloadBehavior",
                {"behavior": "allow", "downloadPath": str(downloads)},
            )
        yield driver
    finally:
        driver.quit()


@contextmanager
def run_demo(db_path: Path, log_path: Path) -> Iterator[str]:
    """``pantaulaut demo`` on a free loopback port, storing into ``db_path``.

    Yields:
        The dashboard's URL, once its log-in page answers. On the way out
        the demo is stopped and the end of its log printed (pytest shows it
        for a failed test).
    """
    port = free_port()
    # -P keeps the working directory off sys.path: the source folders there
    # must not shadow the installed package.
    command = [
        sys.executable,
        "-P",
        "-m",
        "pantaulaut",
        "demo",
        "--port",
        str(port),
        "--speed",
        "0",
        "--store",
        f"sqlite:///{db_path}",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    # Straight to loopback, whatever proxy the environment names.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def answers() -> bool:
        if process.poll() is not None:
            output = log_path.read_text(errors="replace")
            pytest.fail(f"demo exited with {process.returncode}:\n{output}")
        try:
            with opener.open(url + "login", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    try:
        wait_for(answers, 60, f"the dashboard at {url}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        print(log_path.read_text(errors="replace")[-3000:])


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Headless Chromium with every non-loopback request sent nowhere."""
    with start_browser(tmp_path, monkeypatch) as driver:
        yield driver


def requested_urls(driver: Any) -> list[str]:
    """The URLs the page requested since the last read of the network log.

    Args:
        driver: A driver from :func:`start_browser`.

    Returns:
        The URLs, in order; reading empties the log.
    """
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def is_loopback(url: str) -> bool:
    """Whether a URL stays on the machine (loopback, or no network at all).

    Args:
        url: Any URL, or any word (which is not loopback).

    Returns:
        True for loopback hosts and local schemes such as ``data:``.
    """
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    return (parts.hostname or "") in LOOPBACK_HOSTS


def outside_requests(driver: Any) -> list[str]:
    """The requests to anywhere but loopback since the last network log read.

    Args:
        driver: A driver from :func:`start_browser`.

    Returns:
        Their URLs; a test expects none.
    """
    return [u for u in requested_urls(driver) if not is_loopback(u)]


def console_errors(driver: Any, allow_blocked: bool = False) -> list[dict[str, Any]]:
    """The console's SEVERE entries since the last read of the console log.

    Args:
        driver: A driver from :func:`start_browser`.
        allow_blocked: Leave out the network errors (``net::ERR_``) of
            requests off loopback, which the closed proxy refused.

    Returns:
        The entries, as Selenium gives them; reading empties the log.
    """
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    if not allow_blocked:
        return severe
    return [
        e
        for e in severe
        if not (
            "net::ERR_" in e["message"] and not is_loopback(e["message"].split()[0])
        )
    ]


def assert_console_clean(driver: Any) -> None:
    """Fail with every SEVERE console message in full, if there is any.

    A bare ``assert not console_errors(...)`` shows pytest's shortened repr,
    which cuts the message at the point that says what went wrong.

    Args:
        driver: A driver from :func:`start_browser`.

    Raises:
        AssertionError: The console logged errors; the message lists them.
    """
    errors = console_errors(driver)
    if errors:
        lines = "\n".join(f"- {e['message']}" for e in errors)
        raise AssertionError(f"the browser console logged errors:\n{lines}")


def act_on(
    driver: Any,
    by: str,
    selector: str,
    act: Callable[[Any], None],
    what: str,
    timeout_s: float = 20,
) -> None:
    """Do something to an element once it is there and stays there.

    Dash re-renders a page's parts as its callbacks answer; an element found
    a moment before can be replaced (stale), or covered, before it is used.
    Such an attempt is tried again with the element found anew.

    Args:
        driver: A driver from :func:`start_browser`.
        by: Selenium's locator strategy, such as ``By.ID``.
        selector: The locator.
        act: Called with the first element found.
        what: What is done, for the failure message.
        timeout_s: How long to keep trying before failing the test.
    """
    from selenium.common.exceptions import (
        ElementClickInterceptedException,
        ElementNotInteractableException,
        StaleElementReferenceException,
    )

    def attempt() -> bool:
        found = driver.find_elements(by, selector)
        if not found:
            return False
        try:
            act(found[0])
        except (
            StaleElementReferenceException,
            ElementNotInteractableException,
            ElementClickInterceptedException,
        ):
            return False
        return True

    wait_for(attempt, timeout_s, what)
