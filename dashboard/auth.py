"""Desk accounts: log-in, roles, sessions and forgery protection.

:func:`install_auth` puts a gate in front of every route of the desk's Flask
server: a request without a valid session gets ``401`` (a page asked for by
a browser: a redirect to ``/login``). Only the log-in page, the language
switch and static files (Dash's scripts, ``assets/``) are open.

* Passwords are kept as argon2id hashes (``argon2-cffi`` defaults); a hash
  made with weaker parameters is replaced at the next log-in.
* The session is Flask's signed cookie (``HttpOnly``, ``SameSite=Strict``,
  ``Secure`` with ``dashboard.secure_cookies``). It ends
  ``dashboard.session_minutes`` after log-in, after ``dashboard.idle_minutes``
  without a request, when the password changes or the account is removed.
* Every ``POST`` (and other writing method) must carry the session's
  forgery token: the log-in and log-out forms in a hidden field, Dash's
  renderer in the ``X-CSRFToken`` header, which it copies from the
  ``_csrf_token`` cookie set at log-in.
* Failed log-ins are counted per user name and address: after
  :data:`FREE_FAILURES` failures each further attempt waits twice as long as
  the one before (2 s, 4 s, 8 s, ... up to :data:`MAX_LOCK_S`).
* Roles are ordered: a ``viewer`` sees, an ``operator`` also acts on alerts,
  an ``admin`` also manages accounts. Callbacks that change something call
  :func:`require_role`.

A feed reader that cannot keep a cookie (a 112 system polling the CAP feed)
may send an account's name and password with HTTP Basic authentication on
``GET`` requests; behind TLS only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import flask
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response as WerkzeugResponse

from pantaulaut.config import Config
from pantaulaut.dashboard.i18n import LANGUAGES, register_language_routes, t
from pantaulaut.errors import AccessDenied, AccountError, StoreError
from pantaulaut.store.base import Accounts

__all__ = [
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "FREE_FAILURES",
    "LOGIN_PATH",
    "LOGOUT_PATH",
    "MAX_LOCK_S",
    "SESSION_COOKIE",
    "LoginLimiter",
    "Role",
    "User",
    "add_account",
    "csrf_token",
    "current_user",
    "ensure_demo_account",
    "hash_password",
    "install_auth",
    "is_open_endpoint",
    "require_role",
    "secret_dir",
    "session_secret",
    "verify_password",
]

log = logging.getLogger(__name__)

LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
SESSION_COOKIE = "pantaulaut_session"
CSRF_COOKIE = "_csrf_token"
"""The cookie Dash's renderer reads the forgery token from."""
CSRF_HEADER = "X-CSRFToken"
"""The header Dash's renderer sends the forgery token in."""
CSRF_FIELD = "csrf_token"
FREE_FAILURES = 5
"""Failed log-ins (per user name and address) before attempts are delayed."""
MAX_LOCK_S = 900.0
"""The longest delay between attempts after repeated failures."""
MIN_PASSWORD_CHARS = 10
SECRET_FILE = "dashboard-secret.key"  # noqa: S105 (a file name)

# Routes anyone may fetch: the log-in page, the language switch and files
# that hold no data (Dash's scripts, the stylesheet, the icon).
_OPEN_ENDPOINTS = frozenset(
    {
        "pantaulaut_login",
        "pantaulaut_logout",
        "pantaulaut_language",
        "static",
        "_dash_assets.static",
    }
)
# Open routes that still look at the session (to skip the form when logged in).
_AUTH_ENDPOINTS = frozenset({"pantaulaut_login", "pantaulaut_logout"})
# Dash names these routes by their rule (after any path prefix).
_OPEN_ENDPOINT_ENDINGS = (
    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>",
    "/_favicon.ico",
)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The session's "last seen" time is rewritten at most this often, so that
# Dash's refreshes do not send a new cookie every few seconds.
_SEEN_GRANULARITY_S = 60.0
# Failure records are forgotten after an hour without failures, and there
# are never more than this many (an address trying many names).
_FORGET_AFTER_S = 3600.0
_MAX_TRACKED = 10_000

