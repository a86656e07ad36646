"""The desk's accounts: hashing, roles, sessions, forgery tokens, the gate."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import flask
import pytest
from conftest import DESK_PASSWORD, DESK_USER, add_desk_user, login_test_client
from werkzeug.routing import IntegerConverter, Rule

from pantaulaut.config import Config, DashboardConfig, StoreConfig, load_config
from pantaulaut.dashboard import auth
from pantaulaut.dashboard.app import create_app
from pantaulaut.dashboard.auth import (
    FREE_FAILURES,
    LoginLimiter,
    Role,
    User,
    hash_password,
    is_open_endpoint,
    require_role,
    session_secret,
    verify_password,
)
from pantaulaut.errors import AccessDenied, AccountError, ConfigError, StoreError
from pantaulaut.geofence.zones import ZoneSet
from pantaulaut.store.base import Accounts
from pantaulaut.store.sqlite import SqliteStore

# Routes the gate must cover whatever else the desk grows.
DATA_ROUTES = {
    "/_dash-layout",
    "/_dash-dependencies",
    "/_dash-update-component",
    "/feeds/alerts.atom",
}


def desk_config(tmp_path: Path, **dashboard: Any) -> Config:
    return Config(
        store=StoreConfig(url=f"sqlite:///{tmp_path / 'desk.db'}"),
        dashboard=DashboardConfig(**dashboard),
    )


@pytest.fixture
def store(tmp_path: Path) -> Any:
    store = SqliteStore(str(tmp_path / "desk.db"))
    add_desk_user(store)
    add_desk_user(store, "viewer1", role="viewer")
    yield store
    store.close()


@pytest.fixture
def server(store: SqliteStore, tmp_path: Path) -> flask.Flask:
    app = create_app(store, desk_config(tmp_path), ZoneSet([]))
    server = app.server

    # A plain writing route: the forgery check is the gate's, not Dash's.
    def probe() -> str:
        return f"done by {require_role(Role.OPERATOR).name}"

    server.add_url_rule("/probe", "probe", probe, methods=["POST"])
    return server


def sample_url(server: flask.Flask, rule: Rule) -> str:
    values: dict[str, Any] = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        values[name] = 1 if isinstance(converter, IntegerConverter) else "x.js"
    adapter = server.url_map.bind("localhost")
    return str(adapter.build(rule.endpoint, values))


def refused_without_session(answer: Any) -> bool:
    if answer.status_code == 401:
        return True
    location = answer.headers.get("Location", "")
    return answer.status_code in (302, 303) and location.startswith("/login")


def test_passwords_are_kept_as_argon2id_hashes() -> None:
    hashed = hash_password("a long enough password")
    assert hashed.startswith("$argon2id$")
    assert "a long enough password" not in hashed
    assert verify_password(hashed, "a long enough password")
    assert not verify_password(hashed, "a long enough passwore")
    assert not verify_password("plain text, not a hash", "plain text, not a hash")
    assert hash_password("same") != hash_password("same")  # salted


def test_roles_allow_what_the_roles_below_them_allow() -> None:
    assert Role.ADMIN.allows(Role.OPERATOR)
    assert Role.ADMIN.allows(Role.VIEWER)
    assert Role.OPERATOR.allows(Role.OPERATOR)
    assert Role.OPERATOR.allows(Role.VIEWER)
    assert not Role.OPERATOR.allows(Role.ADMIN)
    assert not Role.VIEWER.allows(Role.OPERATOR)


def test_require_role_refuses_nobody_and_a_role_too_low() -> None:
    app = flask.Flask("roles")
    with app.test_request_context("/"):
        with pytest.raises(AccessDenied) as nobody:
            require_role(Role.VIEWER)
        assert nobody.value.user is None
        flask.g.pantaulaut_user = User("ani", Role.VIEWER)
        with pytest.raises(AccessDenied) as low:
            require_role(Role.OPERATOR)
        assert low.value.user == "ani"
        assert low.value.needed == "operator"
        assert require_role(Role.VIEWER).name == "ani"


def test_every_route_refuses_a_request_without_a_session(
    server: flask.Flask,
) -> None:
    client = server.test_client()
    walked: set[str] = set()
    for rule in server.url_map.iter_rules():
        url = sample_url(server, rule)
        if is_open_endpoint(rule.endpoint):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            answer = client.open(url, method=method, json={})
            assert refused_without_session(answer), (method, url, answer.status)
            assert b"MMSI" not in answer.data
        walked.add(rule.rule)
    assert walked >= DATA_ROUTES
    # Pages asked for by a browser go to the log-in form, with the way back.
    answer = client.get("/", headers={"Accept": "text/html"})
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/login?next=/"
    # An address that only looks like an open one is not open.
    for lookalike in ("/_favicon.ico.html", "/assets-x/desk.css", "/login-x"):
        assert refused_without_session(client.get(lookalike)), lookalike


def test_only_the_log_in_page_language_switch_and_static_files_are_open(
    server: flask.Flask,
) -> None:
    open_rules = {
        rule.rule
        for rule in server.url_map.iter_rules()
        if is_open_endpoint(rule.endpoint)
    }
    assert open_rules == {
        "/login",
        "/logout",
        "/lang/<code>",
        "/static/<path:filename>",
        "/assets/<path:filename>",
        "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>",
        "/_favicon.ico",
    }


def test_log_in_opens_the_data_routes(server: flask.Flask) -> None:
    client = server.test_client()
    login_test_client(client)
    assert client.get("/_dash-layout").status_code == 200
    assert client.get("/_dash-dependencies").status_code == 200
    assert client.get("/feeds/alerts.atom").status_code == 200
    session_cookie = client.get_cookie(auth.SESSION_COOKIE)
    assert session_cookie is not None
    assert session_cookie.http_only
    assert session_cookie.same_site == "Strict"
    assert not session_cookie.secure
    assert DESK_PASSWORD not in client.get("/_dash-layout").get_data(as_text=True)


def test_a_wrong_password_is_refused_with_a_message(server: flask.Flask) -> None:
    client = server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    answer = client.post(
        "/login",
        data={"csrf_token": token, "username": DESK_USER, "password": "wrong one"},
    )
    assert answer.status_code == 401
    assert "Nama pengguna atau kata sandi salah." in answer.get_data(as_text=True)
    assert client.get("/_dash-layout").status_code == 401
    unknown = client.post(
        "/login",
        data={"csrf_token": token, "username": "nobody", "password": "wrong one"},
    )
    # The same answer for an unknown name: names cannot be guessed from it.
    assert unknown.status_code == 401
    assert unknown.get_data(as_text=True) == answer.get_data(as_text=True)


def test_the_log_in_form_needs_its_forgery_token(server: flask.Flask) -> None:
    client = server.test_client()
    client.get("/login")
    answer = client.post(
        "/login", data={"username": DESK_USER, "password": DESK_PASSWORD}
    )
    assert answer.status_code == 400
    assert client.get("/_dash-layout").status_code == 401


def test_a_post_without_the_sessions_token_is_refused(server: flask.Flask) -> None:
    client = server.test_client()
    token = login_test_client(client)
    del client.environ_base["HTTP_X_CSRFTOKEN"]
    assert client.post("/probe").status_code == 403
    assert client.post("/probe", headers={"X-CSRFToken": "forged"}).status_code == 403
    assert client.post("/_dash-update-component", json={}).status_code == 403
    answer = client.post("/probe", headers={"X-CSRFToken": token})
    assert answer.status_code == 200
    assert answer.get_data(as_text=True) == f"done by {DESK_USER}"
    # Another session's token does not open this one.
    other = server.test_client()
    other_token = login_test_client(other)
    assert other_token != token
    assert (
        client.post("/probe", headers={"X-CSRFToken": other_token}).status_code == 403
    )


def test_the_forgery_cookie_is_what_dashs_renderer_reads() -> None:
    renderer = Path(flask.__file__).parents[1] / "dash" / "dash-renderer" / "build"
    bundle = (renderer / "dash_renderer.min.js").read_text(errors="replace")
    assert f'"{auth.CSRF_COOKIE}"' in bundle
    assert f'"{auth.CSRF_HEADER}"' in bundle


def test_a_viewer_is_refused_an_operators_act(server: flask.Flask) -> None:
    client = server.test_client()
    login_test_client(client, "viewer1")
    answer = client.post("/probe")
    assert answer.status_code == 403
    assert answer.get_json()["needed"] == "operator"


def test_a_session_ends_after_its_time_and_when_idle(
    server: flask.Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = 1_800_000_000.0
    clock = [start]
    monkeypatch.setattr(auth, "_wall_clock", lambda: clock[0])
    client = server.test_client()
    login_test_client(client)
    # Used every 50 minutes (idle limit 60): still open after 7.5 hours.
    for _ in range(9):
        clock[0] += 50 * 60
        assert client.get("/_dash-layout").status_code == 200
    clock[0] = start + 481 * 60  # past session_minutes (480)
    assert client.get("/_dash-layout").status_code == 401
    page = client.get("/login").get_data(as_text=True)
    assert "Sesi Anda telah berakhir" in page

    clock[0] = start
    login_test_client(client)
    clock[0] += 61 * 60  # idle past idle_minutes (60)
    assert client.get("/_dash-layout").status_code == 401


def test_a_password_change_or_removal_ends_the_session(
    server: flask.Flask, store: SqliteStore
) -> None:
    client = server.test_client()
    login_test_client(client)
    store.set_password(DESK_USER, hash_password("another long password"))
    assert client.get("/_dash-layout").status_code == 401
    login_test_client(client, password="another long password")
    assert client.get("/_dash-layout").status_code == 200
    store.remove_user(DESK_USER)
    assert client.get("/_dash-layout").status_code == 401


def test_a_checked_session_stays_open_while_the_store_is_away(
    server: flask.Flask, store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = server.test_client()
    login_test_client(client)
    assert client.get("/_dash-dependencies").status_code == 200
    fresh = server.test_client()
    login_test_client(fresh, "viewer1")

    def away(name: str) -> None:
        raise StoreError("server closed the connection")

    monkeypatch.setattr(store, "get_user", away)
    assert client.get("/_dash-dependencies").status_code == 200
    # A session never checked against the store is not let in on trust.
    assert fresh.get("/_dash-dependencies").status_code == 401


def test_log_out_ends_the_session(server: flask.Flask) -> None:
    client = server.test_client()
    token = login_test_client(client)
    answer = client.post("/logout", data={"csrf_token": token})
    assert answer.status_code == 303
    assert client.get("/_dash-layout").status_code == 401


def test_failed_log_ins_are_delayed_more_and_more() -> None:
    now = [0.0]
    limiter = LoginLimiter(clock=lambda: now[0])
    for _ in range(FREE_FAILURES):
        assert limiter.wait_s("ani|10.0.0.1") == 0
        limiter.failed("ani|10.0.0.1")
    assert limiter.wait_s("ani|10.0.0.1") == 0
    assert limiter.failed("ani|10.0.0.1") == 2.0
    assert limiter.wait_s("ani|10.0.0.1") == 2.0
    assert limiter.wait_s("ani|10.0.0.2") == 0  # per user and address
    now[0] += 2.0
    assert limiter.failed("ani|10.0.0.1") == 4.0
    now[0] += 4.0
    assert limiter.failed("ani|10.0.0.1") == 8.0
    for _ in range(20):
        waited = limiter.failed("ani|10.0.0.1")
    assert waited == auth.MAX_LOCK_S
    limiter.succeeded("ani|10.0.0.1")
    assert limiter.wait_s("ani|10.0.0.1") == 0


def test_the_log_in_form_refuses_even_the_right_password_while_delayed(
    server: flask.Flask,
) -> None:
    client = server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]

    def attempt(password: str) -> Any:
        form = {"csrf_token": token, "username": DESK_USER, "password": password}
        return client.post("/login", data=form)

    for _ in range(FREE_FAILURES + 1):
        assert attempt("wrong password").status_code == 401
    answer = attempt(DESK_PASSWORD)
    assert answer.status_code == 429
    assert "Coba lagi dalam 2 detik" in answer.get_data(as_text=True)


@pytest.mark.parametrize("proxies", [0, 1])
def test_forwarded_addresses_count_only_behind_a_configured_proxy(
    store: SqliteStore, tmp_path: Path, proxies: int
) -> None:
    config = desk_config(tmp_path, proxy_fix=proxies)
    client = create_app(store, config, ZoneSet([])).server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]

    def attempt(password: str, client_address: str) -> int:
        form = {"csrf_token": token, "username": DESK_USER, "password": password}
        answer = client.post(
            "/login", data=form, headers={"X-Forwarded-For": client_address}
        )
        return int(answer.status_code)

    for _ in range(FREE_FAILURES + 1):
        assert attempt("wrong password", "10.0.0.1") == 401
    # Behind a proxy the delay is the first client's only; without one the
    # header is the client's own word and is ignored.
    expected = 303 if proxies else 429
    assert attempt(DESK_PASSWORD, "10.0.0.2") == expected


def test_a_feed_reader_may_log_in_with_basic_authentication(
    server: flask.Flask,
) -> None:
    client = server.test_client()
    good = base64.b64encode(f"viewer1:{DESK_PASSWORD}".encode()).decode()
    bad = base64.b64encode(b"viewer1:wrong").decode()
    ok = client.get("/feeds/alerts.atom", headers={"Authorization": f"Basic {good}"})
    assert ok.status_code == 200
    assert ok.content_type.startswith("application/atom+xml")
    assert client.get_cookie(auth.SESSION_COOKIE) is None  # no session made
    refused = client.get(
        "/feeds/alerts.atom", headers={"Authorization": f"Basic {bad}"}
    )
    assert refused.status_code == 401
    # Basic authentication opens no writing route.
    post = client.post("/probe", headers={"Authorization": f"Basic {good}"})
    assert post.status_code == 401


def test_secure_cookies_and_the_session_length_follow_the_configuration(
    store: SqliteStore, tmp_path: Path
) -> None:
    config = desk_config(tmp_path, secure_cookies=True, session_minutes=30.0)
    server = create_app(store, config, ZoneSet([])).server
    client = server.test_client()
    login_test_client(client)
    session_cookie = client.get_cookie(auth.SESSION_COOKIE)
    assert session_cookie is not None
    assert session_cookie.secure
    assert server.permanent_session_lifetime.total_seconds() == 30 * 60
    csrf_cookie = client.get_cookie(auth.CSRF_COOKIE)
    assert csrf_cookie is not None
    assert csrf_cookie.secure
    assert not csrf_cookie.http_only


def test_the_session_key_is_made_once_with_owner_only_permissions(
    tmp_path: Path,
) -> None:
    config = desk_config(tmp_path)
    first = session_secret(config)
    key_file = tmp_path / auth.SECRET_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert session_secret(config) == first
    assert len(first) >= 32
    configured = "k" * 40
    given = replace(config, dashboard=DashboardConfig(secret_key=configured))
    assert session_secret(given) == configured


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("SESSION_MINUTES", "0"),
        ("IDLE_MINUTES", "-5"),
        ("SECRET_KEY", "short"),
        ("PROXY_FIX", "9"),
    ],
)
def test_bad_session_settings_name_the_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(None, environ={f"PANTAULAUT_DASHBOARD__{key}": value})
    assert error.value.key == f"dashboard.{key.lower()}"
    assert "short" not in str(error.value)  # a key is never echoed


def test_sqlite_keeps_accounts(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "accounts.db"))
    check_accounts(store)
    store.close()


@pytest.mark.services
def test_postgres_keeps_accounts_after_migration_4(postgres_schema_url: str) -> None:
    from pantaulaut.store.postgres import PostgresStore

    store = PostgresStore.from_url(postgres_schema_url)
    try:
        versions = {
            row[0] for row in store._query("SELECT version FROM schema_migrations")
        }
        assert 4 in versions
        check_accounts(store)
    finally:
        store.close()


def check_accounts(accounts: Accounts) -> None:
    assert isinstance(accounts, Accounts)
    assert accounts.list_users() == []
    accounts.add_user("ani", "$argon2id$x", "viewer")
    accounts.add_user("budi", "$argon2id$y", "admin")
    with pytest.raises(StoreError, match="exists"):
        accounts.add_user("ani", "$argon2id$z", "admin")
    record = accounts.get_user("ani")
    assert record is not None
    assert (record.name, record.password_hash, record.role) == (
        "ani",
        "$argon2id$x",
        "viewer",
    )
    assert record.created.utcoffset() is not None
    assert accounts.set_role("ani", "operator")
    assert accounts.set_password("ani", "$argon2id$w")
    changed = accounts.get_user("ani")
    assert changed is not None
    assert (changed.role, changed.password_hash) == ("operator", "$argon2id$w")
    assert not accounts.set_role("nobody", "admin")
    assert [u.name for u in accounts.list_users()] == ["ani", "budi"]
    assert accounts.remove_user("ani")
    assert not accounts.remove_user("ani")
    assert accounts.get_user("ani") is None


def pantaulaut(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PANTAULAUT_")}
    return subprocess.run(
        [sys.executable, "-P", "-m", "pantaulaut", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_user_commands_add_change_and_remove_accounts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    added = pantaulaut(
        "user", "add", "ani", "--role", "operator", "--store", url,
        "--password-stdin", stdin="first password 1\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    short = pantaulaut(
        "user", "add", "budi", "--store", url, "--password-stdin", stdin="short\n"
    )
    assert short.returncode == 2
    assert "at least 10 characters" in short.stderr
    again = pantaulaut(
        "user", "add", "ani", "--store", url, "--password-stdin",
        stdin="first password 1\n",
    )  # fmt: skip
    assert again.returncode == 2
    assert "exists" in again.stderr

    store = SqliteStore(str(tmp_path / "cli.db"))
    record = store.get_user("ani")
    assert record is not None
    assert record.role == "operator"
    assert verify_password(record.password_hash, "first password 1")

    changed = pantaulaut(
        "user", "passwd", "ani", "--store", url, "--password-stdin",
        stdin="second password 2\n",
    )  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    assert pantaulaut("user", "role", "ani", "admin", "--store", url).returncode == 0
    listed = pantaulaut("user", "list", "--store", url)
    assert listed.stdout.split("\t")[:2] == ["ani", "admin"]
    record = store.get_user("ani")
    assert record is not None
    assert verify_password(record.password_hash, "second password 2")

    assert pantaulaut("user", "remove", "ani", "--store", url).returncode == 0
    gone = pantaulaut("user", "remove", "ani", "--store", url)
    assert gone.returncode == 2
    assert "no account named 'ani'" in gone.stderr
    assert store.get_user("ani") is None
    store.close()


def test_a_user_name_with_odd_characters_is_refused() -> None:
    with pytest.raises(AccountError):
        auth.check_user_name("ani budi")
    with pytest.raises(AccountError):
        auth.check_user_name("")
    auth.check_user_name("ani.budi-112")


def test_the_demo_account_is_made_only_in_a_store_without_accounts(
    tmp_path: Path,
) -> None:
    store = SqliteStore(str(tmp_path / "demo.db"))
    made = auth.ensure_demo_account(store)
    assert made is not None
    name, password = made
    record = store.get_user(name)
    assert record is not None
    assert record.role == "operator"
    assert verify_password(record.password_hash, password)
    assert auth.ensure_demo_account(store) is None
    store.close()


def users_act(
    client: Any, button: str, name: str, role: str = "viewer", password: str = ""
) -> Any:
    """Press a button of the accounts page, as the page's renderer would."""
    dependencies = client.get("/_dash-dependencies").get_json()
    (callback,) = [
        c
        for c in dependencies
        if {"id": "users-add", "property": "n_clicks"} in c["inputs"]
    ]
    values = {"users-name": name, "users-role": role, "users-password": password}
    output = callback["output"]
    body = {
        "output": output,
        "outputs": [
            {"id": part.split(".")[0], "property": part.split(".")[1]}
            for part in output.strip(".").split("...")
        ],
        "inputs": [
            {**given, "value": 1 if given["id"] == button else 0}
            for given in callback["inputs"]
        ],
        "changedPropIds": [f"{button}.n_clicks"],
        "state": [{**s, "value": values[s["id"]]} for s in callback["state"]],
    }
    return client.post("/_dash-update-component", json=body)


