"""Properties of framing, assembly and line splitting under hostile input.

Whatever arrives, :class:`AisStream` must not raise, and its books must
balance exactly:

- every line fed is counted in ``lines``; a line that holds no sentence is
  counted once under a reason (``blank_line``, ``comment``, ``no_sentence``,
  ``tag_block_without_sentence``, ``line_too_long``); each sentence-like
  segment of a line is either a framed sentence or counted under a framing
  reason;
- every framed sentence (``sentences``) ends up in exactly one decoded
  message or counted under an assembly or decoding reason, once ``finish()``
  has let go of what was pending:

      sentences == sum(len(m.sentences) for m in messages)
                   + (sum(rejected.values()) - framing rejections)
                   + pending

- per-station statistics add up to the same totals.

The framing rejections are recomputed with :func:`frame_line`, the public
function the stream frames with, so the test does not depend on a list of
reason names.
"""

from __future__ import annotations

import tracemalloc
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import messages as m
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pantaulaut.ingest import assembly
from pantaulaut.ingest.assembly import Assembler
from pantaulaut.ingest.framing import Sentence, TagBlock, frame_line
from pantaulaut.ingest.sources import LineSplitter
from pantaulaut.ingest.stream import AisMessage, AisStream, Rejection

NOW = datetime(2026, 6, 17, tzinfo=UTC)
PROPERTY = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Valid traffic to mutate: single sentences, multi-sentence messages and
# tag-blocked sentences, as received one per line.
VALID_LINES: list[str] = [
    *m.CLASS_A_POSITION,
    *m.CLASS_A_NOT_AVAILABLE,
    *m.CLASS_B_POSITION,
    *m.CLASS_B_EXTENDED,
    *m.STATIC_VOYAGE,
    *m.static_voyage(70, 1, seq_id=8),
    *m.STATIC_PART_A,
    *m.STATIC_PART_B,
    *m.SART_ACTIVE,
    *m.SART_POSITION,
    *m.LONG_RANGE,
    *m.SAR_AIRCRAFT,
    *m.aid_to_navigation("KALIANGET HARBOUR EN", "TRANCE LIGHT"),
    *m.persons_on_board(27),
    *m.aton_monitoring(),
    *m.UNKNOWN_TYPE,
    m.tag_block(g="1-2-77", s="rSUMENEP", c=1781654400) + m.STATIC_VOYAGE[0],
    m.tag_block(g="2-2-77") + m.STATIC_VOYAGE[1],
    m.tag_block(s="rKANGEAN", c=1781654400250, n=12) + m.CLASS_A_POSITION[0],
    m.CLASS_A_POSITION[0] + ",1781654400,1781654401",
    "$PGHP,1,2026,6,17,0,0,0,0,525,,5250001,1,2E*00",
    m.with_checksum("$GPRMC,000000.00,A,0702.5,S,11354.0,E,0.0,0.0,170626,,,A"),
    "# a comment",
    "",
]


