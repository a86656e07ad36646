"""Where lines come from: files, TCP (client and server) and UDP.

Every source turns bytes into lines with :class:`LineSplitter` (CR, LF or
CRLF; lines longer than the bound are cut off and reported, never buffered
without limit) and hands each line with its source name and arrival time to
a sink. Listeners accept only the configured station addresses, hold a
bounded number of connections and close a connection that stays silent.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import ipaddress
import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from pantaulaut.errors import SourceError

__all__ = [
    "AddressFilter",
    "LineSink",
    "LineSplitter",
    "read_file_lines",
    "run_tcp_client",
    "run_tcp_server",
    "run_udp_listener",
]

log = logging.getLogger(__name__)

# A line as handed on: (text, source name, arrival time). An over-long line
# is handed on cut to its first ``max_chars`` characters plus one more, so
# that the stream counts it as too long.
LineSink = Callable[[str, str, datetime], None]
# (source name, peer address, reason): "sender_not_allowed" or
# "connection_limit".
RefusedSink = Callable[[str, str, str], None]

_READ_CHUNK = 65536
_TERMINATOR = re.compile(rb"\r\n|\r|\n")


def _now() -> datetime:
    return datetime.now(UTC)


class LineSplitter:
    """Splits a byte stream into text lines, bounded in memory.

    CR, LF and CRLF all end a line, wherever the chunks of the stream happen
    to be cut. A line longer than ``max_chars`` is handed on cut to
    ``max_chars + 1`` characters (so that the stream counts it as too long)
    and the rest of it, up to its terminator, is skipped unbuffered.

    Args:
        max_chars: Longest line kept whole.
    """

    def __init__(self, max_chars: int = 4096) -> None:
        self.max_chars = max_chars
        self._buffer = bytearray()
        self._skipping = False
        self._after_cr = False

    def feed(self, data: bytes) -> list[str]:
        """Add received bytes; return the lines they complete."""
        if self._after_cr and data[:1] == b"\n":
            data = data[1:]  # the LF of a CRLF split across two chunks
        self._after_cr = False
        lines: list[str] = []
        start = 0
        for match in _TERMINATOR.finditer(data):
            self._end_line(data[start : match.start()], lines)
            start = match.end()
            self._after_cr = match.group() == b"\r" and start == len(data)
        self._keep(data[start:], lines)
        return lines

    def _end_line(self, tail: bytes, lines: list[str]) -> None:
        if not self._skipping:
            line = bytes(self._buffer) + tail
            lines.append(_text(line[: self.max_chars + 1]))
        self._buffer.clear()
        self._skipping = False

    def _keep(self, rest: bytes, lines: list[str]) -> None:
        if self._skipping:
            return
        self._buffer += rest
        if len(self._buffer) > self.max_chars:
            lines.append(_text(bytes(self._buffer[: self.max_chars + 1])))
            self._buffer.clear()
            self._skipping = True

    def close(self) -> list[str]:
        """End of stream: the last line if it had no terminator."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        if self._skipping or not rest:
            return []
        return [_text(rest)]


def _text(line: bytes) -> str:
    # NMEA 0183 is 7-bit ASCII; anything else is damage and must not stop
    # the stream, so it becomes U+FFFD and fails the checksum.
    return line.decode("ascii", errors="replace")


def read_file_lines(path: Path, max_chars: int = 4096) -> Iterator[str]:
    """Lines of a plain or gzip-compressed NMEA file.

    Every line read before a fault is yielded before the error is raised:
    a truncated or damaged gzip file gives the lines it still holds, the
    last of them as far as it goes.

    Raises:
        SourceError: The file cannot be opened, or it is damaged (a gzip
            stream cut short or corrupt); the message names the file and
            how many lines came before the damage.
    """
    splitter = LineSplitter(max_chars)
    count = 0
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            # read1 hands on what one read of the file decompressed, so the
            # data before the damage of a cut gzip stream is not lost with
            # the read that meets it.
            while chunk := handle.read1(_READ_CHUNK):
                for line in splitter.feed(chunk):
                    count += 1
                    yield line
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        yield from splitter.close()
        where = f" past line {count}" if count else ""
        msg = f"cannot read {str(path)!r}{where}: {exc}"
        raise SourceError(msg) from exc
    yield from splitter.close()


class AddressFilter:
    """The allow-list of a listener: addresses and networks.

    >>> AddressFilter(["127.0.0.1", "10.0.0.0/8"]).allows("10.2.3.4")
    True
    """

    def __init__(self, allow: tuple[str, ...] | list[str]) -> None:
        self.networks = [ipaddress.ip_network(a, strict=False) for a in allow]

    def allows(self, address: str) -> bool:
        """True when the address is in one of the allowed networks."""
        try:
            ip = ipaddress.ip_address(address.split("%")[0])
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.networks)


