"""Real services for the tests: where they are, and what happens without them.

``scripts/services`` starts them on loopback and prints their URLs; the
defaults here are the same, and ``PANTAULAUT_TEST_PG_URL`` and
``PANTAULAUT_TEST_TIMESCALE_URL`` point elsewhere. With ``CI=true`` a test
that needs a service that is not there fails; elsewhere it is skipped, so the
suite still runs on a machine without the servers.

Each test gets its own place: a schema of its own in the PostgreSQL database
(``test`` may be shared with other users of the server) and a database of
its own on the TimescaleDB server (which the tests own), so tests never see
each other's rows, and TimescaleDB is set up from nothing every time.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

PG_URL = os.environ.get(
    "PANTAULAUT_TEST_PG_URL",
    "postgresql://pantaulaut_test:pantaulaut_test@127.0.0.1:5432/test",
)
TIMESCALE_URL = os.environ.get(
    "PANTAULAUT_TEST_TIMESCALE_URL", "postgresql://postgres@127.0.0.1:55432/postgres"
)


def in_ci() -> bool:
    """True under CI, where a missing service is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def service_missing(name: str, why: str) -> NoReturn:
    """Fail (under CI) or skip the test that needs a service."""
    message = f"{name} is not available ({why}); start it with scripts/services"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _probe(name: str, url: str) -> str:
    try:
        import psycopg
    except ImportError as exc:
        service_missing(name, f"psycopg is not installed: {exc}")
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        service_missing(name, f"{_redacted(url)}: {str(exc).strip()}")
    return url


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=host))


def with_search_path(url: str, schema: str) -> str:
    """The URL with ``search_path`` set to ``schema`` for every session."""
    option = quote(f"-csearch_path={schema}", safe="")
    return f"{url}{'&' if '?' in url else '?'}options={option}"


def with_database(url: str, database: str) -> str:
    """The URL naming another database on the same server."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The plain PostgreSQL server and database the tests may use."""
    return _probe("PostgreSQL", PG_URL)


@pytest.fixture(scope="session")
def timescale_url() -> str:
    """A maintenance database on the TimescaleDB server, to create others."""
    url = _probe("TimescaleDB", TIMESCALE_URL)
    import psycopg

    with psycopg.connect(url) as conn:
        offered = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchall()
    if not offered:
        service_missing("TimescaleDB", f"{_redacted(url)} has no timescaledb extension")
    return url


@pytest.fixture
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    """A URL whose sessions work in a new, empty schema, dropped afterwards."""
    import psycopg
    from psycopg import sql

    schema = f"pl_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield with_search_path(postgres_url, schema)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema))
            )


@pytest.fixture
def timescale_database_url(timescale_url: str) -> Iterator[str]:
    """A URL of a new, empty database on the TimescaleDB server, dropped afterwards."""
    import psycopg
    from psycopg import sql

    database = f"pl_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    try:
        yield with_database(timescale_url, database)
    finally:
        with psycopg.connect(timescale_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE {} WITH (FORCE)").format(
                    sql.Identifier(database)
                )
            )


# --- the desk's log-in -------------------------------------------------------

DESK_USER = "desk-tester"
DESK_PASSWORD = "desk-tester-password"
_TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_desk_user(
    accounts: Any,
    name: str = DESK_USER,
    password: str = DESK_PASSWORD,
    role: str = "operator",
) -> None:
    """Give a store (anything with the Accounts methods) a desk account."""
    from pantaulaut.dashboard.auth import Role, add_account

    if accounts.get_user(name) is None:
        add_account(accounts, name, password, Role(role))


def add_desk_user_to_file(
    db_path: Any, name: str = DESK_USER, role: str = "operator"
) -> None:
    """Make a desk account in a SQLite store file before a service opens it."""
    from pantaulaut.store.sqlite import SqliteStore

    store = SqliteStore(str(db_path))
    try:
        add_desk_user(store, name, role=role)
    finally:
        store.close()


def login_test_client(
    client: Any, name: str = DESK_USER, password: str = DESK_PASSWORD
) -> str:
    """Log a Flask test client in to the desk; later requests carry the token.

    Returns:
        The forgery token (also sent from now on as ``X-CSRFToken``).
    """
    page = client.get("/login").get_data(as_text=True)
    match = _TOKEN_FIELD.search(page)
    assert match, page
    answer = client.post(
        "/login",
        data={"csrf_token": match.group(1), "username": name, "password": password},
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)
    cookie = client.get_cookie("_csrf_token")
    assert cookie is not None
    client.environ_base["HTTP_X_CSRFTOKEN"] = cookie.value
    return str(cookie.value)