@dataclass
class Books:
    """A stream's counters next to what framing says they must hold."""

    stream: AisStream
    messages: list[AisMessage] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    lines: int = 0
    framed_sentences: int = 0
    framing_rejected: Counter[str] = field(default_factory=Counter)

    def feed(self, line: str, source: str = "prop", arrival: datetime = NOW) -> None:
        before = (self.stream.sentences, len(self.rejections))
        self.messages += self.stream.feed(line, source, arrival)
        self.lines += 1
        if len(line) > self.stream.max_line_chars:
            self.framing_rejected["line_too_long"] += 1
            framed_sentences, framing_errors = 0, 1
        else:
            framed = frame_line(line)
            framed_sentences, framing_errors = (
                len(framed.sentences),
                len(framed.rejected),
            )
            self.framing_rejected.update(e.reason for e in framed.rejected)
            # A line is accounted for: it holds sentences, or is rejected.
            assert framed_sentences + framing_errors >= 1, line
        self.framed_sentences += framed_sentences
        assert self.stream.sentences - before[0] == framed_sentences
        assert len(self.rejections) - before[1] >= framing_errors

    def feed_all(self, lines: Iterable[str], source: str = "prop") -> None:
        for line in lines:
            self.feed(line, source)

    def check(self) -> None:
        stream = self.stream
        rejected = stream.rejected
        assert stream.lines == self.lines
        assert stream.sentences == self.framed_sentences
        assert not self.framing_rejected - rejected, "a framing fault went uncounted"
        in_messages = sum(len(message.sentences) for message in self.messages)
        later = sum(rejected.values()) - sum(self.framing_rejected.values())
        assert stream.sentences == in_messages + later + stream.pending
        assert stream.messages == len(self.messages)
        assert sum(r.sentences for r in self.rejections) == sum(rejected.values())
        stations = stream.stations.values()
        assert sum(s.messages for s in stations) == stream.messages
        assert sum(s.rejected_total for s in stations) == sum(rejected.values())

    def finish(self) -> None:
        self.stream.finish()
        assert self.stream.pending == 0
        assert self.stream.assembler.pending == 0
        self.check()


def books(max_line_chars: int = 4096) -> Books:
    rejections: list[Rejection] = []
    stream = AisStream(on_reject=rejections.append, max_line_chars=max_line_chars)
    return Books(stream, rejections=rejections)


# --- strategies ---------------------------------------------------------------

# Characters that matter to framing, and the rest of printable ASCII.
FRAMING_CHARS = "!$\\*,#@0123456789ABCDEFVDMOaefw`:;<>?\r\n \t"
nmea_text = st.text(
    alphabet=st.sampled_from(FRAMING_CHARS) | st.characters(codec="ascii"),
    max_size=200,
)


@st.composite
def mutated_line(draw: st.DrawFn) -> str:
    """A valid line with a few flips, cuts, repeats and inserted delimiters."""
    line = draw(st.sampled_from(VALID_LINES))
    for _ in range(draw(st.integers(0, 4))):
        position = draw(st.integers(0, len(line)))
        kind = draw(st.sampled_from(["flip", "cut", "repeat", "insert", "join"]))
        if kind == "flip" and position < len(line):
            char = draw(st.characters(codec="ascii"))
            line = line[:position] + char + line[position + 1 :]
        elif kind == "cut":
            line = line[:position]
        elif kind == "repeat":
            line = line[:position] + line[position:] + line[position:]
        elif kind == "insert":
            char = draw(st.sampled_from(["!", "\\", "*", "$", ",", "\r", "\n", "\x00"]))
            line = line[:position] + char + line[position:]
        else:
            line = line[:position] + draw(st.sampled_from(VALID_LINES))
    return line


def terminate(lines: list[str], terminators: list[str]) -> bytes:
    return "".join(
        line + terminators[i % len(terminators)] for i, line in enumerate(lines)
    ).encode("ascii", "replace")


def split_lines(data: bytes, cuts: list[int], max_chars: int = 4096) -> list[str]:
    """Lines of ``data`` fed to a :class:`LineSplitter` in pieces cut at ``cuts``."""
    splitter = LineSplitter(max_chars)
    out: list[str] = []
    start = 0
    for cut in sorted({c % (len(data) + 1) for c in cuts}):
        out += splitter.feed(data[start:cut])
        start = cut
    out += splitter.feed(data[start:])
    return out + splitter.close()


# --- no exception escapes, the books balance ------------------------------------


@PROPERTY
@given(st.lists(nmea_text, max_size=20))
def test_random_text_never_raises_and_every_line_is_counted(lines: list[str]) -> None:
    ledger = books()
    ledger.feed_all(lines)
    ledger.check()
    ledger.finish()


@PROPERTY
@given(st.binary(max_size=2000), st.lists(st.integers(0, 2000), max_size=8))
def test_random_bytes_through_the_line_splitter_never_raise(
    data: bytes, cuts: list[int]
) -> None:
    ledger = books()
    ledger.feed_all(split_lines(data, cuts, max_chars=300))
    ledger.finish()