def test_an_admin_manages_accounts_on_the_accounts_page(
    server: flask.Flask, store: SqliteStore
) -> None:
    add_desk_user(store, "chief", role="admin")
    client = server.test_client()
    login_test_client(client, "chief")
    client.set_cookie("lang", "en")

    added = users_act(client, "users-add", "desk2", "operator", "a good password")
    assert added.status_code == 200
    text = json.dumps(added.get_json()["response"])
    assert "Account desk2 added (operator)." in text
    record = store.get_user("desk2")
    assert record is not None
    assert record.role == "operator"
    assert verify_password(record.password_hash, "a good password")

    short = users_act(client, "users-add", "desk3", "viewer", "short")
    assert "at least 10 characters" in json.dumps(short.get_json()["response"])
    assert store.get_user("desk3") is None

    assert users_act(client, "users-set-role", "desk2", "viewer").status_code == 200
    changed = store.get_user("desk2")
    assert changed is not None
    assert changed.role == "viewer"
    users_act(client, "users-set-password", "desk2", password="another password")
    changed = store.get_user("desk2")
    assert changed is not None
    assert verify_password(changed.password_hash, "another password")

    itself = users_act(client, "users-remove", "chief")
    assert "cannot remove your own account" in json.dumps(itself.get_json())
    assert store.get_user("chief") is not None
    users_act(client, "users-remove", "desk2")
    assert store.get_user("desk2") is None


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_only_an_admin_may_change_accounts(
    server: flask.Flask, store: SqliteStore, role: str
) -> None:
    name = "viewer1" if role == "viewer" else DESK_USER
    client = server.test_client()
    login_test_client(client, name)
    answer = users_act(client, "users-add", "intruder", "admin", "a good password")
    assert answer.status_code == 403
    assert store.get_user("intruder") is None
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "users-link" not in layout