_hasher = PasswordHasher()
# Verified against when the user name is unknown, so that the answer takes
# as long as for a known name.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class Role(StrEnum):
    """What an account may do; each role may do everything of the ones below."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """0 for viewer, 1 for operator, 2 for admin."""
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what ``needed`` may."""
        return self.rank >= needed.rank


@dataclass(frozen=True, slots=True)
class User:
    """The logged-in user of a request."""

    name: str
    role: Role


def hash_password(password: str) -> str:
    """The argon2id hash of a password (a PHC string with salt and costs)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (False for a bad hash)."""
    try:
        return _hasher.verify(password_hash, password)
    except VerificationError:
        return False
    except InvalidHashError:
        log.warning("an account's password hash is not argon2; log-in refused")
        return False


def check_new_password(password: str) -> None:
    """Refuse a password too short to be one.

    Raises:
        AccountError: It has fewer than :data:`MIN_PASSWORD_CHARS` characters.
    """
    if len(password) < MIN_PASSWORD_CHARS:
        msg = f"a password needs at least {MIN_PASSWORD_CHARS} characters"
        raise AccountError(msg)


def check_user_name(name: str) -> None:
    """Refuse a user name that is empty, too long or has odd characters.

    Raises:
        AccountError: The name is not 1-64 letters, digits, ``.``, ``_``, ``-``.
    """
    if not 1 <= len(name) <= 64 or not all(c.isalnum() or c in "._-" for c in name):
        msg = f"user name {name!r}: use 1-64 letters, digits, '.', '_' or '-'"
        raise AccountError(msg)


def add_account(accounts: Accounts, name: str, password: str, role: Role) -> None:
    """Check, hash and store a new account.

    Raises:
        AccountError: The name or password is not acceptable.
        StoreError: The name is taken, or the store refused.
    """
    check_user_name(name)
    check_new_password(password)
    accounts.add_user(name, hash_password(password), role.value)
    log.info("desk account %r added (%s)", name, role.value)


def ensure_demo_account(accounts: Accounts) -> tuple[str, str] | None:
    """Make a ``demo`` operator with a random password if there is no account.

    Returns:
        The name and password made, or None when accounts existed.
    """
    if accounts.list_users():
        return None
    # Letters and digits only: easy to copy from a terminal.
    alphabet = string.ascii_letters + string.digits
    password = "".join(secrets.choice(alphabet) for _ in range(16))
    add_account(accounts, "demo", password, Role.OPERATOR)
    return "demo", password


def current_user() -> User | None:
    """The logged-in user of the current request (None outside one)."""
    if not flask.has_app_context():
        return None
    user = flask.g.get("pantaulaut_user")
    return user if isinstance(user, User) else None


def require_role(needed: Role) -> User:
    """The current user, if their role allows ``needed``.

    Raises:
        AccessDenied: Nobody is logged in, or the role is too low.
    """
    user = current_user()
    if user is None:
        raise AccessDenied(needed.value)
    if not user.role.allows(needed):
        log.warning("%s (%s) refused an act needing %s", user.name, user.role, needed)
        raise AccessDenied(needed.value, user.name)
    return user


def csrf_token() -> str:
    """The session's forgery token, made if the session has none yet."""
    token = flask.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        flask.session["csrf"] = token
    return token