@PROPERTY
@given(
    st.lists(mutated_line(), min_size=1, max_size=30),
    st.lists(st.sampled_from(["\n", "\r\n", "\r", ""]), min_size=1, max_size=4),
    st.lists(st.integers(0, 4000), max_size=6),
)
def test_mutated_traffic_keeps_the_books_balanced(
    lines: list[str], terminators: list[str], cuts: list[int]
) -> None:
    ledger = books()
    ledger.feed_all(split_lines(terminate(lines, terminators), cuts))
    ledger.check()
    ledger.finish()


@PROPERTY
@given(st.permutations(VALID_LINES))
def test_reordered_fragments_keep_the_books_balanced(lines: list[str]) -> None:
    ledger = books()
    # Two sources, so that per-source assembly is exercised too.
    for i, line in enumerate(lines):
        ledger.feed(line, source="udp:a" if i % 3 else "tcp:b")
    ledger.finish()


@PROPERTY
@given(st.lists(mutated_line(), max_size=15), st.integers(1, 4))
def test_small_assembler_bounds_keep_the_books_balanced(
    lines: list[str], bound: int
) -> None:
    rejections: list[Rejection] = []
    stream = AisStream(
        Assembler(timeout_s=5.0, max_pending=bound, max_gap=3),
        on_reject=rejections.append,
    )
    ledger = Books(stream, rejections=rejections)
    for i, line in enumerate(lines):
        ledger.feed(line, arrival=NOW + timedelta(seconds=4 * i))
        assert stream.assembler.pending <= bound
    ledger.finish()


@PROPERTY
@given(
    st.lists(
        st.text(alphabet=st.characters(codec="ascii", exclude_characters="!$\\#")).map(
            lambda s: s.replace("\r", "").replace("\n", "")
        ),
        max_size=5,
    ),
    st.integers(0, 5),
)
def test_garbage_lines_between_fragments_cost_no_message(
    garbage: list[str], where: int
) -> None:
    valid = [*m.STATIC_VOYAGE, *m.CLASS_A_POSITION, *m.STATIC_PART_A]
    lines = valid[:where] + garbage + valid[where:]
    ledger = books()
    ledger.feed_all(lines)
    ledger.finish()
    assert [x.msg_type for x in ledger.messages] == [5, 1, 24]


def test_the_catalogue_decodes_with_nothing_rejected_but_what_must_be() -> None:
    ledger = books()
    ledger.feed_all(VALID_LINES)
    ledger.finish()
    assert ledger.stream.rejected == Counter(
        {
            "unknown_message_type": 1,
            "non_ais_sentence": 2,
            "comment": 1,
            "blank_line": 1,
        }
    )


# --- the line splitter -------------------------------------------------------------

# Shorter than the bound of 41 used below, with room for a 4-character tail.
short_line = st.text(
    alphabet=st.characters(codec="ascii", exclude_characters="\r\n"), max_size=36
)


@PROPERTY
@given(
    st.lists(short_line, max_size=20),
    st.lists(st.sampled_from(["\n", "\r", "\r\n"]), min_size=1, max_size=3),
    st.lists(st.integers(0, 1000), max_size=10),
    st.booleans(),
)
def test_line_splitter_gives_the_same_lines_whatever_the_chunks(
    lines: list[str], terminators: list[str], cuts: list[int], last_open: bool
) -> None:
    data = terminate(lines, terminators)
    if last_open and data:
        data = data.rstrip(b"\r\n") + b"tail"
    whole = split_lines(data, [], max_chars=41)
    assert split_lines(data, cuts, max_chars=41) == whole
    one_byte_at_a_time = split_lines(data, list(range(len(data))), max_chars=41)
    assert one_byte_at_a_time == whole


@PROPERTY
@given(
    st.lists(short_line, max_size=20),
    st.sampled_from(["\n", "\r\n"]),
    st.lists(st.integers(0, 1000), max_size=10),
)
def test_line_splitter_returns_each_line_as_sent(
    lines: list[str], terminator: str, cuts: list[int]
) -> None:
    data = terminate(lines, [terminator])
    assert split_lines(data, cuts, max_chars=41) == lines


