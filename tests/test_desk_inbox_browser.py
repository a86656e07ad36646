"""The alert inbox, station health and exports in headless Chromium, offline.

``pantaulaut demo`` plays the shipped Sumenep recording into a SQLite file
that already holds two desk accounts, an operator and a viewer; Chromium
(``tests/chromium.py``) is cut off from everything but loopback (a proxy on
a closed port for the rest). An operator acknowledges and then resolves the
recording's SART alert and sees both acts in its audit trail; a viewer sees
the inbox with no controls, and a hand-made request for the act is refused
by the server; a CSV of the vessel register is downloaded and its rows
checked against the store; a station that stopped sending stands out on the
station page.
"""

from __future__ import annotations

import csv
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import chromium
import pytest
from chromium import act_on, assert_console_clean, outside_requests
from conftest import (
    add_desk_user_to_file,
    browser_login,
    desk_opener,
    inbox_act_request,
)

OPERATOR = "desk-operator"
VIEWER = "desk-viewer"
DOWN_STATION = "ZZ-TEST-SILENT"

pytestmark = [pytest.mark.browser, pytest.mark.network]


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """``chromium.wait_for``, trying again when a page is redrawn under the call.

    The inbox and export pages redraw their parts at every refresh, so an
    element read by ``condition`` can vanish between two of its lines.
    """
    return chromium.wait_for(
        condition, timeout_s, what, interval_s=0.2, retry_on=(Exception,)
    )


class Desk:
    """The demo service: its URL and its store file."""

    def __init__(self, url: str, db_path: Path) -> None:
        self.url = url
        self.db_path = db_path


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """``pantaulaut demo`` with an operator and a viewer account."""
    folder = tmp_path_factory.mktemp("desk")
    db_path = folder / "demo.db"
    add_desk_user_to_file(db_path, OPERATOR, role="operator")
    add_desk_user_to_file(db_path, VIEWER, role="viewer")
    with chromium.run_demo(db_path, folder / "demo.log") as url:
        yield Desk(url, db_path)


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    folder = tmp_path / "downloads"
    folder.mkdir()
    return folder