async def run_tcp_client(
    name: str,
    host: str,
    port: int,
    sink: LineSink,
    *,
    max_chars: int = 4096,
    reconnect_max_s: float = 60.0,
    connect_timeout_s: float = 10.0,
    idle_timeout_s: float | None = None,
) -> None:
    """Connect to a station's TCP feed and keep reconnecting, with backoff.

    A station that stays silent for ``idle_timeout_s`` is taken for a
    half-open connection: it is closed and connected again.

    Runs until cancelled. A station that is down is waited out: the delay
    doubles from 1 s up to ``reconnect_max_s``.
    """
    delay_s = 1.0
    while True:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port), connect_timeout_s
            )
        except (OSError, TimeoutError) as exc:
            log.warning(
                "source %s: cannot connect to %s:%d (%s); retry in %.0f s",
                name,
                host,
                port,
                exc,
                delay_s,
            )
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, reconnect_max_s)
            continue
        log.info("source %s: connected to %s:%d", name, host, port)
        delay_s = 1.0
        try:
            await _pump(reader, name, sink, max_chars, idle_timeout_s)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        log.warning(
            "source %s: %s:%d closed the connection; reconnecting", name, host, port
        )
        await asyncio.sleep(delay_s)


async def _pump(
    reader: asyncio.StreamReader,
    name: str,
    sink: LineSink,
    max_chars: int,
    idle_timeout_s: float | None = None,
) -> None:
    splitter = LineSplitter(max_chars)
    while True:
        try:
            chunk = await asyncio.wait_for(reader.read(_READ_CHUNK), idle_timeout_s)
        except TimeoutError:
            log.warning(
                "source %s: silent for %.0f s; closing", name, idle_timeout_s or 0
            )
            break
        except OSError as exc:
            log.warning("source %s: read failed: %s", name, exc)
            break
        if not chunk:
            break
        arrival = _now()
        for line in splitter.feed(chunk):
            sink(line, name, arrival)
    for line in splitter.close():
        sink(line, name, _now())


async def run_tcp_server(
    name: str,
    host: str,
    port: int,
    allow: AddressFilter,
    sink: LineSink,
    *,
    refused: RefusedSink | None = None,
    max_connections: int = 16,
    idle_timeout_s: float = 300.0,
    max_chars: int = 4096,
    started: asyncio.Event | None = None,
) -> None:
    """Listen for stations that connect and send NMEA; runs until cancelled."""
    active: set[asyncio.Task[None]] = set()

    async def handle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peer = writer.get_extra_info("peername") or ("?", 0)
        address = str(peer[0])
        if not allow.allows(address):
            log.warning("source %s: refused %s (not on the allow-list)", name, address)
            if refused is not None:
                refused(name, address, "sender_not_allowed")
            writer.close()
            return
        if len(active) >= max_connections:
            log.warning(
                "source %s: refused %s (%d connections open)",
                name,
                address,
                len(active),
            )
            if refused is not None:
                refused(name, address, "connection_limit")
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None, "a connection handler always runs in a task"
        active.add(task)
        log.info("source %s: station %s connected", name, address)
        try:
            # One source per connection, so that two connections from one
            # address never join each other's fragments.
            source = f"{name}:{address}:{peer[1]}"
            await _pump(reader, source, sink, max_chars, idle_timeout_s)
        finally:
            active.discard(task)
            writer.close()
            log.info("source %s: station %s disconnected", name, address)

    try:
        server = await asyncio.start_server(handle, host, port, limit=max_chars)
    except OSError as exc:
        msg = f"source {name}: cannot listen on {host}:{port}: {exc}"
        raise SourceError(msg) from exc
    log.info("source %s: listening on TCP %s:%d", name, host, port)
    if started is not None:
        started.set()
    async with server:
        await server.serve_forever()


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(
        self,
        name: str,
        allow: AddressFilter,
        sink: LineSink,
        refused: RefusedSink | None,
        max_chars: int,
    ) -> None:
        self.name = name
        self.allow = allow
        self.sink = sink
        self.refused = refused
        self.max_chars = max_chars

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        address = str(addr[0])
        if not self.allow.allows(address):
            log.warning(
                "source %s: dropped a datagram from %s (not allowed)",
                self.name,
                address,
            )
            if self.refused is not None:
                self.refused(self.name, address, "sender_not_allowed")
            return
        # One datagram may hold several sentences, one per line or run
        # together; both are split here and by the framing.
        splitter = LineSplitter(self.max_chars)
        arrival = _now()
        source = f"{self.name}:{address}"
        for line in [*splitter.feed(data), *splitter.close()]:
            self.sink(line, source, arrival)


async def run_udp_listener(
    name: str,
    host: str,
    port: int,
    allow: AddressFilter,
    sink: LineSink,
    *,
    refused: RefusedSink | None = None,
    max_chars: int = 4096,
    started: asyncio.Event | None = None,
) -> None:
    """Receive NMEA datagrams from allowed stations; runs until cancelled."""
    loop = asyncio.get_running_loop()
    try:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(name, allow, sink, refused, max_chars),
            local_addr=(host, port),
        )
    except OSError as exc:
        msg = f"source {name}: cannot listen on UDP {host}:{port}: {exc}"
        raise SourceError(msg) from exc
    log.info("source %s: listening on UDP %s:%d", name, host, port)
    if started is not None:
        started.set()
    try:
        await asyncio.Future()
    finally:
        transport.close()