@PROPERTY
@given(
    st.lists(st.one_of(short_line, st.text(alphabet="X", min_size=50, max_size=300))),
    st.sampled_from(["\n", "\r\n"]),
    st.lists(st.integers(0, 3000), max_size=10),
)
def test_line_longer_than_the_bound_comes_out_too_long_others_intact(
    lines: list[str], terminator: str, cuts: list[int]
) -> None:
    max_chars = 41
    out = split_lines(terminate(lines, [terminator]), cuts, max_chars)
    assert len(out) == len(lines)
    for sent, received in zip(lines, out, strict=True):
        if len(sent) > max_chars:
            # Cut (when it spanned chunks) but still over the bound, so
            # that the stream counts it as line_too_long.
            assert len(received) > max_chars
            assert sent.startswith(received)
        else:
            assert received == sent


def test_line_too_long_is_counted_by_the_stream() -> None:
    splitter = LineSplitter(100)
    data = b"!" + b"A" * 500 + b"\n" + m.CLASS_A_POSITION[0].encode() + b"\n"
    lines = splitter.feed(data[:200]) + splitter.feed(data[200:]) + splitter.close()
    ledger = books(max_line_chars=100)
    ledger.feed_all(lines)
    ledger.finish()
    assert ledger.stream.rejected == Counter({"line_too_long": 1})
    assert [x.msg_type for x in ledger.messages] == [1]


def test_line_of_exactly_the_bound_split_inside_crlf_is_kept() -> None:
    data = b"A" * 10 + b"\r\nnext\n"
    assert split_lines(data, [11], max_chars=10) == ["A" * 10, "next"]


def test_line_after_an_overlong_line_ending_in_a_lone_cr_is_kept() -> None:
    data = b"A" * 20 + b"\rnext\rlast\r"
    assert split_lines(data, [21], max_chars=10)[1:] == ["next", "last"]


def test_overlong_line_is_cut_even_when_it_arrives_in_one_chunk() -> None:
    assert len(split_lines(b"A" * 500 + b"\n", [], max_chars=100)[0]) == 101


# --- memory stays bounded ------------------------------------------------------------


def test_a_flood_of_orphan_group_fragments_keeps_pending_bounded() -> None:
    stream = AisStream()
    bound = stream.assembler.max_pending
    first = m.STATIC_VOYAGE[0]
    for n in range(100_000):
        # Part 1 of a 3-part group, every one with another group id.
        stream.feed(m.tag_block(g=f"1-3-{n}") + first, "udp:flood", NOW)
        assert stream.assembler.pending <= bound
    stream.finish()
    assert stream.pending == 0
    lost = stream.rejected["fragment_overflow"] + stream.rejected["incomplete_message"]
    assert lost == 100_000


def _fragment(station: str) -> Sentence:
    return Sentence(
        raw="",
        talker="AI",
        own_ship=False,
        fragment_count=2,
        fragment_number=1,
        sequence_id=1,
        channel="A",
        payload="5",
        fill_bits=0,
        tags=TagBlock(fields={"s": station}, station=station),
    )


def test_assembler_memory_stays_bounded_when_each_fragment_names_a_new_station() -> (
    None
):
    assembler = Assembler(max_pending=64)
    fragments = [_fragment(f"r{n}") for n in range(20_000)]
    tracemalloc.start()
    try:
        for n, fragment in enumerate(fragments):
            assembler.push(fragment, "udp:flood", float(n) / 1000)
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    held = snapshot.filter_traces(
        [tracemalloc.Filter(True, str(Path(assembly.__file__).resolve()))]
    )
    held_bytes = sum(stat.size for stat in held.statistics("filename"))
    assert assembler.pending <= 64
    assert held_bytes < 200_000, f"{held_bytes} bytes held by the assembler"
