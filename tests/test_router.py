"""The scale-out router, without a broker: partitions, tag blocks, batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import recordings
from pyais.encode import encode_dict

from pantaulaut.config import load_config
from pantaulaut.errors import ConfigError
from pantaulaut.geofence.zones import load_zones
from pantaulaut.ingest.framing import nmea_checksum
from pantaulaut.ingest.router import (
    Router,
    is_distress,
    partition_of,
    raw_topic,
    routed_lines,
)
from pantaulaut.ingest.sources import read_file_lines
from pantaulaut.ingest.stream import AisMessage, AisStream
from pantaulaut.pipeline import Pipeline, PipelineSettings

ARRIVAL = datetime(2026, 6, 17, 3, 4, 5, 678901, tzinfo=UTC)


class Recorder:
    """Stands in for the MQTT queue: keeps what the router publishes."""

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def put(self, topic: str, payload: bytes, **options: Any) -> None:
        self.published.append({"topic": topic, "payload": payload, **options})


def sentence(data: dict[str, object]) -> list[str]:
    return [str(s) for s in encode_dict(data, "AI", "VDM", "A", seq_id=3)]


def decoded(lines: list[str], source: str = "kalianget") -> list[AisMessage]:
    stream = AisStream()
    out = []
    for line in lines:
        out.extend(stream.feed(line, source, ARRIVAL))
    return out


def test_partition_is_the_mmsi_modulo_the_count() -> None:
    assert [partition_of(m, 3) for m in (525000000, 525000001, 525000002)] == [0, 1, 2]
    assert raw_topic("pantaulaut", 2) == "pantaulaut/raw/2"


def test_untagged_sentences_get_station_and_time_a_worker_reads_back() -> None:
    lines = sentence({"type": 1, "mmsi": 525000001, "lat": -7.0, "lon": 114.0})
    (message,) = decoded(lines)
    (routed,) = routed_lines(message)
    body = "s:kalianget,c:1781665445.678901"
    assert routed == f"\\{body}*{nmea_checksum(body):02X}\\{lines[0]}"
    # A worker reads it under another source name, at another time.
    (again,) = decoded([routed], source="partition-1:pl/raw/1")
    assert (again.station, again.time) == ("kalianget", ARRIVAL)
    assert again.payload.fields == message.payload.fields


def test_a_sentence_s_own_tags_are_left_alone() -> None:
    lines = [
        recordings.tagged(s, "SMP-RAAS", ARRIVAL.replace(microsecond=0))
        for s in sentence({"type": 1, "mmsi": 525000001, "lat": -7.0, "lon": 114.0})
    ]
    (message,) = decoded(lines)
    assert routed_lines(message) == lines


def test_a_multi_sentence_message_travels_whole_and_keeps_its_time() -> None:
    static = {"type": 5, "mmsi": 525000002, "shipname": "SUMEKAR", "callsign": "PLAB"}
    parts = sentence(static)
    assert len(parts) == 2
    # The first fragment carries the time, the second only the station.
    first = recordings.tagged(parts[0], "SMP-KANGEAN", ARRIVAL.replace(microsecond=0))
    body = "s:SMP-KANGEAN"
    second = f"\\{body}*{nmea_checksum(body):02X}\\{parts[1]}"
    (message,) = decoded([first, second])
    routed = routed_lines(message)
    assert len(routed) == 2
    (again,) = decoded(routed, source="elsewhere")
    assert (again.station, again.time) == (message.station, message.time)
    assert again.payload.fields["shipname"] == "SUMEKAR"


def test_a_station_name_cannot_break_its_tag_block() -> None:
    lines = sentence({"type": 1, "mmsi": 525000001, "lat": -7.0, "lon": 114.0})
    (message,) = decoded(lines, source="broker:ais/a,b*c")
    (again,) = decoded(routed_lines(message), source="x")
    assert again.station == "broker:ais/a_b_c"


def test_distress_traffic_is_marked_to_be_kept() -> None:
    sart = sentence({"type": 1, "mmsi": 970000001, "status": 14, "lat": -7, "lon": 114})
    nuc = sentence({"type": 1, "mmsi": 525000001, "status": 14, "lat": -7, "lon": 114})
    text = sentence({"type": 14, "mmsi": 525000001, "text": "MAYDAY"})
    ferry = sentence({"type": 1, "mmsi": 525000001, "status": 0, "lat": -7, "lon": 114})
    flags = [is_distress(decoded(lines)[0]) for lines in (sart, nuc, text, ferry)]
    assert flags == [True, True, True, False]


def test_messages_are_batched_per_partition_in_order() -> None:
    queue = Recorder()
    router = Router(queue, "pl/", 3)  # type: ignore[arg-type]
    for n in range(9):
        for line in sentence({"type": 1, "mmsi": 525000000 + n, "lat": -7, "lon": 114}):
            router.feed(line, "kalianget", ARRIVAL + timedelta(seconds=n))
    assert queue.published == []
    router.flush()
    assert [p["topic"] for p in queue.published] == ["pl/raw/0", "pl/raw/1", "pl/raw/2"]
    first = queue.published[0]
    assert first["qos"] == 1
    assert first["keep"] is False
    assert first["meta"]["rows"] == 3
    mmsis = [m.mmsi for m in decoded(first["payload"].decode().split("\n"))]
    assert mmsis == [525000000, 525000003, 525000006]
    assert router.report()["routed"] == {"0": 3, "1": 3, "2": 3}


def test_a_full_partition_is_published_at_once() -> None:
    queue = Recorder()
    router = Router(queue, "pl", 2, max_lines=4)  # type: ignore[arg-type]
    for _ in range(4):
        router.feed(sentence({"type": 1, "mmsi": 525000000})[0], "k", ARRIVAL)
    assert len(queue.published) == 1


def test_the_router_counts_rejections_and_stations_once() -> None:
    router = Router(Recorder(), "pl", 2)  # type: ignore[arg-type]
    router.feed("!AIVDM,1,1,,A,garbage,0*00", "kalianget", ARRIVAL)
    router.feed(sentence({"type": 1, "mmsi": 525000001})[0], "kalianget", ARRIVAL)
    assert router.stream.rejected == {"checksum_mismatch": 1}
    stats = router.station_batch().stations["kalianget"]
    assert (stats.messages, stats.rejected) == (1, {"checksum_mismatch": 1})
    assert router.station_batch().is_empty()  # nothing new since


def test_partitions_together_give_what_one_pipeline_gives(tmp_path: Path) -> None:
    # The in-process form of the three-worker test of test_scaleout.py.
    path = tmp_path / "scene.nmea"
    recordings.separated_traffic(path, minutes=10, passers=12)
    zones = load_zones()
    one = Pipeline(None, zones)
    for line in read_file_lines(path):
        one.feed(line, path.name, datetime.now(UTC))
    one.finish()
    queue = Recorder()
    router = Router(queue, "pl", 3)  # type: ignore[arg-type]
    for line in read_file_lines(path):
        router.feed(line, path.name, datetime.now(UTC))
        router.flush()
    router.finish()
    partition = PipelineSettings(duty="partition")
    workers = [Pipeline(None, zones, partition) for _ in range(3)]
    # The pairs process reads every partition, in the order they arrive.
    pairs = Pipeline(None, zones, PipelineSettings(duty="pairs"))
    pairs.expect_sources(f"partition-{k}" for k in range(3))
    for item in queue.published:
        k = int(item["topic"].rsplit("/", 1)[1])
        for line in item["payload"].decode().split("\n"):
            workers[k].feed(line, item["topic"], datetime.now(UTC))
            pairs.feed(line, f"partition-{k}", datetime.now(UTC))
    for worker in [*workers, pairs]:
        worker.finish()

    def alerts(*pipelines: Pipeline) -> list[tuple[str, int, str]]:
        return sorted(
            (a["kind"], a["mmsi"], a["time"]) for p in pipelines for a in p.alert_log
        )

    assert alerts(*workers, pairs) == alerts(one)
    assert {"sart_active", "mob_active", "beacon_test", "zone_exit"} <= {
        kind for kind, _, _ in alerts(one)
    }
    assert {kind for kind, _, _ in alerts(pairs)} == {"collision_risk"}
    assert not any(kind == "collision_risk" for kind, _, _ in alerts(*workers))
    assert sum(w.stream.messages for w in workers) == one.stream.messages


# --- configuration ---------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


WORKER = '[scaleout]\nrole = "worker"\npartitions = 3\nworker = 2\n'
ROUTER = (
    '[scaleout]\nrole = "router"\npartitions = 3\n'
    '[[sources]]\nname = "k"\nkind = "tcp-client"\nport = 5631\n'
)


def test_roles_are_read_from_the_file_and_the_environment(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, WORKER), environ={})
    assert (config.scaleout.role, config.scaleout.worker) == ("worker", 2)
    assert config.scaleout.ident == "worker-2"
    again = load_config(
        write(tmp_path, WORKER), environ={"PANTAULAUT_SCALEOUT__WORKER": "0"}
    )
    assert again.scaleout.worker == 0
    assert load_config(write(tmp_path, ROUTER), environ={}).scaleout.role == "router"
    default = load_config(None, environ={})
    assert (default.scaleout.role, default.scaleout.partitions) == ("all", 1)


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('[scaleout]\nrole = "boss"\n', "scaleout.role", "one of"),
        (
            '[scaleout]\nrole = "worker"\npartitions = 0\n',
            "scaleout.partitions",
            "1 to",
        ),
        (
            '[scaleout]\nrole = "worker"\npartitions = 3\nworker = 3\n',
            "scaleout.worker",
            "0 to 2",
        ),
        ("[scaleout]\npartitions = 4\n", "scaleout.partitions", "role 'all'"),
        ('[scaleout]\nrole = "router"\npartitions = 2\n', "sources", "at least one"),
        (
            WORKER + '[[sources]]\nname = "k"\nkind = "tcp-client"\nport = 5631\n',
            "sources",
            "no .*sources.* on a worker",
        ),
        (WORKER + '[mqtt]\ntopic_prefix = "ais/#"\n', "mqtt.topic_prefix", "wildcards"),
        ("[spool]\nmax_mb = 0\n", "spool.max_mb", "above 0"),
        ("[store]\ntimeout_s = -1\n", "store.timeout_s", "above 0"),
    ],
)
def test_a_wrong_scaleout_setting_names_the_key(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected) as caught:
        load_config(write(tmp_path, text), environ={})
    assert caught.value.key == key
