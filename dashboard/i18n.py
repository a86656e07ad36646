"""The desk's languages: Bahasa Indonesia by default, English on a switch.

Every text the desk shows comes from a catalogue, ``locales/<code>.json``, a
flat JSON object of ``key: text``; code asks for a text by key with
:func:`t`. Keys are grouped by page with a prefix (``map.``, ``inbox.``,
``vessel.``, ``playback.``, ``stations.``, ``exports.``, ``auth.``,
``common.``). Both catalogues hold the same keys; ``tests/test_i18n.py``
checks that, and that every key the package asks for exists. Texts are
``str.format`` templates: ``{count} kapal``; a literal brace is doubled.

The language of a request is its ``lang`` cookie (``id`` or ``en``), which the
``/lang/<code>`` links set; outside a request it is Indonesian.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache
from urllib.parse import urlsplit

import flask
from werkzeug.wrappers import Response as WerkzeugResponse

from pantaulaut.alerts.wording import LANGUAGES as WORDING_LANGUAGES
from pantaulaut.alerts.wording import read_catalogue, summary_in
from pantaulaut.errors import CatalogueError
from pantaulaut.model import Alert

__all__ = [
    "COOKIE",
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "alert_summary",
    "catalogue",
    "current_language",
    "has",
    "kind_text",
    "register_language_routes",
    "severity_text",
    "t",
]

log = logging.getLogger(__name__)

LANGUAGES = WORDING_LANGUAGES
"""The desk's languages, the default first (those of the alert wording)."""
DEFAULT_LANGUAGE = LANGUAGES[0]
COOKIE = "lang"
"""The cookie that holds the chosen language."""
LANGUAGE_PATH = "/lang/<code>"
# A year: the choice belongs to the desk's browser, not to a session.
_COOKIE_MAX_AGE_S = 365 * 24 * 3600


@cache
def catalogue(language: str) -> Mapping[str, str]:
    """The texts of one language, read once from ``locales/<language>.json``.

    Raises:
        CatalogueError: The language is unknown or its file is not a flat
            JSON object of strings.
    """
    return read_catalogue("pantaulaut.dashboard", language)


def current_language() -> str:
    """The language of the current request (its ``lang`` cookie), else ``id``."""
    if not flask.has_request_context():
        return DEFAULT_LANGUAGE
    chosen = flask.request.cookies.get(COOKIE, "")
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def has(key: str) -> bool:
    """Whether ``key`` is in the catalogue (for keys built from data)."""
    return key in catalogue(DEFAULT_LANGUAGE)


def t(key: str, /, **values: object) -> str:
    """The text for ``key`` in the current language, with ``values`` filled in.

    Args:
        key: A catalogue key, such as ``map.title``.
        **values: Fields of the text (``str.format`` names).

    Raises:
        CatalogueError: The key is missing, or the text names a field not
            given.

    >>> t("common.not_available")
    't/a'
    """
    language = current_language()
    try:
        text = catalogue(language)[key]
    except KeyError:
        raise CatalogueError(key, language, "is missing") from None
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise CatalogueError(key, language, f"cannot be filled in: {exc}") from exc


def kind_text(kind: str) -> str:
    """An alert kind in words (``sart_active``: "AIS-SART active: distress").

    The stable identifier (DESIGN.md) stays what systems exchange; people
    read its name in their language. Every kind has one in each catalogue.
    """
    return t(f"common.kind.{kind}")


def alert_summary(alert: Alert) -> str:
    """An alert's one-line summary in the desk's language.

    See :mod:`pantaulaut.alerts.wording`; the detector's English line stays
    in CAP's ``en-US`` block and in the logs.
    """
    return summary_in(alert, current_language())


def severity_text(severity: str) -> str:
    """A severity as the desk shows it ("critical": KRITIS, CRITICAL)."""
    return t(f"common.severity.{severity}")


def register_language_routes(server: flask.Flask) -> None:
    """Add ``/lang/id`` and ``/lang/en``: set the cookie, go back to the page.

    Calling it again for the same server does nothing.
    """
    if "pantaulaut_language" in server.view_functions:
        return

    def switch(code: str) -> WerkzeugResponse:
        back = _same_site_path(flask.request.referrer)
        response = flask.redirect(back, code=303)
        if code in LANGUAGES:
            response.set_cookie(
                COOKIE,
                code,
                max_age=_COOKIE_MAX_AGE_S,
                samesite="Strict",
                secure=bool(server.config.get("SESSION_COOKIE_SECURE")),
            )
        else:
            log.warning("language switch to unknown language %r ignored", code)
        return response

    server.add_url_rule(LANGUAGE_PATH, "pantaulaut_language", switch)


def _same_site_path(referrer: str | None) -> str:
    """The path of the page the switch was used on, if it is this site's."""
    if not referrer:
        return "/"
    parts = urlsplit(referrer)
    if parts.netloc and parts.netloc != flask.request.host:
        return "/"
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//"):
        return "/"
    return path + (f"?{parts.query}" if parts.query else "")
