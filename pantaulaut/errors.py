"""The one exception tree of pantaulaut.

Every error the package raises derives from :class:`PantaulautError`.
Errors of the libraries underneath (pyais, sqlite3, sockets) are translated
where they enter the code and keep their context as attributes::

    PantaulautError
    ├── ConfigError          a key of the configuration is wrong; names the fix
    ├── AccessDenied         no valid desk session, or a role too low for the act
    ├── AccountError         a desk account cannot be made or changed as asked
    ├── DeskActionError      an operator's act on an alert cannot be carried out
    ├── CatalogueError       a text of the desk is missing from a language catalogue
    ├── IngestError          a line, sentence or message could not be used
    │   ├── FramingError     NMEA 0183 / 4.10 sentence layer (checksum, fields)
    │   ├── AssemblyError    multi-sentence messages (fragments, sequence ids)
    │   └── DecodeError      the AIS payload (length, type, bit fields)
    ├── SourceError          a receiver, file or listener could not be used
    ├── ZoneError            a zone file is invalid; names the file and feature
    │   └── RuleError        a zone rule file is invalid; names the rule
    ├── GeodataError         regional geodata cannot be built or read
    ├── StoreError           the store refused or lost a write or a query
    ├── DeliveryError        a destination (webhook, broker) did not take a message
    ├── ExportError          an export was asked for in a way that cannot be written
    └── IncidentError        an incident from a caller cannot be placed (position)

Ingest errors carry a stable ``reason`` (the key under which a rejected line
is counted) and the raw text that caused them.
"""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "AccountError",
    "AssemblyError",
    "CatalogueError",
    "ConfigError",
    "DecodeError",
    "DeliveryError",
    "DeskActionError",
    "ExportError",
    "FramingError",
    "GeodataError",
    "IncidentError",
    "IngestError",
    "PantaulautError",
    "RuleError",
    "SourceError",
    "StoreError",
    "ZoneError",
]


class PantaulautError(Exception):
    """Root of every error raised by pantaulaut."""


class ConfigError(PantaulautError):
    """A configuration key holds a value that cannot be used.

    Attributes:
        key: Dotted name of the key, such as ``store.url``.
        value: The value found.
        expected: What would have been accepted.
    """

    def __init__(self, key: str, value: object, expected: str) -> None:
        self.key = key
        self.value = value
        self.expected = expected
        super().__init__(
            f"configuration key {key!r} has value {value!r}: expected {expected}"
        )


class AccessDenied(PantaulautError):  # noqa: N818 (the name the desk uses)
    """The desk refuses a request: nobody is logged in, or the role is too low.

    Attributes:
        needed: The role the act needs (``viewer``, ``operator``, ``admin``).
        user: The logged-in user's name, or None when nobody is.
    """

    def __init__(self, needed: str, user: str | None = None) -> None:
        self.needed = needed
        self.user = user
        if user is None:
            super().__init__(f"log-in needed (role {needed} or above)")
        else:
            super().__init__(f"user {user!r} lacks the role {needed}")


class DeskActionError(PantaulautError):
    """An operator's act on an alert (acknowledge, assign, ...) was not done.

    Attributes:
        alert_id: The alert acted on.
        reason: ``unknown_alert`` (not open, or never existed),
            ``not_allowed`` (such as acknowledging twice), ``empty_actor``,
            ``empty_assignee`` or ``empty_comment`` (a name or text left
            empty), ``unknown_user`` (an assignee with no desk account),
            ``unavailable`` (no pipeline runs in this process) or
            ``timeout`` (the pipeline did not answer in time).
    """

    def __init__(self, alert_id: str, reason: str, message: str) -> None:
        self.alert_id = alert_id
        self.reason = reason
        super().__init__(message)


class AccountError(PantaulautError):
    """A desk account cannot be made or changed as asked.

    The message names the problem (a user name with odd characters, a short
    password, an unknown role or user) and what would be accepted.
    """


class CatalogueError(PantaulautError):
    """A desk text key is missing from a language catalogue, or a catalogue is bad.

    Attributes:
        key: The missing key, or the catalogue file.
        language: The language code, such as ``id``.
    """

    def __init__(self, key: str, language: str, problem: str) -> None:
        self.key = key
        self.language = language
        super().__init__(f"catalogue {language!r}: {key!r} {problem}")


class IngestError(PantaulautError):
    """A received line could not become an AIS message.

    Attributes:
        reason: Stable counter key, such as ``checksum_mismatch``.
        raw: The raw text concerned, for the operator and the logs.
    """

    reason: str = "ingest_error"

    def __init__(self, reason: str, detail: str, raw: str = "") -> None:
        self.reason = reason
        self.detail = detail
        self.raw = raw
        super().__init__(f"{reason}: {detail}")


class FramingError(IngestError):
    """The NMEA sentence or its tag block is malformed."""


class AssemblyError(IngestError):
    """Fragments of a multi-sentence message do not make one message."""


class DecodeError(IngestError):
    """The AIS payload does not decode to a valid message."""


class SourceError(PantaulautError):
    """A source (file, receiver, listener) cannot be opened or read."""


class ZoneError(PantaulautError):
    """A zone file is invalid.

    Attributes:
        feature: Which feature: its index, id and name as far as known.
        path: The file, if known.
        problem: The fault alone, without file and feature.
    """

    def __init__(
        self, message: str, feature: str | None = None, path: str | None = None
    ) -> None:
        self.feature = feature
        self.path = path
        self.problem = message
        where = [part for part in (path, feature) if part]
        super().__init__(": ".join([*where, message]))


class RuleError(ZoneError):
    """A zone rule file is invalid; ``feature`` names the rule."""


class GeodataError(PantaulautError):
    """Regional geodata (coastline, bands, harbours, lanes) cannot be built or read.

    The message says what is missing or wrong and, where a package is
    missing, the ``pip install`` that provides it.
    """


class StoreError(PantaulautError):
    """The store failed to write or to answer a query."""


class DeliveryError(PantaulautError):
    """A destination did not take a message; it will be tried again.

    Attributes:
        destination: ``webhook``, ``mqtt``, ...
        retry_after_s: How long the destination asked us to wait
            (``Retry-After``), if it did.
    """

    def __init__(
        self, destination: str, message: str, retry_after_s: float | None = None
    ) -> None:
        self.destination = destination
        self.retry_after_s = retry_after_s
        super().__init__(f"{destination}: {message}")


class ExportError(PantaulautError):
    """An export cannot be written as asked.

    The message names what was wrong (an unknown export or format, a period
    that ends before it starts, a file that cannot be written) and what
    would be accepted.
    """


class IncidentError(PantaulautError):
    """An incident reported by a caller cannot be placed as given.

    Attributes:
        field: What is wrong, such as ``position``.
        value: The text given.
    """

    def __init__(self, field: str, value: object, problem: str) -> None:
        self.field = field
        self.value = value
        super().__init__(f"{field} {value!r}: {problem}")
