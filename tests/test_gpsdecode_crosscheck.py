"""Cross-check the decoder against gpsd's ``gpsdecode`` on the shared corpus.

For every NMEA recording in ``../shared/corpus`` (beside the repository),
``gpsdecode -s -u -v -j`` and :class:`AisStream` decode the same file.
gpsdecode echoes each packet it reads (``-v``) before the JSON it makes of
it, so each of its messages is matched to ours by the text of its last
sentence (from ``!`` to the checksum) and by order among equal texts.
``-u`` gives the fields as transmitted (positions in 1/10000 minute, speeds
in 1/10 knot), which avoids gpsd's rounding and its sign-less rate of turn;
``-s`` reports the two parts of a type 24 separately, as we do.

For every message both decode, the fields both have must agree; and every
message gpsdecode decodes that we do not must be one we counted as rejected.
Where the two disagree by design, the comparison says so below (and
``scripts/compare-gpsdecode`` tabulates the counts per file).

Skipped when the corpus or gpsdecode is missing, except that with ``CI=true``
and the corpus present a missing gpsdecode is a failure.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pantaulaut.ingest.sources import read_file_lines
from pantaulaut.ingest.stream import AisMessage, AisStream, Rejection

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
NOT_NMEA = frozenset({".csv", ".jsonl", ".md"})
GPSDECODE_ARGS = ("-s", "-u", "-v", "-j")

# The sentence proper: from its "!" or "$" to the checksum, without tag
# blocks before or receiver fields after.
_SENTENCE = re.compile(r"[!$][^!$\\*]*\*[0-9A-Fa-f]{2}")

# Positions in 1/10000 minute, except 1/10 minute in types 17 and 27.
_POSITION_DIVISOR = {17: 600.0, 27: 600.0}
_POSITION_TYPES = frozenset({1, 2, 3, 4, 9, 11, 17, 18, 19, 21, 27})
_TENTHS_SPEED_COURSE = frozenset({1, 2, 3, 18, 19})
_INTEGER_FIELDS = (
    "repeat",
    "status",
    "heading",
    "second",
    "to_bow",
    "to_stern",
    "to_port",
    "to_starboard",
    "imo",
    "ais_version",
    "epfd",
    "aid_type",
    "dac",
    "fid",
    "alt",
    "dest_mmsi",
    "model",
    "serial",
)
_FLAGS = (
    "accuracy",
    "raim",
    "dte",
    "cs",
    "display",
    "dsc",
    "band",
    "msg22",
    "assigned",
    "off_position",
    "virtual_aid",
)


def corpus_files(root: Path = CORPUS) -> list[Path]:
    """Every NMEA recording under ``root``, sorted."""
    if not root.is_dir():
        return []
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and path.suffix.lower() not in NOT_NMEA
    )


def sentence_key(raw: str) -> str:
    """The last sentence in ``raw``, without tag blocks and trailer."""
    found = _SENTENCE.findall(raw)
    return found[-1].upper() if found else raw.strip()


@dataclass(frozen=True, slots=True)
class GpsdMessage:
    """One JSON object of gpsdecode and the packets it echoed before it."""

    fields: dict[str, Any]
    packets: tuple[str, ...]

    @property
    def key(self) -> str:
        return sentence_key(self.packets[-1]) if self.packets else ""


def run_gpsdecode(path: Path, *args: str) -> list[GpsdMessage]:
    """gpsdecode's AIS messages for a file (``GPSDECODE_ARGS`` unless given)."""
    with path.open("rb") as handle:
        done = subprocess.run(
            ["gpsdecode", *(args or GPSDECODE_ARGS)],
            stdin=handle,
            capture_output=True,
            timeout=600,
            check=False,
        )
    messages: list[GpsdMessage] = []
    packets: list[str] = []
    for line in done.stdout.decode("ascii", "replace").splitlines():
        if not line.startswith("{"):
            packets.append(line)
            continue
        record = json.loads(line)
        if record.get("class") == "AIS":
            messages.append(GpsdMessage(record, tuple(packets)))
        packets = []
    return messages