@pytest.fixture
def browser(
    tmp_path: Path, downloads: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """Headless Chromium: loopback only, downloads into ``downloads``."""
    with chromium.start_browser(tmp_path, monkeypatch, downloads) as driver:
        yield driver


def click(driver: Any, selector: str) -> None:
    """Click an element that a refresh may redraw at any moment."""
    from selenium.webdriver.common.by import By

    act_on(
        driver, By.CSS_SELECTOR, selector, lambda e: e.click(), f"a click on {selector}"
    )


def audit(driver: Any) -> list[tuple[str, str]]:
    rows = driver.execute_script(
        """
        return Array.from(document.querySelectorAll('#inbox-audit tr.audit-entry'))
          .map(r => [r.dataset.action, r.querySelector('.actor').textContent]);
        """
    )
    return [(a, b) for a, b in rows]


def sart_row(driver: Any) -> dict[str, str] | None:
    found: dict[str, str] | None = driver.execute_script(
        """
        const row = document.querySelector(
          'li.inbox-row[data-kind="sart_active"][data-severity="critical"]');
        if (!row) { return null; }
        return {id: row.dataset.alert, state: row.dataset.state,
                classes: row.className,
                first: document.querySelector('li.inbox-row').dataset.severity};
        """
    )
    return found


def test_an_operator_acknowledges_then_resolves_and_the_trail_shows_both(
    browser: Any, desk: Desk
) -> None:
    from selenium.webdriver.common.by import By

    browser_login(browser, desk.url, OPERATOR)
    browser.get(desk.url + "inbox")
    row = wait_for(
        lambda: (r := sart_row(browser)) and r["state"] == "open" and r,
        90,
        "the open SART alert in the inbox",
    )
    # Most severe first; a critical alert nobody has taken on is flagged.
    assert row["first"] == "critical"
    assert "unacknowledged-critical" in row["classes"]
    banner = browser.find_element(By.ID, "inbox-critical")
    assert "flashing" in (banner.get_attribute("class") or "")
    assert banner.text

    # The sound is switched on by a click, and then the tone plays.
    click(browser, "#inbox-sound")
    wait_for(
        lambda: (
            "on"
            in (
                browser.find_element(By.ID, "inbox-sound").get_attribute("class") or ""
            ).split()
        ),
        10,
        "the sound switched on",
    )
    wait_for(
        lambda: browser.execute_script(
            "const a = document.getElementById('inbox-tone');"
            "return a.played.length > 0 || a.currentTime > 0;"
        ),
        10,
        "the alert tone to play",
    )

    alert_id = row["id"]
    click(browser, f'li[data-alert="{alert_id}"] button')
    wait_for(
        lambda: browser.find_elements(
            By.CSS_SELECTOR, f'#inbox-detail [data-alert="{alert_id}"]'
        ),
        20,
        "the alert's details",
    )
    # The beacon's alert leads to its page, where its track is.
    link = browser.find_element(By.ID, "inbox-vessel-link")
    assert "/vessels/97" in (link.get_attribute("href") or "")
    browser.find_element(By.ID, "inbox-note").send_keys("KN SAR Kalianget dikirim")
    click(browser, "#inbox-acknowledge")
    wait_for(
        lambda: ("acknowledged", OPERATOR) in audit(browser),
        20,
        "the acknowledgement in the audit trail",
    )
    feedback = browser.find_element(By.ID, "inbox-feedback")
    assert "ok" in (feedback.get_attribute("class") or "")
    click(browser, "#inbox-resolve")
    trail = wait_for(
        lambda: (a := audit(browser)) and ("resolved", OPERATOR) in a and a,
        20,
        "the resolution in the audit trail",
    )
    assert trail[0] == ("opened", "system")
    assert trail.index(("acknowledged", OPERATOR)) < trail.index(("resolved", OPERATOR))
    detail = browser.find_element(By.CSS_SELECTOR, f'[data-alert="{alert_id}"]')
    assert detail.get_attribute("data-state") == "resolved"
    # A resolved alert takes no more acts: the buttons say so before the
    # server would.
    assert {
        button.get_attribute("id"): button.value_of_css_property("pointer-events")
        for button in browser.find_elements(By.CSS_SELECTOR, "#inbox-controls button")
    } == dict.fromkeys(
        ["inbox-acknowledge", "inbox-comment", "inbox-resolve", "inbox-assign"], "none"
    )
    # Resolved alerts leave the default list (open and acknowledged).
    wait_for(
        lambda: (
            not browser.find_elements(
                By.CSS_SELECTOR, f'li.inbox-row[data-alert="{alert_id}"]'
            )
        ),
        20,
        "the resolved alert to leave the list",
    )
    assert outside_requests(browser) == []
    assert_console_clean(browser)


def test_a_viewer_has_no_controls_and_a_forged_act_is_refused(
    browser: Any, desk: Desk
) -> None:
    from selenium.webdriver.common.by import By

    browser_login(browser, desk.url, VIEWER)
    browser.get(desk.url + "inbox")
    rows = wait_for(
        lambda: browser.execute_script(
            "return Array.from(document.querySelectorAll('li.inbox-row'))"
            ".map(r => [r.dataset.alert, r.dataset.state]);"
        ),
        90,
        "alerts in the viewer's inbox",
    )
    assert browser.find_elements(By.CSS_SELECTOR, ".inbox-read-only")
    for control in (
        "inbox-controls",
        "inbox-acknowledge",
        "inbox-assign",
        "inbox-comment",
        "inbox-resolve",
    ):
        assert browser.find_elements(By.ID, control) == [], control

    alert_id, state = rows[0]
    opener = desk_opener(desk.url, VIEWER)
    payload = inbox_act_request(alert_id, "inbox-resolve")
    request = urllib.request.Request(
        desk.url + "_dash-update-component",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(request, timeout=10)
    assert refused.value.code == 403

    from pantaulaut.model import AlertState
    from pantaulaut.store.sqlite import SqliteStore

    store = SqliteStore(str(desk.db_path))
    try:
        (same,) = [
            a for a in store.alerts(states=tuple(AlertState)) if a.id == alert_id
        ]
    finally:
        store.close()
    assert same.state.value == state
    assert all(e["note"] != "forged" for e in same.history)


def test_a_downloaded_vessel_register_matches_the_store(
    browser: Any, desk: Desk, downloads: Path
) -> None:
    from selenium.webdriver.common.by import By

    browser_login(browser, desk.url, OPERATOR)
    window = "what=vessels&format=csv&start={}&end={}".format(
        quote("2000-01-01 00:00"), quote("2100-01-01 00:00")
    )
    browser.get(f"{desk.url}exports?{window}")
    click(browser, "#export-go")
    done = wait_for(
        lambda: browser.find_elements(By.ID, "export-done"), 60, "the export"
    )
    rows_said = int(done[0].get_attribute("data-rows") or -1)
    path = wait_for(
        lambda: [p for p in downloads.glob("*.csv") if p.stat().st_size > 0],
        30,
        "the CSV in the download folder",
    )[0]
    assert path.name.startswith("pantaulaut-vessels-")
    with path.open(newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))

    from pantaulaut.store.sqlite import SqliteStore

    store = SqliteStore(str(desk.db_path))
    try:
        vessels = {v.mmsi: v for v in store.vessels()}
    finally:
        store.close()
    assert len(table) == rows_said == len(vessels) > 10
    for row in table:
        vessel = vessels[int(row["mmsi"])]
        assert (row["name"] or None) == vessel.name
        if vessel.lat_deg is not None:
            assert float(row["lat_deg"]) == pytest.approx(vessel.lat_deg, abs=1e-5)

    # The day's summary: the form starts on the last day of the recording.
    click(browser, "#summary-go")
    summary = wait_for(
        lambda: [p for p in downloads.glob("*.md") if p.stat().st_size > 0],
        60,
        "the daily summary in the download folder",
    )[0]
    newest = max(v.last_seen for v in vessels.values() if v.last_seen is not None)
    wib_day = (newest + timedelta(hours=7)).date().isoformat()
    assert summary.name == f"pantaulaut-summary-{wib_day}-WIB.md"
    assert summary.read_text(encoding="utf-8").strip()
    assert outside_requests(browser) == []
    assert_console_clean(browser)


def test_a_station_that_stopped_sending_stands_out(browser: Any, desk: Desk) -> None:
    from selenium.webdriver.common.by import By

    from pantaulaut.model import StationStats
    from pantaulaut.store.base import Batch
    from pantaulaut.store.sqlite import SqliteStore

    browser_login(browser, desk.url, VIEWER)
    store = SqliteStore(str(desk.db_path))
    try:
        heard = wait_for(
            lambda: [s for s in store.stations() if s.last_seen is not None],
            90,
            "the demo's stations in the store",
        )
        newest = max(s.last_seen for s in heard if s.last_seen is not None)
        # Busy for an hour, then silent for the last two hours of data.
        store.write(
            Batch(
                stations={
                    DOWN_STATION: StationStats(
                        station=DOWN_STATION,
                        lines=7200,
                        messages=7200,
                        vessel_count=12,
                        first_seen=newest - timedelta(hours=3),
                        last_seen=newest - timedelta(hours=2),
                    )
                }
            )
        )
    finally:
        store.close()
    browser.get(desk.url + "stations")
    rows = wait_for(
        lambda: browser.execute_script(
            "return Array.from(document.querySelectorAll('tr.station'))"
            ".map(r => [r.dataset.station, r.dataset.state,"
            " getComputedStyle(r).backgroundColor]);"
        ),
        30,
        "the station table",
    )
    assert rows[0][:2] == [DOWN_STATION, "down"], rows
    assert rows[0][2] != rows[-1][2] or len(rows) == 1
    summary = browser.find_element(By.ID, "stations-summary").text
    assert summary
    assert len(rows) == len(heard) + 1