class LoginLimiter:
    """Counts failed log-ins per key and says how long the next must wait.

    The first :data:`FREE_FAILURES` failures cost nothing; failure number
    ``n`` beyond them locks the key for ``2 ** (n - FREE_FAILURES)`` seconds,
    at most :data:`MAX_LOCK_S`. A success clears the key.

    Args:
        clock: Seconds, monotonic (tests pass their own).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, tuple[int, float, float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, key: str) -> float:
        """Seconds before ``key`` may try again (0: now)."""
        with self._lock:
            entry = self._failures.get(key)
        if entry is None:
            return 0.0
        return max(0.0, entry[2] - self._clock())

    def failed(self, key: str) -> float:
        """Count a failure; returns the wait it sets."""
        now = self._clock()
        with self._lock:
            count, _, _ = self._failures.get(key, (0, now, now))
            count += 1
            extra = count - FREE_FAILURES
            lock_s = min(MAX_LOCK_S, 2.0**extra) if extra >= 1 else 0.0
            self._failures[key] = (count, now, now + lock_s)
            self._forget(now)
        return lock_s

    def succeeded(self, key: str) -> None:
        """Clear the key's failures."""
        with self._lock:
            self._failures.pop(key, None)

    def _forget(self, now: float) -> None:
        stale = [
            key
            for key, (_, last, until) in self._failures.items()
            if now - last > _FORGET_AFTER_S and until <= now
        ]
        for key in stale:
            del self._failures[key]
        if len(self._failures) > _MAX_TRACKED:
            oldest = sorted(self._failures, key=lambda k: self._failures[k][1])
            dropped = oldest[: len(self._failures) - _MAX_TRACKED]
            for key in dropped:
                del self._failures[key]
            log.warning("forgot %d failed log-in records (too many)", len(dropped))


def session_secret(config: Config) -> str:
    """The key that signs session cookies.

    ``dashboard.secret_key`` when set; otherwise a random key kept in
    ``dashboard-secret.key`` (mode 0600) in the state folder (``spool.dir``,
    else beside the SQLite file, else the working folder), made on the
    first start, so that sessions survive restarts.
    """
    if config.dashboard.secret_key:
        return config.dashboard.secret_key
    path = secret_dir(config) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_urlsafe(48) + "\n")
    log.info("made the session signing key %s (mode 0600)", path)
    return _read_secret(path)


def secret_dir(config: Config) -> Path:
    """Where the generated session key is kept: the service's state folder."""
    from pantaulaut.service import spool_dir

    return spool_dir(config)


def _read_secret(path: Path) -> str:
    text = path.read_text(encoding="ascii").strip()
    if len(text) < 32:
        msg = f"session key file {path} holds under 32 characters; delete it"
        raise AccountError(msg)
    if path.stat().st_mode & 0o077:
        log.warning("session key file %s is readable by others; chmod 600 it", path)
    return text


def is_open_endpoint(endpoint: str | None) -> bool:
    """Whether a route (by its endpoint name) may be fetched without a session.

    Only routes, never path prefixes: an address no route matches is closed.
    """
    if endpoint is None:
        return False
    return endpoint in _OPEN_ENDPOINTS or endpoint.endswith(_OPEN_ENDPOINT_ENDINGS)


def install_auth(server: flask.Flask, accounts: Accounts, config: Config) -> None:
    """Require a log-in for every route of ``server`` but the open ones.

    Registers ``/login``, ``/logout`` and ``/lang/<code>``, the gate run
    before every request, the forgery check, the session cookie settings
    and (with ``dashboard.proxy_fix``) trust in the proxy's headers.

    Args:
        server: The desk's Flask app (``dash_app.server``).
        accounts: Where the accounts are (the store).
        config: ``[dashboard]`` (and ``[spool]``/``[store]`` for the key file).
    """
    settings = config.dashboard
    server.secret_key = session_secret(config)
    server.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.session_minutes),
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    if settings.proxy_fix:
        hops = settings.proxy_fix
        server.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            server.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops
        )
    gate = _Gate(accounts, settings.session_minutes * 60, settings.idle_minutes * 60)
    register_language_routes(server)
    server.add_url_rule(
        LOGIN_PATH, "pantaulaut_login", gate.login_view, methods=["GET", "POST"]
    )
    server.add_url_rule(
        LOGOUT_PATH, "pantaulaut_logout", gate.logout_view, methods=["POST"]
    )
    server.before_request(gate.check)
    server.after_request(gate.finish)
    server.register_error_handler(AccessDenied, _refused)
    log.info(
        "desk log-in required: sessions of %.0f min (idle %.0f min)%s",
        settings.session_minutes,
        settings.idle_minutes,
        ", secure cookies" if settings.secure_cookies else "",
    )


