"""An Atom feed of open alerts as CAP 1.2, for systems that poll.

BMKG publishes its warnings the same way: an index feed whose entries link
to (here also embed) one CAP message each. Served by the dashboard's Flask
server:

``/feeds/alerts.atom``
    Open and acknowledged alerts, most severe first (Atom, RFC 4287). Each
    entry's ``content`` is the alert's current CAP message, and its
    ``link rel="alternate"`` the same message on its own.
``/feeds/alerts/<alert id>.xml``
    The current CAP message of one alert (open or not).

An entry's CAP message carries the identifier, ``msgType`` and
``references`` of the latest message pushed about the alert (see
:func:`pantaulaut.alerts.delivery.current_message`), so a system that both
polls and receives pushes sees one chain.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from flask import Flask, Response, abort, request

from pantaulaut.alerts.cap import (
    CAP_CONTENT_TYPE,
    CAP_NS,
    CapSettings,
    ZonePolygons,
    alert_url,
    cap_time,
    to_xml,
    zone_polygon_lookup,
)
from pantaulaut.alerts.delivery import DeliveryConfig, current_message
from pantaulaut.model import Alert, AlertState
from pantaulaut.store.base import Outbox, Store

if TYPE_CHECKING:
    from pantaulaut.geofence.zones import ZoneSet

__all__ = ["ATOM_CONTENT_TYPE", "FEED_PATH", "atom_feed", "register_feed"]

log = logging.getLogger(__name__)

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_CONTENT_TYPE = "application/atom+xml"
FEED_PATH = "/feeds/alerts.atom"
_MAX_ENTRIES = 200


def _cap_document(
    alert: Alert,
    cap: CapSettings,
    outbox: Outbox | None,
    zone_polygons: ZonePolygons | None,
) -> bytes:
    return to_xml(current_message(alert, cap, outbox), cap, zone_polygons)


def atom_feed(
    alerts: list[Alert],
    cap: CapSettings,
    base_url: str,
    *,
    outbox: Outbox | None = None,
    zone_polygons: ZonePolygons | None = None,
    now: datetime | None = None,
) -> bytes:
    """The Atom document listing these alerts with their CAP messages.

    Args:
        alerts: What to list, in order.
        cap: Sender, identifiers and links.
        base_url: Where the feed is served, for its links.
        outbox: Where the identifiers of pushed messages are found.
        zone_polygons: Zone outlines for zone alerts.
        now: The feed's ``updated`` when it lists nothing.
    """
    base = base_url.rstrip("/")
    # Atom elements are written unqualified under a default xmlns, so that
    # feed readers see plain <feed> and <entry>; the CAP inside keeps its
    # namespace, with the usual "cap" prefix.
    ET.register_namespace("cap", CAP_NS)
    feed = ET.Element("feed", {"xmlns": ATOM_NS})

    def sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
        child = ET.SubElement(parent, tag)
        if text is not None:
            child.text = text
        return child

    sub(feed, "id", f"{base}{FEED_PATH}")
    sub(feed, "title", "pantaulaut — peringatan terbuka / open alerts, Sumenep 112")
    newest = max(
        (a.updated or a.time for a in alerts), default=now or datetime.now(UTC)
    )
    sub(feed, "updated", _atom_time(newest))
    author = sub(feed, "author")
    sub(author, "name", cap.sender_name)
    link = sub(feed, "link")
    link.set("rel", "self")
    link.set("href", f"{base}{FEED_PATH}")
    for alert in alerts:
        document = _cap_document(alert, cap, outbox, zone_polygons)
        cap_root = ET.fromstring(document)  # noqa: S314 (our own output)
        entry = sub(feed, "entry")
        sub(entry, "id", alert_url(cap.web_base_url, alert.id))
        headline = cap_root.find(f"{{{CAP_NS}}}info/{{{CAP_NS}}}headline")
        sub(entry, "title", headline.text if headline is not None else alert.summary)
        sub(entry, "updated", _atom_time(alert.updated or alert.time))
        sub(entry, "published", _atom_time(alert.time))
        sub(entry, "summary", alert.summary)
        category = sub(entry, "category")
        category.set("term", alert.kind.value)
        category.set("label", alert.severity.value)
        alternate = sub(entry, "link")
        alternate.set("rel", "alternate")
        alternate.set("type", CAP_CONTENT_TYPE)
        alternate.set("href", f"{base}/feeds/alerts/{alert.id}.xml")
        related = sub(entry, "link")
        related.set("rel", "related")
        related.set("type", "text/html")
        related.set("href", alert_url(cap.web_base_url, alert.id))
        content = sub(entry, "content")
        content.set("type", CAP_CONTENT_TYPE)
        content.append(cap_root)
    ET.indent(feed)
    data: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return data


def _atom_time(value: datetime) -> str:
    # RFC 3339, as Atom asks; WIB like the CAP messages inside.
    return cap_time(value)


def register_feed(
    server: Flask,
    store: Store,
    settings: DeliveryConfig | CapSettings,
    zones: ZoneSet | None = None,
) -> None:
    """Serve the feed and the alerts' CAP messages from a Flask server.

    Args:
        server: The dashboard's ``app.server``.
        store: Where alerts (and the outbox) are read.
        settings: ``[delivery]`` (or CAP settings directly).
        zones: Zone outlines for zone alerts.
    """
    cap = settings.cap_settings() if isinstance(settings, DeliveryConfig) else settings
    outbox = store if isinstance(store, Outbox) else None
    polygons = zone_polygon_lookup(zones.zones) if zones is not None else None

    def feed_view() -> Response:
        alerts = store.alerts(
            states=(AlertState.OPEN, AlertState.ACKNOWLEDGED), limit=_MAX_ENTRIES
        )
        body = atom_feed(
            alerts,
            cap,
            request.host_url,
            outbox=outbox,
            zone_polygons=polygons,
        )
        return Response(body, content_type=f"{ATOM_CONTENT_TYPE}; charset=utf-8")

    def alert_view(alert_id: str) -> Response:
        open_alerts = store.alerts(
            states=(AlertState.OPEN, AlertState.ACKNOWLEDGED), limit=_MAX_ENTRIES
        )
        found = [a for a in open_alerts if a.id == alert_id]
        if found:
            body = _cap_document(found[0], cap, outbox, polygons)
        else:
            # A closed alert: the latest CAP message sent about it, as sent.
            sent = [
                d
                for d in (
                    outbox.deliveries(alert_id=alert_id, limit=10_000) if outbox else []
                )
                if d.content_type == CAP_CONTENT_TYPE
            ]
            if not sent:
                abort(404)
            body = max(sent, key=lambda d: d.seq).body.encode("utf-8")
        return Response(body, content_type=f"{CAP_CONTENT_TYPE}; charset=utf-8")

    server.add_url_rule(FEED_PATH, "pantaulaut_alert_feed", feed_view)
    server.add_url_rule(
        "/feeds/alerts/<alert_id>.xml", "pantaulaut_alert_cap", alert_view
    )
    log.info("CAP Atom feed on %s", FEED_PATH)
