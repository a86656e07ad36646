"""Multi-sentence assembly of AIS messages.

A message longer than one sentence arrives as fragments that share a
sequential message id and a channel (IEC 61162-1, VDM field 3), or, through
NMEA 4.10 tag blocks, a group id (``g:1-2-4372``). Fragments of different
messages interleave, may arrive out of order, and may never complete. The
:class:`Assembler` keys fragments by source, station, channel, sequence id
and fragment count, so that two stations or two channels never mix, and it
lets go of what cannot complete:

- a group older than ``timeout_s`` on the data's own clock;
- a group that has seen ``max_gap`` later sentences from its source without
  completing (fragments of one message are sent in consecutive slots, so a
  long gap means a part was lost and the id is about to be reused);
- the oldest group when ``max_pending`` groups are held (memory stays
  bounded whatever a sender does).

Every fragment let go is returned to the caller as an :class:`AssemblyError`
so that it is counted, never dropped silently.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field

from pantaulaut.errors import AssemblyError
from pantaulaut.ingest.framing import Sentence

__all__ = ["AssembledParts", "Assembler"]


@dataclass(slots=True)
class _Group:
    source: str
    clock: tuple[str, str | None]
    count: int
    parts: dict[int, Sentence]
    started_s: float
    started_index: int


@dataclass(slots=True)
class AssembledParts:
    """Outcome of pushing one sentence.

    Attributes:
        complete: The fragments of a finished message in order, or None.
        errors: Fragments let go: the error, the sentences it covers and the
            source they came from.
    """

    complete: list[Sentence] | None = None
    errors: list[tuple[AssemblyError, list[Sentence], str]] = field(
        default_factory=list
    )


class Assembler:
    """Joins fragments of multi-sentence messages, bounded in memory.

    Args:
        timeout_s: Seconds (on the data clock) a group may stay incomplete.
        max_pending: Most incomplete groups held at once, over all sources.
        max_gap: Most later sentences from one source before a group expires.
    """

    def __init__(
        self, timeout_s: float = 30.0, max_pending: int = 2048, max_gap: int = 200
    ) -> None:
        self.timeout_s = timeout_s
        self.max_pending = max_pending
        self.max_gap = max_gap
        self._groups: OrderedDict[Hashable, _Group] = OrderedDict()
        self._index: dict[str, int] = {}
        # Stations relay with their own delays (a satellite may deliver an
        # hour late), so each (source, station) pair keeps its own clock.
        self._clocks: dict[tuple[str, str | None], float] = {}

    @property
    def pending(self) -> int:
        """Number of incomplete groups held."""
        return len(self._groups)

    @property
    def pending_sentences(self) -> int:
        """Number of sentences held in incomplete groups."""
        return sum(len(g.parts) for g in self._groups.values())

    def push(self, sentence: Sentence, source: str, now_s: float) -> AssembledParts:
        """Add one sentence; return a finished message's parts when complete.

        Args:
            sentence: A sentence that passed framing.
            source: Name of the connection or file it came from.
            now_s: The data clock in seconds (receive time, else arrival).
        """
        result = AssembledParts()
        index = self._index.get(source, 0) + 1
        self._index[source] = index
        clock = (source, sentence.station)
        self._clocks[clock] = max(now_s, self._clocks.get(clock, now_s))
        self._expire(result)

        if sentence.fragment_count == 1:
            result.complete = [sentence]
            self._forget_idle()
            return result

        key = self._key(sentence, source)
        group = self._groups.get(key)
        if group is not None and self._stale(group):
            self._drop(key, "incomplete_message", "timed out", result)
            group = None
        if group is not None and (
            sentence.fragment_number in group.parts
            or group.count != sentence.fragment_count
        ):
            # A sequence id is reused once its message is done; a repeated
            # fragment number means the earlier message lost a part.
            self._drop(key, "incomplete_message", "superseded by a new message", result)
            group = None
        if group is None:
            if len(self._groups) >= self.max_pending:
                oldest = next(iter(self._groups))
                self._drop(oldest, "fragment_overflow", "too many pending", result)
            group = _Group(
                source, clock, sentence.fragment_count, {}, self._clocks[clock], index
            )
            self._groups[key] = group
        group.parts[sentence.fragment_number] = sentence

        if len(group.parts) == group.count:
            del self._groups[key]
            result.complete = [group.parts[n] for n in range(1, group.count + 1)]
        self._forget_idle()
        return result

    def flush(self) -> list[tuple[AssemblyError, list[Sentence], str]]:
        """Let go of every incomplete group (end of input)."""
        result = AssembledParts()
        for key in list(self._groups):
            self._drop(key, "incomplete_message", "input ended", result)
        return result.errors

    @staticmethod
    def _key(sentence: Sentence, source: str) -> Hashable:
        group = sentence.tags.group
        if group is not None:
            return (source, "g", group[2], group[1])
        return (
            source,
            sentence.station,
            sentence.channel,
            sentence.sequence_id,
            sentence.fragment_count,
        )

    def _forget_idle(self) -> None:
        # Counters and clocks only age pending groups; those of sources and
        # stations with nothing pending are dropped once they outnumber the
        # groups, so that a sender naming a new station (tag block s:) in
        # every sentence cannot grow them without bound.
        if max(len(self._index), len(self._clocks)) <= 2 * self.max_pending:
            return
        sources = {group.source for group in self._groups.values()}
        clocks = {group.clock for group in self._groups.values()}
        self._index = {k: v for k, v in self._index.items() if k in sources}
        self._clocks = {k: v for k, v in self._clocks.items() if k in clocks}

    def _stale(self, group: _Group) -> bool:
        gap = self._index.get(group.source, 0) - group.started_index
        # started_s is the station's clock when the group began, so a
        # group's age is how far that clock has moved since.
        age_s = self._clocks.get(group.clock, group.started_s) - group.started_s
        return age_s > self.timeout_s or gap > self.max_gap

    def _expire(self, out: AssembledParts) -> None:
        # Groups are held in arrival order, so looking at the front is enough
        # to keep the buffer short; a stale group further back is caught
        # when its key is used again, or by the size bound.
        while self._groups:
            key, group = next(iter(self._groups.items()))
            if not self._stale(group):
                return
            self._drop(key, "incomplete_message", "timed out", out)

    def _drop(self, key: Hashable, reason: str, why: str, out: AssembledParts) -> None:
        group = self._groups.pop(key)
        sentences = [group.parts[n] for n in sorted(group.parts)]
        missing = [n for n in range(1, group.count + 1) if n not in group.parts]
        first = sentences[0]
        detail = (
            f"incomplete multi-sentence message ({why}): fragment"
            f"{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))} of "
            f"{group.count} (seq {first.sequence_id}, channel {first.channel or '-'}) "
            "missing"
        )
        out.errors.append(
            (
                AssemblyError(reason, detail, "\n".join(s.raw for s in sentences)),
                sentences,
                group.source,
            )
        )