@dataclass
class OurRun:
    """What :class:`AisStream` made of a file."""

    stream: AisStream
    messages: list[AisMessage] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def run_ours(path: Path) -> OurRun:
    """Decode a file as ``pantaulaut decode FILE`` does."""
    rejections: list[Rejection] = []
    stream = AisStream(on_reject=rejections.append)
    result = OurRun(stream, rejections=rejections)
    arrival = datetime(2026, 6, 17, tzinfo=UTC)
    for line in read_file_lines(path):
        result.messages += stream.feed(line, path.name, arrival)
    stream.finish()
    return result


@dataclass
class Matched:
    """Messages paired by sentence, and those only one decoder produced."""

    pairs: list[tuple[AisMessage, GpsdMessage]] = field(default_factory=list)
    only_ours: list[AisMessage] = field(default_factory=list)
    only_gpsd: list[GpsdMessage] = field(default_factory=list)


def match(ours: list[AisMessage], theirs: list[GpsdMessage]) -> Matched:
    """Pair messages by the text of their last sentence, in order."""
    waiting: dict[str, deque[int]] = defaultdict(deque)
    for index, message in enumerate(theirs):
        waiting[message.key].append(index)
    result = Matched()
    used: set[int] = set()
    for message in ours:
        queue = waiting.get(sentence_key(message.sentences[-1].raw))
        if queue:
            index = queue.popleft()
            used.add(index)
            result.pairs.append((message, theirs[index]))
        else:
            result.only_ours.append(message)
    result.only_gpsd = [m for i, m in enumerate(theirs) if i not in used]
    return result


def _text(value: Any) -> str:
    # gpsd ends six-bit text at the first "@"; we drop only the trailing
    # "@" padding (ITU-R M.1371-5 gives "@" as padding and "not available",
    # not as an end mark), and pyais strips leading spaces, which gpsd keeps.
    return str(value or "").split("@")[0].strip()


def _numbers(text: str, *names: str) -> dict[str, int]:
    # gpsd writes the ETA as "MM-DDTHH:MMZ" and the type 4 time as
    # "YYYY-MM-DDTHH:MM:SSZ", "not available" values included (24:60).
    values = [int(n) for n in re.findall(r"\d+", text)]
    return dict(zip(names, values, strict=True))


def compare(ours: AisMessage, theirs: dict[str, Any]) -> list[str]:
    """Fields on which our decoding and gpsdecode's (unscaled) disagree."""
    fields = ours.payload.fields
    kind = ours.msg_type
    problems: list[str] = []

    def differ(name: str, mine: Any, gpsd: Any, tolerance: float = 0.0) -> None:
        if mine is None or gpsd is None:
            return
        if isinstance(mine, str) or isinstance(gpsd, str):
            same = str(mine) == str(gpsd)
        else:
            same = abs(float(mine) - float(gpsd)) <= tolerance
        if not same:
            problems.append(f"{name}: ours {mine!r}, gpsdecode {gpsd!r}")

    differ("type", kind, theirs.get("type"))
    differ("mmsi", ours.mmsi, theirs.get("mmsi"))
    if kind in _POSITION_TYPES:
        divisor = _POSITION_DIVISOR.get(kind, 600_000.0)
        for name in ("lat", "lon"):
            if name in theirs:
                # pyais rounds degrees to 6 decimals.
                differ(name, fields.get(name), theirs[name] / divisor, 1e-6)
    if (kind in _TENTHS_SPEED_COURSE or kind == 9) and "course" in theirs:
        differ("course", fields.get("course"), theirs["course"] / 10, 1e-9)
    if kind in _TENTHS_SPEED_COURSE and "speed" in theirs:
        differ("speed", fields.get("speed"), theirs["speed"] / 10, 1e-9)
    if kind in (9, 27):
        differ("speed", fields.get("speed"), theirs.get("speed"))
    if kind == 27:
        differ("course", fields.get("course"), theirs.get("course"))
    if kind in (1, 2, 3):
        differ("turn", fields.get("turn_raw"), theirs.get("turn"))
    for name in _INTEGER_FIELDS:
        if name in theirs and isinstance(theirs[name], int):
            differ(name, fields.get(name), theirs[name])
    for name in _FLAGS:
        if name in theirs and fields.get(name) is not None:
            differ(name, int(fields[name]), int(theirs[name]))
    if "shiptype" in theirs and not (kind == 24 and fields.get("partno") == 0):
        differ("ship_type", fields.get("ship_type"), theirs["shiptype"])
    for name in ("callsign", "destination"):
        if name in theirs:
            differ(name, _text(fields.get(name)), _text(theirs[name]))
    if kind in (12, 14) and "text" in theirs:
        differ("text", _text(fields.get("text")), _text(theirs["text"]))
    # In split mode gpsd repeats part A's name in part B from its cache.
    if "shipname" in theirs and not (kind == 24 and fields.get("partno") == 1):
        differ("shipname", _text(fields.get("shipname")), _text(theirs["shipname"]))
    if kind == 21 and "name" in theirs:
        mine, gpsd = _text(fields.get("full_name")), _text(theirs["name"])
        # gpsd appends the extension to a name padded with spaces; it only
        # continues a name that uses all 20 characters.
        if not (gpsd.startswith(mine) and gpsd[len(mine) : len(mine) + 1] == " "):
            differ("full_name", mine, gpsd)
    if kind == 5 and "draught" in theirs:
        differ("draught", fields.get("draught"), theirs["draught"] / 10, 1e-9)
    if kind == 5 and "eta" in theirs:
        eta = _numbers(theirs["eta"], "month", "day", "hour", "minute")
        for name, value in eta.items():
            differ(name, fields.get(name), value)
    if kind in (4, 11) and "timestamp" in theirs:
        stamp = _numbers(
            theirs["timestamp"], "year", "month", "day", "hour", "minute", "second"
        )
        for name, value in stamp.items():
            differ(name, fields.get(name), value)
    if kind == 24 and "vendorid" in theirs:
        # gpsd reads the 42-bit vendor id of M.1371-3; M.1371-5 splits it
        # into a 3-character manufacturer, model and serial number.
        differ("vendorid", _text(fields.get("vendorid")), _text(theirs["vendorid"][:3]))
    return problems


