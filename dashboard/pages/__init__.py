"""The desk's pages and what they share.

Every page is a module of this package that defines ``PAGE``, a
:class:`Page`: the path it answers, the catalogue key of its title in the
navigation bar, a function that builds its layout for one request, and a
function that registers its callbacks on the app once at start-up.
:func:`discover` imports the known page modules in navigation order and skips
those not present, so a page is added by adding its module.

A page's layout gets a :class:`PageRequest`: the shared
:class:`DeskContext` (store, configuration, zones, map layers and the alert
actions), the path, the part of the path after the page's own, and the query.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import dash

from pantaulaut.config import Config
from pantaulaut.dashboard.figures import MapLayers, ZoneOverlay
from pantaulaut.geofence.zones import ZoneSet
from pantaulaut.store.base import Store

__all__ = [
    "PAGE_MODULES",
    "DeskContext",
    "Page",
    "PageRequest",
    "alert_link",
    "discover",
    "find_page",
]

log = logging.getLogger(__name__)

Component = Any
"""A Dash component (Dash ships no type hints)."""

PAGE_MODULES: tuple[str, ...] = (
    "map",
    "inbox",
    "vessels",
    "playback",
    "stations",
    "exports",
    "users",
)
"""Page modules of this package, in the navigation bar's order."""


@dataclass(frozen=True)
class DeskContext:
    """What every page may read, built once when the app is built.

    Attributes:
        store: Vessels, tracks and alerts (read only for the pages).
        config: The service configuration.
        zones: The zones in force.
        overlay: The zones prepared for the map.
        layers: The map's switchable layers (land, zones, ALKI).
        desk_actions: The operator's actions on alerts (acknowledge,
            resolve), when the service provides them; None: read only.
    """

    store: Store
    config: Config
    zones: ZoneSet
    overlay: ZoneOverlay
    layers: MapLayers
    desk_actions: Any | None = None


@dataclass(frozen=True)
class PageRequest:
    """One request for a page.

    Attributes:
        context: The shared context.
        path: The whole path, such as ``/vessels/525000001``.
        rest: The path after the page's own, without slashes (``525000001``).
        query: The query string's values (the first of each name).
    """

    context: DeskContext
    path: str
    rest: str = ""
    query: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    """One page of the desk.

    Attributes:
        path: The path it answers, and every path below it (``/vessels``
            also answers ``/vessels/525000001``); ``/`` is the map.
        title_key: Catalogue key of its name in the navigation bar.
        layout: Builds its content for one request (called per request, in
            the request's language).
        register: Adds its callbacks to the app, once.
        nav: Whether the navigation bar links to it.
    """

    path: str
    title_key: str
    layout: Callable[[PageRequest], Component]
    register: Callable[[dash.Dash, DeskContext], None]
    nav: bool = True


def discover(names: Sequence[str] = PAGE_MODULES) -> list[Page]:
    """The pages whose modules are present, in the order of ``names``."""
    pages: list[Page] = []
    for name in names:
        module_name = f"{__name__}.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            log.info("desk page %s is not installed", name)
            continue
        page = getattr(module, "PAGE", None)
        if isinstance(page, Page):
            pages.append(page)
        else:
            log.warning("desk page module %s defines no PAGE", module_name)
    return pages


def find_page(pages: Sequence[Page], path: str) -> tuple[Page, str] | None:
    """The page that answers ``path`` and the rest of the path after its own.

    The longest matching page path wins; ``/`` answers only ``/`` itself.
    """
    clean = "/" + path.strip("/")
    best: tuple[Page, str] | None = None
    for page in pages:
        base = "/" + page.path.strip("/")
        if base == "/":
            if clean == "/" and best is None:
                best = (page, "")
            continue
        if clean == base or clean.startswith(base + "/"):
            rest = clean[len(base) :].strip("/")
            if best is None or len(base) > len("/" + best[0].path.strip("/")):
                best = (page, rest)
    return best


def alert_link(alert_id: str) -> str:
    """The inbox with one alert selected (the pages that name an alert link here)."""
    return f"/inbox?alert={quote(alert_id, safe='')}"
