"""A bounded spool on local disk for what a server could not take yet.

When TimescaleDB (the store) or the MQTT broker is unreachable, the service
keeps what it would have sent in a :class:`Spool`: one SQLite file in WAL
mode, written with ``synchronous=FULL`` so that an entry appended is on disk
before the call returns, and read back in the order it was written once the
server is back.

The spool is bounded (``max_bytes``). When the bound is reached the oldest
*droppable* entries go first (positions and raw messages for the store, raw
traffic and vessel states for the broker), each drop logged as a WARNING with
what was lost and counted in :attr:`Spool.dropped`. Entries marked ``keep``
(alerts, outbox deliveries, vessel and station state, port calls, distress
traffic) are never dropped, even when they alone exceed the bound: a lost distress alert
costs more than a full disk.

:class:`SpoolingStore` wraps any :class:`~pantaulaut.store.base.Store`: a
batch goes straight to the store while it answers; when a write fails
because the server is away, that batch and every later one go to the spool,
and a background thread writes them to the store, oldest first, once it is
reachable again; then writes go straight through again. A batch the store
refuses for its content (a value a column cannot hold) is split until the
refused records are found; those are kept in the spool file's ``refused``
table for the operator and the rest is written.

With ``background=True`` (the live service) :meth:`SpoolingStore.write`
only hands a snapshot of the batch to a writer thread, through a small
bounded queue, so that the event loop never waits for the database while
lines, and the alerts they raise, queue behind it.

Delivery is at least once: a batch whose commit reached the server but whose
answer was lost is written again.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import fcntl
import json
import logging
import os
import queue
import sqlite3
import sys
import threading
import time
import types
import typing
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pantaulaut.errors import StoreError
from pantaulaut.model import (
    Alert,
    AlertState,
    PortCall,
    PositionReport,
    StationStats,
    StoredMessage,
    Vessel,
)
from pantaulaut.store.base import Batch, Store

__all__ = [
    "DROPPABLE_KINDS",
    "Spool",
    "SpoolEntry",
    "SpooledEntry",
    "SpoolingStore",
    "batch_entries",
    "batch_from_entries",
    "is_retryable",
]

log = logging.getLogger(__name__)

# Batch fields whose records may be dropped, oldest first, at the bound. The
# others (alerts, deliveries, vessel and station state) are always kept.
DROPPABLE_KINDS = frozenset({"positions", "messages"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    key TEXT UNIQUE,
    keep INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    meta TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_droppable ON entries (keep, seq);
CREATE TABLE IF NOT EXISTS refused (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    error TEXT NOT NULL,
    kind TEXT NOT NULL,
    meta TEXT NOT NULL,
    data BLOB NOT NULL
);
"""


@dataclasses.dataclass(frozen=True, slots=True)
class SpoolEntry:
    """One thing to send later.

    Attributes:
        kind: What it holds, such as ``positions`` or ``alerts``.
        data: The payload, as its owner encoded it.
        rows: Records in it, for counters and drain chunks.
        keep: Never dropped at the bound.
        key: Entries with the same key replace each other (latest state).
        meta: Small JSON-able facts for reports: stations, time span.
    """

    kind: str
    data: bytes
    rows: int = 1
    keep: bool = False
    key: str | None = None
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class SpooledEntry:
    """An entry read back from the spool, with its place in the queue."""

    seq: int
    entry: SpoolEntry