def _refused(error: AccessDenied) -> flask.Response:
    status = 401 if error.user is None else 403
    response = flask.jsonify({"error": str(error), "needed": error.needed})
    response.status_code = status
    return response


def _wall_clock() -> float:
    """Seconds since the epoch (session times survive restarts)."""
    return time.time()


def _fingerprint(password_hash: str) -> str:
    """A short digest of the hash: a password change ends older sessions."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _safe_next(target: str | None) -> str:
    """A local path to go to after log-in; anything else becomes ``/``."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
        return "/"
    if target.startswith(("//", "/\\", LOGIN_PATH)):
        return "/"
    return target


class _Gate:
    """The before/after-request hooks and the log-in views of one server."""

    def __init__(self, accounts: Accounts, session_s: float, idle_s: float) -> None:
        self.accounts = accounts
        self.session_s = session_s
        self.idle_s = idle_s
        self.limiter = LoginLimiter()
        # Per user: the password fingerprint and role last read from the store.
        self._known: dict[str, tuple[str, Role]] = {}

    # --- every request ------------------------------------------------------

    def check(self) -> WerkzeugResponse | None:
        request = flask.request
        rule = request.url_rule
        endpoint = rule.endpoint if rule is not None else None
        flask.g.pantaulaut_user = None
        if endpoint not in _AUTH_ENDPOINTS and is_open_endpoint(endpoint):
            return None
        user = self._session_user()
        if user is None and request.method in _SAFE_METHODS:
            user = self._basic_user()
        flask.g.pantaulaut_user = user
        if is_open_endpoint(endpoint):
            return None
        if user is None:
            return self._login_needed()
        if request.method not in _SAFE_METHODS and not self._csrf_ok():
            log.warning(
                "refused %s %s from %s: no valid forgery token",
                request.method,
                request.path,
                request.remote_addr,
            )
            return _text_response(t("auth.refused_csrf"), 403)
        return None

    def finish(self, response: flask.Response) -> flask.Response:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        if current_user() is not None and flask.session.get("user"):
            token = csrf_token()
            if flask.request.cookies.get(CSRF_COOKIE) != token:
                self._set_csrf_cookie(response, token)
        return response

    def _session_user(self) -> User | None:
        session = flask.session
        name = session.get("user")
        if not isinstance(name, str):
            return None
        now = _wall_clock()
        login_at = float(session.get("login_at", 0.0))
        seen_at = float(session.get("seen_at", 0.0))
        if now - login_at > self.session_s or now - seen_at > self.idle_s:
            log.info("desk session of %s ended (time limit)", name)
            self._end_session(expired=True)
            return None
        try:
            record = self.accounts.get_user(name)
        except StoreError as exc:
            # The store is away: a session checked before keeps its last
            # known role, so that the desk stays open through an outage.
            known = self._known.get(name)
            if known is None or known[0] != session.get("pw"):
                log.warning("cannot check the account of %s: %s", name, exc)
                return None
            log.warning("store away: %s keeps the role last read (%s)", name, exc)
            role = known[1]
        else:
            if record is None or _fingerprint(record.password_hash) != session.get(
                "pw"
            ):
                log.info("desk session of %s ended (account changed or removed)", name)
                self._known.pop(name, None)
                self._end_session(expired=True)
                return None
            try:
                role = Role(record.role)
            except ValueError:
                log.warning(
                    "account %s has unknown role %r; refused", name, record.role
                )
                return None
            self._known[name] = (str(session.get("pw")), role)
        if now - seen_at > _SEEN_GRANULARITY_S:
            session["seen_at"] = now
        return User(name, role)

    def _basic_user(self) -> User | None:
        header = flask.request.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            return None
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        name, _, password = decoded.partition(":")
        return self._authenticate(name, password)[0]

    def _authenticate(self, name: str, password: str) -> tuple[User | None, float]:
        """Check a name and password; returns the user (or None) and the wait."""
        key = f"{name.casefold()}|{flask.request.remote_addr}"
        wait_s = self.limiter.wait_s(key)
        if wait_s > 0:
            log.warning("log-in of %r from %s delayed", name, flask.request.remote_addr)
            return None, wait_s
        try:
            record = self.accounts.get_user(name) if name else None
        except StoreError:
            log.exception("cannot read the account of %r", name)
            return None, 0.0
        if record is None:
            verify_password(_DUMMY_HASH, password)
        if record is None or not verify_password(record.password_hash, password):
            self.limiter.failed(key)
            log.warning(
                "desk log-in refused for %r from %s", name, flask.request.remote_addr
            )
            return None, 0.0
        self.limiter.succeeded(key)
        try:
            role = Role(record.role)
        except ValueError:
            log.warning("account %s has unknown role %r; refused", name, record.role)
            return None, 0.0
        if _hasher.check_needs_rehash(record.password_hash):
            self.accounts.set_password(name, hash_password(password))
            log.info("password hash of %s renewed with current parameters", name)
        return User(record.name, role), 0.0

    def _csrf_ok(self) -> bool:
        expected = flask.session.get("csrf")
        given = flask.request.headers.get(CSRF_HEADER) or flask.request.form.get(
            CSRF_FIELD, ""
        )
        return (
            isinstance(expected, str)
            and bool(expected)
            and hmac.compare_digest(given.encode(), expected.encode())
        )

    def _login_needed(self) -> WerkzeugResponse:
        request = flask.request
        page = (
            request.method in ("GET", "HEAD")
            and not request.path.startswith("/_")
            and request.accept_mimetypes.accept_html
        )
        if page:
            target = request.full_path if request.query_string else request.path
            return flask.redirect(
                flask.url_for("pantaulaut_login", next=target), code=302
            )
        response = flask.jsonify({"error": "log-in needed", "login": LOGIN_PATH})
        response.status_code = 401
        return response

    def _end_session(self, *, expired: bool) -> None:
        flask.session.clear()
        if expired:
            flask.session["expired"] = True

    def _set_csrf_cookie(self, response: flask.Response, token: str) -> None:
        config = flask.current_app.config
        response.set_cookie(
            CSRF_COOKIE,
            token,
            # Read by Dash's renderer, so not HttpOnly; useless elsewhere.
            httponly=False,
            samesite="Strict",
            secure=bool(config.get("SESSION_COOKIE_SECURE")),
        )

    # --- log-in and log-out -------------------------------------------------

    def login_view(self) -> WerkzeugResponse:
        request = flask.request
        next_path = _safe_next(request.values.get("next"))
        if request.method == "GET":
            if current_user() is not None and flask.session.get("user"):
                return flask.redirect(next_path, code=303)
            message = ""
            if flask.session.pop("expired", False):
                message = t("auth.session_expired")
            elif request.args.get("out"):
                message = t("auth.logged_out")
            return _login_page(message, next_path, 200)
        given = request.form.get(CSRF_FIELD, "")
        expected = flask.session.get("csrf")
        if not (
            isinstance(expected, str)
            and expected
            and hmac.compare_digest(given.encode(), expected.encode())
        ):
            log.warning("log-in form from %s without its token", request.remote_addr)
            flask.session.clear()
            return _login_page(t("auth.refused_csrf"), next_path, 400)
        name = request.form.get("username", "").strip()
        user, wait_s = self._authenticate(name, request.form.get("password", ""))
        if wait_s > 0:
            seconds = max(1, round(wait_s))
            return _login_page(t("auth.refused_wait", seconds=seconds), next_path, 429)
        if user is None:
            return _login_page(t("auth.refused_login"), next_path, 401)
        record = self.accounts.get_user(user.name)
        now = _wall_clock()
        session = flask.session
        session.clear()
        session.permanent = True
        session.update(
            user=user.name,
            pw=_fingerprint(record.password_hash if record else ""),
            login_at=now,
            seen_at=now,
            csrf=secrets.token_urlsafe(32),
        )
        flask.g.pantaulaut_user = user
        log.info(
            "desk log-in: %s (%s) from %s", user.name, user.role, request.remote_addr
        )
        # The forgery cookie for Dash is set by finish().
        return flask.redirect(next_path, code=303)

    def logout_view(self) -> WerkzeugResponse:
        name = flask.session.get("user")
        if flask.session.get("user") and self._csrf_ok():
            log.info("desk log-out: %s", name)
            flask.session.clear()
            flask.g.pantaulaut_user = None
            response = flask.redirect(
                flask.url_for("pantaulaut_login", out=1), code=303
            )
        else:
            response = flask.redirect(flask.url_for("pantaulaut_login"), code=303)
        response.delete_cookie(CSRF_COOKIE)
        return response