@functools.cache
def decoded_by_both(path: Path) -> tuple[OurRun, Matched]:
    """Our run of a file and its messages matched with gpsdecode's (cached)."""
    ours = run_ours(path)
    return ours, match(ours.messages, run_gpsdecode(path))


def rejected_keys(rejections: list[Rejection]) -> set[str]:
    """The sentences (as keys) of every rejection."""
    keys: set[str] = set()
    for rejection in rejections:
        for raw in rejection.raw.splitlines() or [rejection.raw]:
            keys.update(s.upper() for s in _SENTENCE.findall(raw))
    return keys


def _require_gpsdecode() -> None:
    if shutil.which("gpsdecode") is not None:
        return
    # As in conftest.py: under CI a missing tool is a failure, not a skip.
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail("CI has the corpus but no gpsdecode (Debian gpsd-clients)")
    pytest.skip("gpsdecode is not installed")


def _params() -> Iterator[Any]:
    files = corpus_files(CORPUS)
    if not files:
        yield pytest.param(
            None, marks=pytest.mark.skip(reason=f"no corpus at {CORPUS}")
        )
        return
    for path in files:
        yield pytest.param(path, id=str(path.relative_to(CORPUS)))


@pytest.mark.slow
@pytest.mark.parametrize("path", list(_params()))
def test_fields_agree_with_gpsdecode(path: Path) -> None:
    _require_gpsdecode()
    _, matched = decoded_by_both(path)
    mismatches = [
        f"{message.raw!r}: {problem}"
        for message, theirs in matched.pairs
        for problem in compare(message, theirs.fields)
    ]
    assert not mismatches, f"{len(mismatches)} mismatches:\n" + "\n".join(
        mismatches[:50]
    )


@pytest.mark.slow
@pytest.mark.parametrize("path", list(_params()))
def test_what_gpsdecode_decodes_and_we_do_not_is_counted_as_rejected(
    path: Path,
) -> None:
    _require_gpsdecode()
    ours, matched = decoded_by_both(path)
    rejected = rejected_keys(ours.rejections)
    lost = [m.packets[-1] for m in matched.only_gpsd if m.key not in rejected]
    assert not lost, f"{len(lost)} messages neither decoded nor rejected:\n" + (
        "\n".join(lost[:20])
    )
