"""Log-in, roles and the language switch, driven in headless Chromium.

The desk is served from this process on a free loopback port, with a SQLite
store holding an operator, a viewer and one open alert. The browser is the
one of ``tests/chromium.py``: every request off loopback goes to a closed
port, so nothing leaves the machine.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import chromium
import pytest
from chromium import wait_for
from conftest import DESK_PASSWORD, add_desk_user, browser_login
from werkzeug.serving import make_server

from pantaulaut.config import Config, DashboardConfig, StoreConfig
from pantaulaut.dashboard.app import create_app
from pantaulaut.geofence.zones import ZoneSet
from pantaulaut.model import Alert, AlertKind, Severity
from pantaulaut.store.base import Batch
from pantaulaut.store.sqlite import SqliteStore

pytestmark = [pytest.mark.browser, pytest.mark.network]

browser = chromium.browser  # the fixture, for the tests below

OPERATOR = "op1"
VIEWER = "viewer1"
ADMIN = "chief"

# Posts the inbox's acknowledge callback as Dash's renderer would (the
# forgery token from the cookie in its header); returns the HTTP status.
POST_ACKNOWLEDGE_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const deps = await (await fetch('/_dash-dependencies')).json();
  const cb = deps.find(d => d.inputs.some(i => i.id === 'inbox-acknowledge'));
  if (!cb) { done('no acknowledge callback'); return; }
  const outputs = cb.output.replace(/^\\.\\./, '').replace(/\\.\\.$/, '')
    .split('...').map(o => {
      const cut = o.lastIndexOf('.');
      return {id: o.slice(0, cut), property: o.slice(cut + 1)};
    });
  const value = i => (i.id === 'inbox-acknowledge' ? 1 : null);
  const body = {
    output: cb.output,
    outputs: outputs,
    inputs: cb.inputs.map(i => ({id: i.id, property: i.property, value: value(i)})),
    state: cb.state.map(s => ({id: s.id, property: s.property,
                              value: s.id === 'inbox-selected' ? 'a-1' : null})),
    changedPropIds: ['inbox-acknowledge.n_clicks'],
  };
  const token = document.cookie.split('; ').find(c => c.startsWith('_csrf_token='));
  const answer = await fetch('/_dash-update-component', {
    method: 'POST',
    headers: {'Content-Type': 'application/json',
              'X-CSRFToken': token ? token.split('=')[1] : ''},
    body: JSON.stringify(body),
  });
  done(answer.status);
})().catch(e => done(String(e)));
"""


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[str]:
    """The desk on a free loopback port; yields its base URL."""
    store = SqliteStore(str(tmp_path / "desk.db"))
    add_desk_user(store, OPERATOR, role="operator")
    add_desk_user(store, VIEWER, role="viewer")
    add_desk_user(store, ADMIN, role="admin")
    alert = Alert(
        id="a-1",
        kind=AlertKind.SART_ACTIVE,
        severity=Severity.CRITICAL,
        time=datetime(2026, 6, 17, 0, 35, tzinfo=UTC),
        mmsi=970_012_345,
        lat_deg=-7.05,
        lon_deg=113.95,
        summary="AIS-SART active",
    )
    store.write(Batch(alerts={alert.id: alert}))
    config = Config(
        store=StoreConfig(url=f"sqlite:///{tmp_path / 'desk.db'}"),
        dashboard=DashboardConfig(refresh_s=2.0),
    )
    app = create_app(store, config, ZoneSet([]))
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        store.close()


def text_of(driver: Any, selector: str) -> str:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, selector)
    return str(found[0].text) if found else ""


