"""The desk's map, vessel and playback pages in headless Chromium, offline.

The shipped recording is replayed into a SQLite file, the desk is served
from it on a free loopback port inside the test process, and Chromium logs
in with an account made for the test. Chromium (``tests/chromium.py``) sends
everything that is not loopback to a closed port, so nothing leaves the
machine; the test checks that nothing tried. With ``CI=true`` a missing
Chromium fails the tests.

The map screenshot is written to a temporary folder and read back in the
same browser (a canvas) to check that the land layer is drawn: a map with
no land coloured pixels, or a blank one, fails.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chromium
import pytest
from chromium import act_on, assert_console_clean, free_port, outside_requests, wait_for
from conftest import add_desk_user, browser_login

from pantaulaut.config import Config, DashboardConfig
from pantaulaut.dashboard.app import create_app
from pantaulaut.data import __file__ as data_init
from pantaulaut.geofence.zones import load_zones
from pantaulaut.store.sqlite import SqliteStore

RECORDING = Path(data_init).parent / "sumenep-demo.nmea.gz"
# The land fill of the map (figures._LAND_COLOUR), as the screenshot shows it.
LAND_RGB = (232, 223, 200)

MARKERS_JS = """
const gd = document.querySelector(arguments[0] + ' .js-plotly-plot');
if (!gd || !gd.data) { return -1; }
return gd.data.filter(t => t.mode === 'markers' && t.customdata)
  .reduce((n, t) => n + t.lat.length, 0);
"""

POSITIONS_JS = """
const gd = document.querySelector('#playback-map .js-plotly-plot');
if (!gd || !gd.data) { return null; }
const found = {};
for (const t of gd.data) {
  if (t.mode !== 'markers' || !t.customdata) { continue; }
  t.customdata.forEach((m, i) => { found[m] = [t.lat[i], t.lon[i]]; });
}
return found;
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

LAYER_VISIBLE_JS = """
const gd = document.querySelector('#map .js-plotly-plot');
const layers = gd.layout.map.layers;
const index = layers.findIndex(l => l.name === arguments[0]);
return index < 0 ? null : layers[index].visible !== false;
"""

MARKER_PIXEL_JS = """
const gd = document.querySelector('#map .js-plotly-plot');
const sub = gd._fullLayout.map._subplot;
const trace = gd._fullData.find(
  t => t.mode === 'markers' && t.customdata && t.customdata.length);
const p = sub.map.project([trace.lon[0], trace.lat[0]]);
const box = sub.map.getContainer().getBoundingClientRect();
return [p.x + box.left, p.y + box.top, trace.customdata[0]];
"""

# Counts the screenshot's pixels near a colour, and its distinct colours.
PIXELS_JS = """
const [data, rgb, done] = [arguments[0], arguments[1], arguments[2]];
const image = new Image();
image.onload = () => {
  const canvas = document.createElement('canvas');
  canvas.width = image.width;
  canvas.height = image.height;
  const g = canvas.getContext('2d');
  g.drawImage(image, 0, 0);
  const px = g.getImageData(0, 0, image.width, image.height).data;
  let near = 0;
  const colours = new Set();
  for (let i = 0; i < px.length; i += 4) {
    if (Math.abs(px[i] - rgb[0]) <= 6 && Math.abs(px[i + 1] - rgb[1]) <= 6
        && Math.abs(px[i + 2] - rgb[2]) <= 6) { near += 1; }
    if (i % 40 === 0) { colours.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]); }
  }
  done({near: near, total: px.length / 4, colours: colours.size});
};
image.onerror = () => done(null);
image.src = 'data:image/png;base64,' + data;
"""