def _text_response(text: str, status: int) -> flask.Response:
    response = flask.make_response(text, status)
    response.mimetype = "text/plain"
    return response


_LOGIN_TEMPLATE = """<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ page_title }}</title>
<style>
body { font-family: system-ui, sans-serif; background: #f3f5f7; margin: 0; }
main { max-width: 22rem; margin: 10vh auto; background: #fff; padding: 1.5rem;
       border-radius: 6px; box-shadow: 0 1px 4px rgba(0,0,0,.15); }
h1 { font-size: 1.1rem; } label { display: block; margin-top: .8rem; }
input[type=text], input[type=password] { width: 100%; box-sizing: border-box;
       padding: .4rem; font-size: 1rem; }
button { margin-top: 1rem; padding: .5rem 1rem; font-size: 1rem; }
.message { color: #b00020; } nav { margin-top: 1rem; font-size: .9rem; }
</style>
</head>
<body>
<main>
<h1 id="login-heading">{{ heading }}</h1>
<p class="desk-title">{{ title }}</p>
{% if message %}<p id="login-message" class="message" role="alert">{{ message }}</p>
{% endif %}
<form method="post" action="{{ action }}" id="login-form">
<input type="hidden" name="csrf_token" value="{{ csrf }}">
<input type="hidden" name="next" value="{{ next_path }}">
<label for="username">{{ user_label }}</label>
<input type="text" id="username" name="username" autocomplete="username"
 autocapitalize="none" required autofocus>
<label for="password">{{ password_label }}</label>
<input type="password" id="password" name="password"
 autocomplete="current-password" required>
<button type="submit" id="login-button">{{ button }}</button>
</form>
<nav class="languages">{% for code, label in languages %}
<a href="/lang/{{ code }}" id="lang-{{ code }}" lang="{{ code }}">{{ label }}</a>
{% endfor %}</nav>
</main>
</body>
</html>
"""


