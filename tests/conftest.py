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

import os
import uuid
from collections.abc import Iterator
from typing import NoReturn
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