@dataclass(frozen=True)
class Desk:
    url: str
    vessel_name: str
    vessel_mmsi: int


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """The desk over the replayed recording, served on loopback."""
    from werkzeug.serving import make_server

    folder = tmp_path_factory.mktemp("desk")
    database = folder / "desk.db"
    replay = subprocess.run(
        [
            sys.executable,
            "-P",
            "-m",
            "pantaulaut",
            "replay",
            str(RECORDING),
            "--store",
            f"sqlite:///{database}",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert replay.returncode == 0, replay.stderr[-3000:]
    store = SqliteStore(str(database))
    add_desk_user(store)
    named = next(v for v in store.vessels() if v.name and v.lat_deg is not None)
    settings = DashboardConfig(
        refresh_s=2.0, recent_minutes=120, secret_key="browser-test-key-0123456789"
    )
    app = create_app(store, Config(dashboard=settings), load_zones())
    server = make_server("127.0.0.1", free_port(), app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Desk(f"http://127.0.0.1:{server.port}/", named.name or "", named.mmsi)
    finally:
        server.shutdown()
        thread.join(10)
        store.close()


browser = chromium.browser  # the fixture, for the tests below


def log_in(browser: Any, desk: Desk, language: str = "en") -> None:
    from selenium.webdriver.common.by import By

    browser.get(desk.url + f"lang/{language}")
    browser_login(browser, desk.url)
    wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, "#nav .nav-link"),
        30,
        "the desk's navigation after log-in",
    )


def screenshot_pixels(browser: Any, path: Path) -> dict[str, int]:
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    result = browser.execute_async_script(PIXELS_JS, encoded, list(LAND_RGB))
    assert result, "the screenshot cannot be decoded"
    return dict(result)


@pytest.mark.browser
@pytest.mark.network
def test_map_shows_vessels_layers_and_a_selected_track(
    browser: Any, desk: Desk, tmp_path: Path
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    log_in(browser, desk)
    markers = wait_for(
        lambda: (n := browser.execute_script(MARKERS_JS, "#map")) > 10 and n,
        60,
        "vessel markers on the map",
    )
    rendered = wait_for(
        lambda: (
            (c := browser.execute_script(RENDERED_JS))
            and c.get("circle", 0) > 0
            and c.get("fill", 0) > 0
            and c
        ),
        30,
        "MapLibre to draw markers and filled layers",
    )
    assert rendered.get("line", 0) > 0, rendered
    assert browser.execute_script(LAYER_VISIBLE_JS, "land") is True

    shot = tmp_path / "map-layers.png"

    def land_painted() -> dict[str, int] | None:
        # The style has the fill layer before MapLibre has painted it: on a
        # busy machine the first frames can still be without land.
        assert browser.save_screenshot(str(shot))
        pixels = screenshot_pixels(browser, shot)
        return pixels if pixels["near"] > 0.01 * pixels["total"] else None

    pixels = wait_for(land_painted, 30, "land painted in the screenshot")
    assert pixels["colours"] > 20, pixels  # not blank

    # The layer switch hides the land; the vessels stay as they were.
    land = browser.find_element(By.CSS_SELECTOR, "#map-layers input[value='land']")
    land.click()
    wait_for(
        lambda: browser.execute_script(LAYER_VISIBLE_JS, "land") is False,
        10,
        "the land layer to be hidden",
    )
    assert browser.execute_script(MARKERS_JS, "#map") == markers
    time.sleep(1.0)
    hidden = tmp_path / "map-no-land.png"
    assert browser.save_screenshot(str(hidden))
    assert screenshot_pixels(browser, hidden)["near"] < pixels["near"] / 4
    land.click()

    # A click on a vessel selects it: its track, the slider and a link.
    x, y, mmsi = browser.execute_script(MARKER_PIXEL_JS)
    body = browser.find_element(By.TAG_NAME, "body")
    size = body.size
    ActionChains(browser).move_to_element_with_offset(
        body, int(x - size["width"] / 2), int(y - size["height"] / 2)
    ).click().perform()
    selected = wait_for(
        lambda: (
            f"MMSI {mmsi}" in (t := browser.find_element(By.ID, "map-selected").text)
            and t
        ),
        15,
        "the clicked vessel in the side panel",
    )
    assert "vessel details" in selected
    link = browser.find_element(By.ID, "selected-link")
    assert link.get_attribute("href").endswith(f"/vessels/{mmsi}")
    wait_for(
        lambda: (
            browser.find_element(By.ID, "track-slider-box").get_attribute("class")
            == "track-slider"
        ),
        10,
        "the track's time slider",
    )
    assert browser.save_screenshot(str(tmp_path / "map-selected.png"))

    assert not outside_requests(browser)
    assert_console_clean(browser)


@pytest.mark.browser
@pytest.mark.network
def test_vessel_search_leads_to_the_detail_page(browser: Any, desk: Desk) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, desk)
    act_on(browser, By.ID, "nav-vessels", lambda e: e.click(), "the Vessels link")
    word = max(desk.vessel_name.split(), key=len)
    act_on(
        browser, By.ID, "vessel-query", lambda e: e.send_keys(word.lower()), "search"
    )
    act_on(
        browser,
        By.CSS_SELECTOR,
        f"li[data-mmsi='{desk.vessel_mmsi}'] a",
        lambda e: e.click(),
        f"a search result for {word!r}",
    )
    heading = wait_for(
        lambda: browser.find_elements(By.ID, "vessel-name"), 20, "the detail page"
    )[0]
    assert desk.vessel_name in heading.text
    assert str(desk.vessel_mmsi) in heading.text
    facts = browser.find_element(By.CSS_SELECTOR, ".vessel-facts").text
    assert "Last heard" in facts
    assert "WIB" in facts
    assert "By station" in facts
    assert browser.current_url.endswith(f"/vessels/{desk.vessel_mmsi}")
    wait_for(
        lambda: browser.execute_script(
            "const gd = document.querySelector('#vessel-map .js-plotly-plot');"
            "return gd && gd._fullLayout && gd._fullLayout.map ? 1 : 0;"
        ),
        20,
        "the detail page's small map",
    )
    assert not outside_requests(browser)
    assert_console_clean(browser)


@pytest.mark.browser
@pytest.mark.network
def test_playback_moves_the_vessels(browser: Any, desk: Desk) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, desk)
    act_on(browser, By.ID, "nav-playback", lambda e: e.click(), "the Playback link")
    wait_for(
        lambda: browser.find_elements(By.ID, "playback-play"), 20, "the playback page"
    )
    act_on(
        browser,
        By.CSS_SELECTOR,
        "#playback-speed input[value='600']",
        lambda e: e.click(),
        "the 600x speed",
    )
    act_on(browser, By.ID, "playback-play", lambda e: e.click(), "the play button")
    first = wait_for(
        lambda: browser.execute_script(POSITIONS_JS), 20, "vessels in the playback"
    )
    clock = browser.find_element(By.ID, "playback-clock").text
    assert "WIB" in clock

    def moved() -> bool:
        now = browser.execute_script(POSITIONS_JS) or {}
        return any(now.get(m) not in (None, p) for m, p in first.items()) or bool(
            set(now) - set(first)
        )

    wait_for(moved, 20, "a vessel to move in the playback")
    assert browser.find_element(By.ID, "playback-clock").text != clock
    browser.find_element(By.ID, "playback-pause").click()
    paused = wait_for(
        lambda: (
            "paused" in (t := browser.find_element(By.ID, "playback-clock").text) and t
        ),
        10,
        "the playback to pause",
    )
    time.sleep(2.5)
    assert browser.find_element(By.ID, "playback-clock").text == paused
    assert not outside_requests(browser)
    assert_console_clean(browser)
