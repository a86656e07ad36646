"""The desk's page in a real headless Chromium, cut off from the internet.

Runs ``pantaulaut demo`` on a free loopback port, plays the shipped recording
as fast as possible, and checks what an operator would see: vessels on the
map (rendered by MapLibre, not only present in the figure), the SART
activation at the top of the alert list in red, a hover label, zoom kept
across refreshes, no request to any host but 127.0.0.1, and a clean console.

The browser comes from ``tests/chromium.py``: everything but loopback goes
to a proxy on a closed loopback port, so nothing can leave the machine. With
``CI=true`` a missing Chromium or chromedriver fails the test; otherwise it
skips.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import chromium
import pytest
from chromium import is_loopback, requested_urls, wait_for
from conftest import add_desk_user_to_file, browser_login

SCREENSHOT_COPY = Path("/tmp/pantaulaut-dashboard.png")
HOVER_SCREENSHOT_COPY = Path("/tmp/pantaulaut-dashboard-hover.png")

# How many vessels (map points) the demo shows at the least.
MIN_POINTS = 10

COUNT_POINTS_JS = """
const gd = document.querySelector('#map .js-plotly-plot');
if (!gd || !gd._fullData) { return -1; }
return gd._fullData
  .filter(t => t.type === 'scattermap' && t.mode === 'markers' && t.customdata)
  .reduce((n, t) => n + t.lat.length, 0);
"""

RENDERED_JS = """
const gd = document.querySelector('#map .js-plotly-plot');
const sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
if (!sub || !sub.map || !sub.map.loaded()) { return null; }
const counts = {};
for (const f of sub.map.queryRenderedFeatures()) {
  counts[f.layer.type] = (counts[f.layer.type] || 0) + 1;
}
return counts;
"""

ALERTS_JS = """
const sart = document.querySelector(
  'li.alert[data-kind="sart_active"][data-severity="critical"]');
if (!sart) { return null; }
return {
  first: document.querySelector('li.alert').dataset.severity,
  text: sart.innerText,
  badge: getComputedStyle(sart.querySelector('.badge')).backgroundColor,
};
"""

HOVER_JS = """
return Array.from(document.querySelectorAll('#map .hoverlayer .hovertext'))
  .map(e => e.textContent).join(' ');
"""

POINT_PIXEL_JS = """
const gd = document.querySelector('#map .js-plotly-plot');
const sub = gd._fullLayout.map._subplot;
const trace = gd._fullData.find(t => (t.name || '').startsWith(arguments[0]));
const p = sub.map.project([trace.lon[0], trace.lat[0]]);
const box = sub.map.getContainer().getBoundingClientRect();
return [p.x + box.left, p.y + box.top];
"""


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    """``pantaulaut demo`` on a free loopback port; yields its URL."""
    # An account of the tests' own, so the demo makes none.
    add_desk_user_to_file(tmp_path / "demo.db")
    with chromium.run_demo(tmp_path / "demo.db", tmp_path / "demo.log") as url:
        yield url


browser = chromium.browser  # the fixture, for the test below


@pytest.mark.browser
@pytest.mark.network
def test_dashboard_shows_demo_traffic_offline(
    browser: Any, demo: str, tmp_path: Path
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.actions.wheel_input import ScrollOrigin
    from selenium.webdriver.common.by import By

    browser_login(browser, demo)
    browser.get(demo + "lang/en")  # the checks below read the English texts
    points = wait_for(
        lambda: (n := browser.execute_script(COUNT_POINTS_JS)) > MIN_POINTS and n,
        60,
        f"more than {MIN_POINTS} vessel points in the map's data",
    )
    # The page re-renders the list at every refresh: read it in one go.
    alerts = wait_for(
        lambda: browser.execute_script(ALERTS_JS),
        60,
        "a critical sart_active alert in the alert list",
    )
    # The map drew the points (MapLibre reports what it rendered).
    rendered = wait_for(
        lambda: (
            (c := browser.execute_script(RENDERED_JS)) and c.get("circle", 0) > 0 and c
        ),
        30,
        "MapLibre to render the vessel markers",
    )
    assert rendered.get("line", 0) > 0, rendered  # zone outlines and headings
    assert rendered.get("fill", 0) > 0, rendered  # zone areas

    # The most urgent alert is first, and red.
    assert alerts["first"] == "critical"
    assert "AIS-SART active: distress" in alerts["text"]  # the kind in words
    assert "WIB" in alerts["text"]
    assert alerts["badge"] == "rgb(212, 0, 0)"
    header = browser.find_element(By.CSS_SELECTOR, ".desk-header").text
    assert "pantaulaut — Sumenep 112 maritime desk" in header
    assert "vessels shown" in header
    assert "open alerts" in header
    assert "last data 2026-06-17" in header

    screenshot = tmp_path / "dashboard.png"
    assert browser.save_screenshot(str(screenshot))
    with contextlib.suppress(OSError):
        shutil.copyfile(screenshot, SCREENSHOT_COPY)

    # Hovering the beacon names it.
    x, y = browser.execute_script(POINT_PIXEL_JS, "Distress beacon")
    body = browser.find_element(By.TAG_NAME, "body")
    size = body.size
    ActionChains(browser).move_to_element_with_offset(
        body, int(x - size["width"] / 2), int(y - size["height"] / 2)
    ).perform()
    hover = wait_for(
        lambda: browser.execute_script(HOVER_JS),
        10,
        "a hover label on the beacon",
    )
    assert "AIS-SART" in hover
    assert "WIB" in hover

    hovered = tmp_path / "dashboard-hover.png"
    assert browser.save_screenshot(str(hovered))
    with contextlib.suppress(OSError):
        shutil.copyfile(hovered, HOVER_SCREENSHOT_COPY)

    # A zoom by the operator (mouse wheel) survives the next refreshes.
    zoom_js = (
        "return document.querySelector('#map .js-plotly-plot')._fullLayout.map.zoom"
    )
    before = browser.execute_script(zoom_js)
    map_div = browser.find_element(By.CSS_SELECTOR, "#map .js-plotly-plot")
    ActionChains(browser).scroll_from_origin(
        ScrollOrigin.from_element(map_div), 0, -600
    ).perform()
    zoomed = wait_for(
        lambda: (z := browser.execute_script(zoom_js)) > before + 0.3 and z,
        10,
        "the map to zoom in on the mouse wheel",
    )
    time.sleep(1.5)  # let the wheel's easing end
    zoomed = browser.execute_script(zoom_js)
    time.sleep(11)  # at least two refreshes at the default 5 s
    assert browser.execute_script(zoom_js) == pytest.approx(zoomed, abs=0.01)

    # Refreshes come from the interval only: no relayout feedback loop.
    urls = requested_urls(browser)
    updates = [u for u in urls if urlsplit(u).path == "/_dash-update-component"]
    assert 2 <= len(updates) <= 12, len(updates)

    outside = [u for u in urls if not is_loopback(u)]
    assert not outside, outside
    errors = chromium.console_errors(browser, allow_blocked=True)
    assert not errors, errors
    print(f"{points} points, rendered {rendered}")


@pytest.mark.parametrize(("ci", "outcome"), [("true", "Failed"), ("", "Skipped")])
def test_a_missing_browser_fails_on_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str, outcome: str
) -> None:
    monkeypatch.setattr(chromium, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("CI", ci)
    with pytest.raises(BaseException) as caught:  # noqa: PT011 (pytest outcomes)
        chromium.require_browser()
    assert type(caught.value).__name__ == outcome
    assert "no-chromium" in str(caught.value)
