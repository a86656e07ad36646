"""The desk's languages: catalogues, the switch, and times in WIB."""

from __future__ import annotations

import ast
import json
import string
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import flask
import pytest

from pantaulaut.dashboard import i18n
from pantaulaut.dashboard.figures import format_wib
from pantaulaut.dashboard.i18n import (
    LANGUAGES,
    catalogue,
    current_language,
    register_language_routes,
    t,
)
from pantaulaut.errors import CatalogueError

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "dashboard" / "locales"
# Every source folder of the package.
SOURCES = ("pantaulaut", "ingest", "geofence", "alerts", "store", "dashboard", "data")


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def used_keys() -> dict[str, str]:
    """Catalogue keys named literally in the package: t("..."), *_key="..."."""
    found: dict[str, str] = {}
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name == "t" and node.args:
                    first = node.args[0]
                    if isinstance(first, ast.Constant) and isinstance(first.value, str):
                        found[first.value] = where
                for keyword in node.keywords:
                    value = keyword.value
                    if (
                        (keyword.arg or "").endswith("_key")
                        and isinstance(value, ast.Constant)
                        and isinstance(value.value, str)
                        and "." in value.value
                    ):
                        found[value.value] = where
    return found


def test_both_catalogues_hold_the_same_keys_and_fields() -> None:
    indonesian = json.loads((LOCALES / "id.json").read_text(encoding="utf-8"))
    english = json.loads((LOCALES / "en.json").read_text(encoding="utf-8"))
    assert set(indonesian) == set(english), set(indonesian) ^ set(english)
    for key, text in indonesian.items():
        assert text.strip(), key
        assert english[key].strip(), key
        assert fields(text) == fields(english[key]), key


def test_every_key_the_package_asks_for_is_in_both_catalogues() -> None:
    keys = used_keys()
    assert len(keys) > 20  # the scan finds the calls
    for language in LANGUAGES:
        missing = {
            k: where for k, where in keys.items() if k not in catalogue(language)
        }
        assert not missing, (language, missing)


def test_keys_are_grouped_by_page() -> None:
    prefixes = (
        "auth.",
        "common.",
        "exports.",
        "inbox.",
        "map.",
        "playback.",
        "stations.",
        "vessel.",
    )
    stray = [key for key in catalogue("id") if not key.startswith(prefixes)]
    assert not stray


def test_indonesian_is_the_default_and_english_is_chosen_by_cookie() -> None:
    assert current_language() == "id"
    assert t("auth.login_button") == "Masuk"
    app = flask.Flask("lang")
    with app.test_request_context("/"):
        assert current_language() == "id"
        assert t("map.count_vessels", count=3) == "3 kapal ditampilkan"
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert current_language() == "en"
        assert t("map.count_vessels", count=3) == "3 vessels shown"
    with app.test_request_context("/", headers={"Cookie": "lang=fr"}):
        assert current_language() == "id"


def test_a_missing_key_or_field_raises() -> None:
    with pytest.raises(CatalogueError, match="missing"):
        t("map.no_such_text")
    with pytest.raises(CatalogueError, match="filled in"):
        t("map.count_vessels")
    with pytest.raises(CatalogueError):
        catalogue("fr")


def test_the_switch_sets_the_cookie_and_goes_back_to_the_page() -> None:
    app = flask.Flask("switch")
    register_language_routes(app)
    register_language_routes(app)  # twice is harmless
    client = app.test_client()
    answer = client.get(
        "/lang/en", headers={"Referer": "http://localhost/vessels?mmsi=525000100"}
    )
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/vessels?mmsi=525000100"
    cookie = client.get_cookie(i18n.COOKIE)
    assert cookie is not None
    assert cookie.value == "en"
    assert cookie.same_site == "Strict"
    # Another site as referrer: back to the desk's start, not there.
    away = client.get("/lang/id", headers={"Referer": "http://elsewhere.example/x"})
    assert away.headers["Location"] == "/"
    unknown = client.get("/lang/xx")
    assert unknown.status_code == 303
    cookie = client.get_cookie(i18n.COOKIE)
    assert cookie is not None
    assert cookie.value == "id"


def test_times_are_shown_in_wib_with_the_date() -> None:
    # 20:35 UTC is 03:35 the next day in WIB (UTC+7).
    assert format_wib(datetime(2026, 6, 17, 20, 35, tzinfo=UTC)) == (
        "2026-06-18 03:35 WIB"
    )
    assert format_wib(datetime(2026, 6, 17, 0, 35)) == "2026-06-17 07:35 WIB"
    assert format_wib(None) == t("common.not_available")


def test_the_catalogues_are_installed_with_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    data = project["tool"]["setuptools"]["package-data"]
    assert "locales/*.json" in data["pantaulaut.dashboard"]
    assert "locales/*.json" in data["pantaulaut.alerts"]  # alert wording


def test_every_alert_kind_has_a_name_in_both_languages() -> None:
    from pantaulaut.dashboard.i18n import catalogue
    from pantaulaut.model import AlertKind

    for language in ("id", "en"):
        names = catalogue(language)
        missing = [k.value for k in AlertKind if f"common.kind.{k.value}" not in names]
        assert not missing, (language, missing)
    assert (
        catalogue("id")["common.kind.sart_active"]
        != catalogue("en")["common.kind.sart_active"]
    )