def _login_page(message: str, next_path: str, status: int) -> flask.Response:
    from pantaulaut.dashboard.i18n import current_language

    body = flask.render_template_string(
        _LOGIN_TEMPLATE,
        lang=current_language(),
        page_title=t("common.page_title"),
        heading=t("auth.login_heading"),
        title=t("common.title"),
        message=message,
        action=LOGIN_PATH,
        csrf=csrf_token(),
        next_path=next_path,
        user_label=t("auth.field_user"),
        password_label=t("auth.field_password"),
        button=t("auth.login_button"),
        languages=[(code, t(f"common.language.{code}")) for code in LANGUAGES],
    )
    response = flask.make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def desk_controls() -> Any:
    """The header's user and role, the accounts link (admins), log-out (Dash)."""
    from dash import dcc, html

    user = current_user()
    children: list[Any] = []
    if user is not None:
        children += [
            html.Span(
                t(
                    "auth.signed_in_as",
                    user=user.name,
                    role=t(f"auth.role.{user.role.value}"),
                ),
                id="signed-in-as",
                className="user",
            ),
        ]
        if user.role.allows(Role.ADMIN):
            children.append(
                html.A(t("auth.users.title"), href="/users", id="users-link")
            )
        children += [
            html.Form(
                method="POST",
                action=LOGOUT_PATH,
                className="logout",
                children=[
                    dcc.Input(type="hidden", name=CSRF_FIELD, value=csrf_token()),
                    html.Button(
                        t("auth.logout_button"), type="submit", id="logout-button"
                    ),
                ],
            ),
        ]
    return html.Div(children, className="desk-controls", id="desk-controls")