def test_log_in_refuses_a_wrong_password_then_opens_the_desk(
    browser: Any, desk: str
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(desk + "/")
    # Not logged in: the desk sends the browser to its log-in form.
    wait_for(lambda: "/login" in browser.current_url, 20, "the log-in form")
    assert "Masuk" in text_of(browser, "#login-button")
    browser.find_element(By.ID, "username").send_keys(OPERATOR)
    browser.find_element(By.ID, "password").send_keys("not the password")
    browser.find_element(By.ID, "login-button").click()
    message = wait_for(
        lambda: text_of(browser, "#login-message"), 20, "the refusal message"
    )
    assert message == "Nama pengguna atau kata sandi salah."
    assert "/login" in browser.current_url

    browser_login(browser, desk, OPERATOR, DESK_PASSWORD)
    header = wait_for(lambda: text_of(browser, "#signed-in-as"), 30, "the desk header")
    assert OPERATOR in header
    assert "meja maritim" in text_of(browser, ".desk-header h1")
    # Log-out ends the session: the desk asks for the log-in again.
    browser.find_element(By.ID, "logout-button").click()
    wait_for(lambda: "/login" in browser.current_url, 20, "the log-in form again")
    browser.get(desk + "/")
    wait_for(lambda: "/login" in browser.current_url, 20, "a log-in after log-out")


def test_an_ended_session_sends_the_page_to_the_log_in_form(
    browser: Any, desk: str
) -> None:
    from selenium.webdriver.common.by import By

    browser_login(browser, desk, OPERATOR, DESK_PASSWORD)
    browser.get(desk + "/inbox")
    wait_for(lambda: text_of(browser, "#signed-in-as"), 30, "the desk header")
    # As if the session had timed out: the next refresh gets HTTP 401.
    browser.delete_cookie("pantaulaut_session")
    wait_for(
        lambda: "/login" in browser.current_url, 30, "the page to go to the log-in"
    )
    assert "next=%2Finbox" in browser.current_url
    # Logging in again leads back to the page that was open.
    browser.find_element(By.ID, "username").send_keys(OPERATOR)
    browser.find_element(By.ID, "password").send_keys(DESK_PASSWORD)
    browser.find_element(By.ID, "login-button").click()
    wait_for(
        lambda: browser.current_url.endswith("/inbox"), 30, "the inbox after log-in"
    )


def test_the_language_switch_turns_the_desk_to_english_and_back(
    browser: Any, desk: str
) -> None:
    from selenium.webdriver.common.by import By

    browser_login(browser, desk, OPERATOR, DESK_PASSWORD)
    wait_for(lambda: text_of(browser, "#signed-in-as"), 30, "the desk header")
    assert "meja maritim 112 Sumenep" in text_of(browser, ".desk-header h1")
    assert "Keluar" in text_of(browser, "#logout-button")

    browser.find_element(By.CSS_SELECTOR, "a[href='/lang/en']").click()
    title = wait_for(
        lambda: (h := text_of(browser, ".desk-header h1")) and "maritime desk" in h,
        30,
        "the English title",
    )
    assert title
    assert "Log out" in text_of(browser, "#logout-button")
    counts = wait_for(
        lambda: (c := text_of(browser, "#counts")) and "open alerts" in c and c,
        30,
        "the English counts",
    )
    assert "WIB" in counts or "n/a" in counts

    browser.find_element(By.CSS_SELECTOR, "a[href='/lang/id']").click()
    wait_for(
        lambda: "meja maritim" in text_of(browser, ".desk-header h1"),
        30,
        "the Indonesian title again",
    )


def test_a_viewer_has_no_acknowledge_control_and_is_refused_the_act(
    browser: Any, desk: str
) -> None:
    from selenium.webdriver.common.by import By

    browser_login(browser, desk, VIEWER, DESK_PASSWORD)
    browser.get(desk + "/inbox")
    wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, ".inbox-read-only"),
        30,
        "the inbox's read-only note",
    )
    assert not browser.find_elements(By.ID, "inbox-acknowledge")
    browser.set_script_timeout(30)
    status = browser.execute_async_script(POST_ACKNOWLEDGE_JS)
    assert status == 403


def test_an_operator_gets_the_acknowledge_control(browser: Any, desk: str) -> None:
    from selenium.webdriver.common.by import By

    browser_login(browser, desk, OPERATOR, DESK_PASSWORD)
    browser.get(desk + "/inbox")
    button = wait_for(
        lambda: browser.find_elements(By.ID, "inbox-acknowledge"),
        30,
        "the acknowledge button",
    )
    assert button[0].is_displayed()
    # The same request as the viewer's passes the gate and the role check.
    browser.set_script_timeout(30)
    assert browser.execute_async_script(POST_ACKNOWLEDGE_JS) == 200


def test_an_admin_adds_an_account_from_the_accounts_page(
    browser: Any, desk: str
) -> None:
    from selenium.webdriver.common.by import By

    browser_login(browser, desk, ADMIN, DESK_PASSWORD)
    link = wait_for(
        lambda: browser.find_elements(By.ID, "users-link"), 30, "the accounts link"
    )
    link[0].click()
    wait_for(
        lambda: browser.find_elements(By.ID, "users-name"), 30, "the accounts form"
    )
    browser.find_element(By.ID, "users-name").send_keys("desk2")
    browser.find_element(By.ID, "users-password").send_keys("a good password")
    browser.find_element(By.ID, "users-add").click()
    message = wait_for(
        lambda: text_of(browser, "#users-feedback"), 30, "the page's answer"
    )
    assert message == "Akun desk2 ditambahkan (pemantau)."
    assert "desk2" in text_of(browser, "#users-table")
    # The new account logs in, as a viewer without the accounts link.
    browser.delete_all_cookies()
    browser_login(browser, desk, "desk2", "a good password")
    wait_for(lambda: text_of(browser, "#signed-in-as"), 30, "the desk header")
    assert not browser.find_elements(By.ID, "users-link")