def desk_opener(
    base_url: str, name: str = DESK_USER, password: str = DESK_PASSWORD
) -> urllib.request.OpenerDirector:
    """A urllib opener logged in to a desk served at ``base_url`` (loopback).

    Its requests send the session cookie and the ``X-CSRFToken`` header, as
    Dash's renderer does.
    """
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(jar)
    )
    base = base_url.rstrip("/")
    with opener.open(f"{base}/login", timeout=10) as answer:
        page = answer.read().decode()
    match = _TOKEN_FIELD.search(page)
    assert match, page
    form = urllib.parse.urlencode(
        {"csrf_token": match.group(1), "username": name, "password": password}
    ).encode()
    with opener.open(f"{base}/login", data=form, timeout=10) as answer:
        assert urlsplit(answer.url).path != "/login", "desk log-in refused"
    token = next(c.value for c in jar if c.name == "_csrf_token")
    assert token
    opener.addheaders.append(("X-CSRFToken", token))
    return opener


def browser_login(
    driver: Any, base_url: str, name: str = DESK_USER, password: str = DESK_PASSWORD
) -> None:
    """Log a Selenium browser in to the desk through its log-in form."""
    from selenium.webdriver.common.by import By

    driver.get(base_url.rstrip("/") + "/login")
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-button").click()
    deadline = time.monotonic() + 30
    while urlsplit(driver.current_url).path == "/login":
        assert time.monotonic() < deadline, "desk log-in refused in the browser"
        time.sleep(0.1)


@pytest.fixture(autouse=True)
def _session_keys_stay_out_of_the_checkout(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A desk built from a default configuration keeps its key in a temp folder.

    The default store is ``pantaulaut.db`` in the working folder, where the
    generated session key would go too; tests must not write there.
    """
    from pantaulaut.dashboard import auth

    checkout = Path(__file__).resolve().parents[1]
    real = auth.secret_dir

    def secret_dir(config: Any) -> Path:
        directory = Path(real(config)).resolve()
        if directory == checkout or checkout in directory.parents:
            return tmp_path_factory.mktemp("session-key")
        return directory

    monkeypatch.setattr(auth, "secret_dir", secret_dir)


def router_request(pathname: str, search: str = "") -> dict[str, Any]:
    """The body of the desk router's callback, as the browser posts it for a URL.

    The router (``pantaulaut.dashboard.app``) fills the page, the navigation
    and the counts' class from ``url.pathname`` and ``url.search``.
    """
    query = search if not search or search.startswith("?") else f"?{search}"
    return {
        "output": "..page.children...nav.children...counts.className..",
        "outputs": [
            {"id": "page", "property": "children"},
            {"id": "nav", "property": "children"},
            {"id": "counts", "property": "className"},
        ],
        "inputs": [
            {"id": "url", "property": "pathname", "value": pathname},
            {"id": "url", "property": "search", "value": query},
        ],
        "changedPropIds": ["url.pathname"],
        "state": [],
    }


def inbox_act_request(
    alert_id: str, button: str = "inbox-acknowledge", assignee: str | None = None
) -> dict[str, Any]:
    """The body of the inbox's act callback, as a click on ``button`` posts it."""
    outputs = [
        {"id": "inbox-feedback", "property": "children"},
        {"id": "inbox-feedback", "property": "className"},
        {"id": "inbox-changed", "property": "data"},
        {"id": "inbox-note", "property": "value"},
        {"id": "inbox-assignee", "property": "value"},
    ]
    buttons = ("inbox-acknowledge", "inbox-assign", "inbox-comment", "inbox-resolve")
    return {
        "output": "..inbox-feedback.children...inbox-feedback.className..."
        "inbox-changed.data...inbox-note.value...inbox-assignee.value..",
        "outputs": outputs,
        "inputs": [
            {"id": b, "property": "n_clicks", "value": int(b == button)}
            for b in buttons
        ],
        "state": [
            {"id": "inbox-selected", "property": "data", "value": alert_id},
            {"id": "inbox-note", "property": "value", "value": "forged"},
            {"id": "inbox-assignee", "property": "value", "value": assignee},
            {"id": "inbox-changed", "property": "data", "value": 0},
        ],
        "changedPropIds": [f"{button}.n_clicks"],
    }
