"""The one exception tree of pantaulaut.

Every error the package raises derives from :class:`PantaulautError`.
Errors of the libraries underneath (pyais, sqlite3, sockets) are translated
where they enter the code and keep their context as attributes::

    PantaulautError
    ├── ConfigError          a key of the configuration is wrong; names the fix
    ├── IngestError          a line, sentence or message could not be used
    │   ├── FramingError     NMEA 0183 / 4.10 sentence layer (checksum, fields)
    │   ├── AssemblyError    multi-sentence messages (fragments, sequence ids)
    │   └── DecodeError      the AIS payload (length, type, bit fields)
    ├── SourceError          a receiver, file or listener could not be used
    ├── ZoneError            a zone file is invalid; names the feature
    ├── GeodataError         regional geodata cannot be built or read
    ├── StoreError           the store refused or lost a write or a query
    ├── DeliveryError        a destination (webhook, broker) did not take a message
    └── IncidentError        an incident from a caller cannot be placed (position)

Ingest errors carry a stable ``reason`` (the key under which a rejected line
is counted) and the raw text that caused them.
"""

from __future__ import annotations

__all__ = [
    "AssemblyError",
    "ConfigError",
    "DecodeError",
    "DeliveryError",
    "FramingError",
    "GeodataError",
    "IncidentError",
    "IngestError",
    "PantaulautError",
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
        feature: Name or index of the offending feature, if known.
    """

    def __init__(self, message: str, feature: str | None = None) -> None:
        self.feature = feature
        prefix = f"zone {feature!r}: " if feature is not None else ""
        super().__init__(prefix + message)


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