class Spool:
    """A bounded first-in first-out queue in one SQLite file.

    The file is created on the first :meth:`append` (an embedded service
    whose store never fails leaves no file behind) and locked against a
    second process for as long as it is open.

    Args:
        path: The spool file.
        max_bytes: Bound on the payload bytes held; droppable entries
            beyond it are dropped oldest first.
        what: How log lines name it, such as ``store spool``.
        on_drop: Called with every entry dropped at the bound.

    Attributes:
        dropped: Records dropped at the bound, by kind.
        dropped_stations: Records dropped at the bound, by station.
    """

    def __init__(
        self,
        path: Path,
        max_bytes: int,
        *,
        what: str = "spool",
        on_drop: Callable[[SpoolEntry], None] | None = None,
    ) -> None:
        if max_bytes <= 0:
            msg = f"{what} bound must be above 0 bytes, not {max_bytes}"
            raise StoreError(msg)
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.what = what
        self.on_drop = on_drop
        self.dropped: Counter[str] = Counter()
        self.dropped_stations: Counter[str] = Counter()
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._lock_file: int | None = None
        self._bytes = 0
        self._rows = 0
        self._entries = 0
        self._over_bound_warned = False

    # --- life -------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """True once the file is open."""
        return self._db is not None

    def open(self) -> None:
        """Create or open the file and take its lock.

        Raises:
            StoreError: The file cannot be created, or another process has it.
        """
        with self._lock:
            if self._db is not None:
                return
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                msg = f"cannot create the {self.what} {self.path}: {exc}"
                raise StoreError(msg) from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                # Two processes draining one spool would write it twice.
                msg = (
                    f"the {self.what} {self.path} is in use by another process; "
                    "give each process its own spool"
                )
                raise StoreError(msg) from exc
            try:
                db = sqlite3.connect(
                    self.path, check_same_thread=False, isolation_level=None
                )
                db.execute("PRAGMA journal_mode=WAL")
                # FULL: an appended entry survives a power cut, which is
                # the point of a spool.
                db.execute("PRAGMA synchronous=FULL")
                db.executescript(_SCHEMA)
                total = db.execute(
                    "SELECT count(*), coalesce(sum(rows), 0), coalesce(sum(bytes), 0)"
                    " FROM entries"
                ).fetchone()
            except sqlite3.Error as exc:
                os.close(fd)
                msg = f"cannot open the {self.what} {self.path}: {exc}"
                raise StoreError(msg) from exc
            self._db = db
            self._lock_file = fd
            self._entries, self._rows, self._bytes = (int(v) for v in total)
            log.info(
                "opened %s %s: %d entries, %d records waiting",
                self.what,
                self.path,
                self._entries,
                self._rows,
            )

    def close(self) -> None:
        """Close the file and release its lock."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
            if self._lock_file is not None:
                os.close(self._lock_file)
                self._lock_file = None

    # --- what is in it -----------------------------------------------------

    def __len__(self) -> int:
        return self._entries

    @property
    def rows(self) -> int:
        """Records waiting."""
        return self._rows

    @property
    def bytes(self) -> int:
        """Payload bytes waiting."""
        return self._bytes

    def queued(self) -> dict[str, int]:
        """Records waiting, by kind."""
        with self._lock:
            if self._db is None:
                return {}
            rows = self._execute(
                "SELECT kind, sum(rows) FROM entries GROUP BY kind ORDER BY kind"
            ).fetchall()
        return {str(kind): int(count) for kind, count in rows}

    def refused(self) -> int:
        """Records the server refused, kept for the operator."""
        with self._lock:
            if self._db is None:
                return 0
            return int(self._execute("SELECT count(*) FROM refused").fetchone()[0])

    # --- queue -------------------------------------------------------------

    def append(self, entries: Sequence[SpoolEntry]) -> None:
        """Add entries at the tail, in one transaction, then keep the bound.

        Raises:
            StoreError: The file cannot be written (disk full, I/O error).
        """
        if not entries:
            return
        with self._lock:
            self.open()
            db = self._connection()
            try:
                db.execute("BEGIN IMMEDIATE")
                for entry in entries:
                    self._insert(db, entry)
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback(db)
                self._recount(db)
                msg = f"cannot append to the {self.what} {self.path}: {exc}"
                raise StoreError(msg) from exc
            if self._bytes > self.max_bytes:
                self._evict(db)

    def head(self, max_rows: int) -> list[SpooledEntry]:
        """The oldest entries, up to ``max_rows`` records (at least one entry)."""
        with self._lock:
            if self._db is None or not self._entries:
                return []
            cursor = self._execute(
                "SELECT seq, kind, data, rows, keep, key, meta FROM entries "
                "ORDER BY seq"
            )
            out: list[SpooledEntry] = []
            total = 0
            for seq, kind, data, rows, keep, key, meta in cursor:
                if out and total + rows > max_rows:
                    break
                entry = SpoolEntry(
                    kind, bytes(data), rows, bool(keep), key, json.loads(meta)
                )
                out.append(SpooledEntry(seq, entry))
                total += rows
            cursor.close()
            return out

    def remove(self, seqs: Sequence[int]) -> None:
        """Forget entries that were sent."""
        if not seqs:
            return
        with self._lock:
            db = self._connection()
            try:
                db.execute("BEGIN IMMEDIATE")
                for seq in seqs:
                    gone = db.execute(
                        "DELETE FROM entries WHERE seq = ? RETURNING rows, bytes",
                        (seq,),
                    ).fetchone()
                    if gone is not None:
                        self._count(-1, -gone[0], -gone[1])
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback(db)
                self._recount(db)
                msg = f"cannot update the {self.what} {self.path}: {exc}"
                raise StoreError(msg) from exc
            if not self._entries:
                self._over_bound_warned = False

    def refuse(self, entry: SpoolEntry, error: str) -> None:
        """Keep an entry the server refused for its content, out of the queue."""
        with self._lock:
            self.open()
            try:
                self._connection().execute(
                    "INSERT INTO refused (time, error, kind, meta, data) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        datetime.now(UTC).isoformat(),
                        error,
                        entry.kind,
                        json.dumps(entry.meta, default=str),
                        entry.data,
                    ),
                )
            except sqlite3.Error as exc:
                msg = f"cannot write to the {self.what} {self.path}: {exc}"
                raise StoreError(msg) from exc

    # --- inside ------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            msg = f"the {self.what} {self.path} is closed"
            raise StoreError(msg)
        return self._db

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self._connection().execute(sql, params)
        except sqlite3.Error as exc:
            msg = f"cannot read the {self.what} {self.path}: {exc}"
            raise StoreError(msg) from exc

    def _insert(self, db: sqlite3.Connection, entry: SpoolEntry) -> None:
        meta = json.dumps(entry.meta, default=str, separators=(",", ":"))
        size = len(entry.data) + len(meta)
        if entry.key is not None:
            # Latest state replaces the one before; it moves to the tail.
            old = db.execute(
                "DELETE FROM entries WHERE key = ? RETURNING rows, bytes",
                (entry.key,),
            ).fetchone()
            if old is not None:
                self._count(-1, -old[0], -old[1])
        db.execute(
            "INSERT INTO entries (kind, key, keep, rows, bytes, meta, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                entry.kind,
                entry.key,
                int(entry.keep),
                entry.rows,
                size,
                meta,
                entry.data,
            ),
        )
        self._count(1, entry.rows, size)

    def _count(self, entries: int, rows: int, size: int) -> None:
        self._entries += entries
        self._rows += rows
        self._bytes += size

    def _recount(self, db: sqlite3.Connection) -> None:
        total = db.execute(
            "SELECT count(*), coalesce(sum(rows), 0), coalesce(sum(bytes), 0) "
            "FROM entries"
        ).fetchone()
        self._entries, self._rows, self._bytes = (int(v) for v in total)

    @staticmethod
    def _rollback(db: sqlite3.Connection) -> None:
        if db.in_transaction:
            db.execute("ROLLBACK")

    def _evict(self, db: sqlite3.Connection) -> None:
        """Drop the oldest droppable entries until the bound holds again."""
        dropped: list[SpoolEntry] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            while self._bytes > self.max_bytes:
                victims = db.execute(
                    "SELECT seq, kind, rows, bytes, meta FROM entries "
                    "WHERE keep = 0 ORDER BY seq LIMIT 64"
                ).fetchall()
                if not victims:
                    break
                for seq, kind, rows, size, meta in victims:
                    if self._bytes <= self.max_bytes:
                        break
                    db.execute("DELETE FROM entries WHERE seq = ?", (seq,))
                    self._count(-1, -rows, -size)
                    dropped.append(
                        SpoolEntry(kind, b"", rows, False, None, json.loads(meta))
                    )
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback(db)
            self._recount(db)
            log.error("%s %s: cannot drop old entries: %s", self.what, self.path, exc)
            return
        if dropped:
            self._report_drops(dropped)
        if self._bytes > self.max_bytes and not self._over_bound_warned:
            self._over_bound_warned = True
            log.warning(
                "%s %s holds %.1f MB, above its bound of %.1f MB, in entries that "
                "are never dropped (alerts, state); nothing more can be dropped",
                self.what,
                self.path,
                self._bytes / 1e6,
                self.max_bytes / 1e6,
            )

    def _report_drops(self, dropped: list[SpoolEntry]) -> None:
        by_kind: Counter[str] = Counter()
        first: str | None = None
        last: str | None = None
        for entry in dropped:
            by_kind[entry.kind] += entry.rows
            self.dropped[entry.kind] += entry.rows
            for station, count in entry.meta.get("stations", {}).items():
                self.dropped_stations[station] += int(count)
            if entry.meta.get("first") and (
                first is None or entry.meta["first"] < first
            ):
                first = entry.meta["first"]
            if entry.meta.get("last") and (last is None or entry.meta["last"] > last):
                last = entry.meta["last"]
            if self.on_drop is not None:
                self.on_drop(entry)
        span = f" from {first} to {last}" if first and last else ""
        log.warning(
            "%s %s is full (%.1f MB): dropped the oldest %s%s; dropped so far: %s",
            self.what,
            self.path,
            self.max_bytes / 1e6,
            ", ".join(f"{n} {kind}" for kind, n in sorted(by_kind.items())),
            span,
            ", ".join(f"{n} {kind}" for kind, n in sorted(self.dropped.items())),
        )


# --- batches as spool entries ------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


def _dumps(data: Any) -> bytes:
    return json.dumps(data, default=_json_default, separators=(",", ":")).encode()


def _converter(hint: Any) -> Callable[[Any], Any] | None:
    """How to turn a JSON value back into a field of type ``hint``."""
    options = typing.get_args(hint) if _is_union(hint) else (hint,)
    for option in options:
        if option is datetime:
            return _to_datetime
        if isinstance(option, type) and issubclass(option, enum.Enum):
            return _to_enum(option)
        if typing.get_origin(option) is tuple:
            return _to_tuple
    return None


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _to_datetime(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _to_enum(cls: type[enum.Enum]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        return cls(value) if value is not None else None

    return convert


def _to_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


class _RecordCodec:
    """Records of one dataclass as JSON rows of named fields."""

    def __init__(self, cls: type[Any]) -> None:
        self.cls = cls
        hints = typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))
        self.fields = [f.name for f in dataclasses.fields(cls)]
        self.converters = {
            name: convert
            for name in self.fields
            if (convert := _converter(hints[name])) is not None
        }

    def rows(self, records: Sequence[Any]) -> bytes:
        values = [[getattr(r, name) for name in self.fields] for r in records]
        return _dumps({"fields": self.fields, "rows": values})

    def records(self, data: bytes) -> list[Any]:
        document = json.loads(data)
        names: list[str] = document["fields"]
        known = set(self.fields)
        out = []
        for row in document["rows"]:
            values = {n: v for n, v in zip(names, row, strict=True) if n in known}
            for name, convert in self.converters.items():
                if name in values:
                    values[name] = convert(values[name])
            out.append(self.cls(**values))
        return out


@dataclasses.dataclass(frozen=True, slots=True)
class _BatchField:
    name: str
    keyed: bool
    codec: _RecordCodec


def _batch_fields() -> list[_BatchField]:
    # Read from Batch itself, so that a field added to it later (such as the
    # delivery outbox) is spooled, and kept, without a change here.
    hints = typing.get_type_hints(Batch, vars(sys.modules[Batch.__module__]))
    out = []
    for f in dataclasses.fields(Batch):
        hint = hints[f.name]
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin is list and args:
            out.append(_BatchField(f.name, False, _RecordCodec(args[0])))
        elif origin is dict and len(args) == 2:
            out.append(_BatchField(f.name, True, _RecordCodec(args[1])))
    return out


_FIELDS = _batch_fields()
_FIELD_BY_NAME = {f.name: f for f in _FIELDS}


def _summary(records: Sequence[Any]) -> dict[str, Any]:
    """Stations and time span of records, for the drop warning and counters."""
    stations: Counter[str] = Counter()
    first: datetime | None = None
    last: datetime | None = None
    for record in records:
        station = getattr(record, "station", None)
        if isinstance(station, str):
            stations[station] += 1
        time = getattr(record, "time", None)
        if isinstance(time, datetime):
            first = time if first is None or time < first else first
            last = time if last is None or time > last else last
    meta: dict[str, Any] = {}
    if stations:
        meta["stations"] = dict(stations)
    if first is not None and last is not None:
        meta["first"] = first.astimezone(UTC).isoformat()
        meta["last"] = last.astimezone(UTC).isoformat()
    return meta


def batch_entries(batch: Batch) -> list[SpoolEntry]:
    """A batch as spool entries: history as droppable rows, state as kept keys."""
    out: list[SpoolEntry] = []
    for f in _FIELDS:
        value = getattr(batch, f.name)
        if not value:
            continue
        if f.keyed:
            for key, record in value.items():
                out.append(
                    SpoolEntry(
                        f.name,
                        f.codec.rows([record]),
                        1,
                        keep=True,
                        key=f"{f.name}:{key}",
                        meta={"key": key},
                    )
                )
        else:
            out.append(
                SpoolEntry(
                    f.name,
                    f.codec.rows(value),
                    len(value),
                    keep=f.name not in DROPPABLE_KINDS,
                    meta=_summary(value),
                )
            )
    return out


def batch_from_entries(entries: Sequence[SpoolEntry]) -> Batch:
    """The batch that writes these entries, in their order."""
    batch = Batch()
    for entry in entries:
        f = _FIELD_BY_NAME.get(entry.kind)
        if f is None:
            log.error("spool entry of unknown kind %r left out", entry.kind)
            continue
        records = f.codec.records(entry.data)
        target = getattr(batch, f.name)
        if f.keyed:
            for record in records:
                target[entry.meta["key"]] = record
        else:
            target.extend(records)
    return batch


def _split(batch: Batch) -> list[Batch]:
    """Smaller batches that together write the same records; [] for one record.

    Each kind of record goes apart first, then each kind is halved, so that
    a refused record is found in a logarithmic number of writes.
    """
    filled = [(f, getattr(batch, f.name)) for f in _FIELDS if getattr(batch, f.name)]
    if len(filled) > 1:
        parts = []
        for f, value in filled:
            part = Batch()
            setattr(part, f.name, value)
            parts.append(part)
        return parts
    if not filled or len(filled[0][1]) <= 1:
        return []
    f, value = filled[0]
    items = list(value.items()) if f.keyed else list(value)
    middle = len(items) // 2
    halves = []
    for half in (items[:middle], items[middle:]):
        part = Batch()
        setattr(part, f.name, dict(half) if f.keyed else half)
        halves.append(part)
    return halves


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


# SQLSTATE classes of a server away or busy rather than of a refused request:
# connection exception, insufficient resources, operator intervention (shut
# down, restarting), system error, transaction rollback (deadlock).
_RETRYABLE_SQLSTATE_CLASSES = frozenset({"08", "53", "57", "58", "40"})


def is_retryable(error: BaseException) -> bool:
    """True when a store error says "not now" rather than "not this".

    Server away, restarting, out of connections, timed out, the SQLite file
    locked or its disk full: the same write may succeed later. A value a
    column cannot hold, a missing table or a refused login will not.
    """
    psycopg = sys.modules.get("psycopg")
    for exc in _chain(error):
        if isinstance(exc, sqlite3.OperationalError | OSError):
            return True
        if psycopg is None or not isinstance(exc, psycopg.Error):
            continue
        sqlstate = getattr(exc, "sqlstate", None)
        if sqlstate:
            return str(sqlstate)[:2] in _RETRYABLE_SQLSTATE_CLASSES
        # No SQLSTATE: the client lost or never had the connection (refused,
        # reset, pool timeout).
        return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
    return False


def _snapshot(batch: Batch) -> Batch:
    """A batch whose records the pipeline no longer changes.

    Vessels, alerts and station counters in a batch are the pipeline's live
    objects; a writer thread must not read one half-updated.
    """
    copied = Batch()
    for f in _FIELDS:
        value = getattr(batch, f.name)
        if f.keyed:
            setattr(copied, f.name, {k: _copy(r) for k, r in value.items()})
        else:
            setattr(copied, f.name, list(value))
    return copied


def _copy(record: Any) -> Any:
    clone = copy.copy(record)
    for name in _containers(type(record)):
        value = getattr(clone, name)
        if isinstance(value, list | dict | set):
            setattr(clone, name, copy.copy(value))
    return clone


_CONTAINERS: dict[type, tuple[str, ...]] = {}


def _containers(cls: type) -> tuple[str, ...]:
    """Fields of a record class that may hold a list, dict or set."""
    known = _CONTAINERS.get(cls)
    if known is not None:
        return known
    hints = typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))
    containers = (list, dict, set)
    out = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        options = typing.get_args(hint) if _is_union(hint) else ()
        if any(
            typing.get_origin(h) in containers or h in containers
            for h in (hint, *options)
        ):
            out.append(f.name)
    _CONTAINERS[cls] = tuple(out)
    return _CONTAINERS[cls]


# --- the store wrapper -------------------------------------------------------


class SpoolingStore:
    """A store that never loses a batch to a server outage.

    Args:
        store: The store; None when it could not be opened yet (then
            ``opener`` is called until it can).
        spool: Where batches wait while the store is away.
        opener: Opens the store again; needed when ``store`` is None.
        write_stations: False to leave station statistics out of every
            batch (a scale-out worker: the router owns them).
        retry_s: First delay between attempts while the store is away;
            it doubles up to ``retry_max_s``.
        retry_max_s: Longest delay between attempts.
        drain_rows: Most records written from the spool in one batch.
        on_drop: Called with every entry dropped at the spool's bound.
        store_type: The class ``opener`` returns, so that the methods it adds
            to the protocol (the delivery outbox) are known even before the
            store could be opened.
        background: Write from a thread of its own: :meth:`write` returns
            at once unless ``max_pending`` batches already wait.
        max_pending: Batches waiting for the writer thread before
            :meth:`write` waits too.

    Reads go to the store and raise :class:`StoreError` while it is away.
    Methods beyond the :class:`Store` protocol (the delivery outbox,
    retention) are passed through to the store.
    """

    def __init__(
        self,
        store: Store | None,
        spool: Spool,
        *,
        opener: Callable[[], Store] | None = None,
        write_stations: bool = True,
        retry_s: float = 1.0,
        retry_max_s: float = 30.0,
        drain_rows: int = 20_000,
        on_drop: Callable[[SpoolEntry], None] | None = None,
        store_type: type | None = None,
        background: bool = False,
        max_pending: int = 8,
    ) -> None:
        if store is None and opener is None:
            msg = "a spooling store needs a store or a way to open one"
            raise StoreError(msg)
        self._store = store
        self._opener = opener
        self._store_type = store_type or (type(store) if store is not None else None)
        self.spool = spool
        if on_drop is not None:
            spool.on_drop = on_drop
        self.write_stations = write_stations
        self.retry_s = retry_s
        self.retry_max_s = retry_max_s
        self.drain_rows = drain_rows
        self.spooled_batches = 0
        self.drained_rows = 0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._drainer: threading.Thread | None = None
        self._direct = store is not None
        self._pending: queue.Queue[Batch | None] | None = (
            queue.Queue(max(1, max_pending)) if background else None
        )
        self._writer: threading.Thread | None = None
        if spool.path.exists():
            # Left by an earlier run whose store was away when it stopped.
            spool.open()
            if len(spool):
                log.warning(
                    "%d records from an earlier run wait in %s; writing them first",
                    spool.rows,
                    spool.path,
                )
                self._direct = False
        if not self._direct:
            self._start_drainer()

    @classmethod
    def open(
        cls, opener: Callable[[], Store], spool: Spool, **options: Any
    ) -> SpoolingStore:
        """Open the store, or start spooling if its server is unreachable now.

        Raises:
            StoreError: The store refused to open for another reason (a
                refused login, a schema from a newer version): waiting
                would not help, so the service must not start.
        """
        try:
            store: Store | None = opener()
        except StoreError as exc:
            if not is_retryable(exc):
                raise
            log.warning(
                "store unreachable at start (%s); spooling to %s", exc, spool.path
            )
            store = None
        return cls(store, spool, opener=opener, **options)

    # --- writing -----------------------------------------------------------

    @property
    def spooling(self) -> bool:
        """True while batches go to the spool rather than to the store."""
        return not self._direct

    def write(self, batch: Batch) -> None:
        """Store a batch, or spool it while the store is away.

        Raises:
            StoreError: Only when the spool itself cannot be written (its
                disk failed); the caller keeps the batch and tries again.
        """
        if not self.write_stations and batch.stations:
            batch = dataclasses.replace(batch, stations={})
        if batch.is_empty():
            return
        if self._pending is not None:
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_behind, name="store-writer", daemon=True
                )
                self._writer.start()
            self._pending.put(_snapshot(batch))
            return
        self._write_now(batch)

    def flush(self, timeout_s: float = 60.0) -> bool:
        """Wait until every batch handed to :meth:`write` is stored or spooled.

        Returns:
            True when nothing waits for the writer thread any more.
        """
        if self._pending is None:
            return True
        deadline = time.monotonic() + timeout_s
        while self._pending.unfinished_tasks and time.monotonic() < deadline:
            self._closing.wait(0.01)
        return not self._pending.unfinished_tasks

    def _write_behind(self) -> None:
        assert self._pending is not None
        while True:
            batch = self._pending.get()
            try:
                if batch is None:
                    return
                while True:
                    try:
                        self._write_now(batch)
                        break
                    except StoreError:
                        # Only the spool's own disk failing gets here; the
                        # batch is kept and tried again, never dropped.
                        log.exception("cannot store or spool a batch; retrying in 1 s")
                        time.sleep(1.0)
            finally:
                self._pending.task_done()

    def _write_now(self, batch: Batch) -> None:
        with self._lock:
            if self._direct and self._store is not None:
                try:
                    self._store.write(batch)
                    return
                except StoreError as exc:
                    if not self._outage(exc):
                        self._isolate(batch, exc)
                        return
                    log.warning(
                        "store write failed (%s); spooling to %s until it answers",
                        exc,
                        self.spool.path,
                    )
                    self._direct = False
            self.spool.append(batch_entries(batch))
            self.spooled_batches += 1
            self._start_drainer()

    def wait_drained(self, timeout_s: float) -> bool:
        """Wait until the spool is empty and writes go straight through.

        Returns:
            True when drained within the time.
        """
        self.flush(timeout_s)
        drainer = self._drainer
        if drainer is not None:
            drainer.join(timeout_s)
        return self._direct

    def stats(self) -> dict[str, Any]:
        """For the report: what waits, what was dropped, what was refused."""
        return {
            "path": str(self.spool.path),
            "spooling": self.spooling,
            "queued": self.spool.queued(),
            "dropped": dict(self.spool.dropped),
            "dropped_by_station": dict(self.spool.dropped_stations),
            "refused": self.spool.refused(),
            "spooled_batches": self.spooled_batches,
            "drained_rows": self.drained_rows,
        }

    def _start_drainer(self) -> None:
        if self._drainer is None or not self._drainer.is_alive():
            self._drainer = threading.Thread(
                target=self._drain, name="store-spool", daemon=True
            )
            self._drainer.start()

    def _outage(self, exc: StoreError) -> bool:
        """True when the store is away, False when it refused this batch."""
        if is_retryable(exc) or self._store is None:
            return True
        try:
            # A store that answers a query refused the batch for its content.
            self._store.count("stations")
        except StoreError:
            return True
        return False

    def _isolate(self, batch: Batch, error: StoreError) -> None:
        """Write what the store takes; keep each refused record in the spool."""
        assert self._store is not None
        parts = _split(batch)
        if not parts:
            for entry in batch_entries(batch):
                self.spool.refuse(entry, str(error))
            log.error(
                "the store refused a record; kept in %s (table refused): %s",
                self.spool.path,
                error,
            )
            return
        for part in parts:
            try:
                self._store.write(part)
            except StoreError as exc:
                if self._outage(exc):
                    self.spool.append(batch_entries(part))
                    self._direct = False
                    self._start_drainer()
                else:
                    self._isolate(part, exc)

    def _drain(self) -> None:
        delay_s = self.retry_s
        failures = 0
        while not self._closing.is_set():
            try:
                if self._store is None:
                    assert self._opener is not None
                    self._store = self._opener()
                if self._drain_once():
                    return
                delay_s = self.retry_s
                failures = 0
            except StoreError as exc:
                failures += 1
                level = logging.WARNING if failures == 1 else logging.DEBUG
                log.log(
                    level,
                    "store still unreachable (%s); %d records wait in %s; "
                    "retrying every %.0f s at most",
                    exc,
                    self.spool.rows,
                    self.spool.path,
                    self.retry_max_s,
                )
                self._closing.wait(delay_s)
                delay_s = min(delay_s * 2, self.retry_max_s)
            except Exception:
                # A bug here must not end draining for good.
                log.exception("draining %s failed; retrying", self.spool.path)
                self._closing.wait(delay_s)
                delay_s = min(delay_s * 2, self.retry_max_s)

    def _drain_once(self) -> bool:
        """Write the oldest entries; True when the spool is empty."""
        assert self._store is not None
        with self._lock:
            head = self.spool.head(self.drain_rows)
            if not head:
                self._direct = True
                self._drainer = None
                log.info(
                    "spool %s drained; writing to the store directly", self.spool.path
                )
                return True
        batch = batch_from_entries([e.entry for e in head])
        try:
            self._store.write(batch)
        except StoreError as exc:
            if self._outage(exc):
                raise
            with self._lock:
                self._isolate(batch, exc)
        with self._lock:
            self.spool.remove([e.seq for e in head])
        rows = sum(e.entry.rows for e in head)
        self.drained_rows += rows
        log.info(
            "wrote %d spooled records to the store; %d wait in %s",
            rows,
            self.spool.rows,
            self.spool.path,
        )
        return False

    # --- reading -----------------------------------------------------------

    def _inner(self) -> Store:
        if self._store is None:
            msg = (
                f"the store has not been reachable yet (spooling to {self.spool.path})"
            )
            raise StoreError(msg)
        return self._store

    def vessels(
        self,
        *,
        seen_since: datetime | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        limit: int | None = None,
    ) -> list[Vessel]:
        """Vessels, latest first (from the store)."""
        return self._inner().vessels(seen_since=seen_since, bbox=bbox, limit=limit)

    def vessel(self, mmsi: int) -> Vessel | None:
        """One vessel by MMSI (from the store)."""
        return self._inner().vessel(mmsi)

    def track(self, mmsi: int, start: datetime, end: datetime) -> list[PositionReport]:
        """A vessel's positions in [start, end] (from the store)."""
        return self._inner().track(mmsi, start, end)

    def messages(self, mmsi: int, limit: int = 100) -> list[StoredMessage]:
        """A vessel's latest messages (from the store)."""
        return self._inner().messages(mmsi, limit)

    def alerts(
        self, *, states: Sequence[AlertState] = (AlertState.OPEN,), limit: int = 200
    ) -> list[Alert]:
        """Alerts in the given states (from the store)."""
        return self._inner().alerts(states=states, limit=limit)

    def stations(self) -> list[StationStats]:
        """Per-station statistics (from the store)."""
        return self._inner().stations()

    def port_calls(
        self,
        start: datetime,
        end: datetime,
        *,
        mmsi: int | None = None,
        harbour_id: str | None = None,
    ) -> list[PortCall]:
        """Port calls in [start, end] (from the store; spooled ones not yet)."""
        return self._inner().port_calls(start, end, mmsi=mmsi, harbour_id=harbour_id)

    def count(self, table: str) -> int:
        """Rows in a table of the store (spooled rows not included)."""
        return self._inner().count(table)

    def __getattr__(self, name: str) -> Any:
        # Only reached for names this class lacks: the outbox and other
        # extensions of a backend are the store's own.
        if name.startswith("_"):
            raise AttributeError(name)
        if self._store is not None:
            return getattr(self._store, name)
        if self._store_type is None or not callable(
            getattr(self._store_type, name, None)
        ):
            raise AttributeError(name)

        # The store is away: its methods exist (isinstance checks against
        # protocols such as the outbox hold) but fail like a read would.
        def away(*args: Any, **kwargs: Any) -> Any:
            return getattr(self._inner(), name)(*args, **kwargs)

        return away

    def close(self, drain_wait_s: float = 10.0) -> None:
        """Give the spool a last chance to drain, then close both.

        What is still spooled stays on disk and is written by the next run.
        """
        if self._pending is not None and self._writer is not None:
            self.flush()
            self._pending.put(None)
            self._writer.join(10.0)
        drainer = self._drainer
        if drainer is not None:
            drainer.join(drain_wait_s)
        self._closing.set()
        if drainer is not None:
            drainer.join(10.0)
        if self.spool.is_open and len(self.spool):
            log.warning(
                "%s still wait in %s; they are written when the store is "
                "reachable again (at the next start)",
                ", ".join(f"{n} {kind}" for kind, n in self.spool.queued().items()),
                self.spool.path,
            )
        self.spool.close()
        if self._store is not None:
            self._store.close()
