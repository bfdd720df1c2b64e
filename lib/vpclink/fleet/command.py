"""The CLI's side of a fleet: ``vpclink check|plan|run|teardown`` given a fleet file (``fleet: NAME``)
or a fleet run directory, with the rate-control and engine options.

``vpclink.cli`` asks :func:`concerns` whether a command is a fleet's and hands it to :func:`check`,
:func:`run` or :func:`teardown`. Everything a fleet refuses (its file, its options) is refused here
before any API call and before the embedded emulator is touched: exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .. import embedded, profiles
from ..fields import FieldErrors
from ..params import LinkParams
from ..targets import Target, alibabacloud
from . import existing, preview
from . import run as fleet_run
from .engine import EngineError
from .model import Fleet
from .rate import DEFAULT_CONCURRENCY, DEFAULT_ERRORS, RateError, Threshold
from .spec import is_fleet, load_fleet
from .topology import check_against_cloud
from .world import world_for_fleet

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# Single-link options that mean nothing for a fleet (each link runs whole, by one operator).
_LINK_ONLY = (("from_phase", "--from"), ("to_phase", "--to"), ("side", "--side"), ("peer_card", "--peer-card"))


class FleetUsage(Exception):
    """Bad input for a fleet command: printed as is, exit 2."""


def add_options(p: argparse.ArgumentParser) -> None:
    """The fleet options of ``run``, ``plan`` and ``teardown``."""
    p.add_argument(
        "--max-concurrency",
        metavar="N|P%",
        help="a fleet: how many links run at once, a number or a percentage of its links "
        f"(default {DEFAULT_CONCURRENCY} on a --scheduler cluster; on this machine twice its CPU cores)",
    )
    p.add_argument(
        "--max-errors",
        metavar="N|P%",
        help=f"a fleet: how many links may fail before no new link starts (default {DEFAULT_ERRORS}: the first "
        "failure stops new starts; links in flight finish)",
    )
    p.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="a fleet: run its links on this Dask cluster (default: a local cluster for the command)",
    )


def _is_fleet_file(path: str | None) -> bool:
    return bool(path) and Path(str(path)).is_file() and is_fleet(str(path))


def _is_fleet_dir(path: str | None) -> bool:
    return bool(path) and Path(str(path)).is_dir() and fleet_run.is_fleet_run(str(path))


def concerns(args: argparse.Namespace) -> bool:
    """Whether the command names a fleet file or a fleet run directory; the fleet options given to a
    single link are refused (``FleetUsage``)."""
    if args.command == "teardown":
        fleet = _is_fleet_file(args.source) or _is_fleet_dir(args.source)
    elif args.command == "check":
        return _is_fleet_file(args.params)
    else:
        fleet = _is_fleet_file(args.params) or _is_fleet_dir(getattr(args, "resume", None))
    if not fleet:
        given = [o for o, v in _fleet_options(args) if v is not None]
        if given:
            raise FleetUsage(f"{', '.join(given)}: for a fleet file (fleet: NAME) or a fleet run directory only")
    return fleet


def _fleet_options(args: argparse.Namespace) -> list[tuple[str, object]]:
    return [
        ("--max-concurrency", getattr(args, "max_concurrency", None)),
        ("--max-errors", getattr(args, "max_errors", None)),
        ("--scheduler", getattr(args, "scheduler", None)),
    ]


def check(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    fleet = load_fleet(args.params)  # ParamsError: exit 2 naming each VPC, link and field
    if getattr(args, "profiles", "") or getattr(args, "target", None) == "alibabacloud":
        problems = profiles.check_profiles(
            [(f"vpcs.{v.name}.profile", v.profile) for v in fleet.vpcs.values()], getattr(args, "profiles", "") or None
        )
        if problems:
            raise FleetUsage(f"{args.params}: credential profiles:\n  " + "\n  ".join(problems))
    accounts = {v.account_uid or v.profile for v in fleet.vpcs.values()}
    regions = sorted({v.region for v in fleet.vpcs.values()})
    out(
        f"{args.params}: valid. Fleet {fleet.name}: {len(fleet.links)} link(s) over {len(fleet.vpcs)} VPC(s), "
        f"{len(accounts)} account(s), region(s) {', '.join(regions)}"
    )
    for link in fleet.links:
        i, a = fleet.vpcs[link.initiator], fleet.vpcs[link.acceptor]
        out(
            f"  {link.name}: {i.name} {i.vpc_id} ({i.region}) <-> {a.name} {a.vpc_id} ({a.region}), "
            f"{link.backend}, {link.params.capacity}"
        )
    return EXIT_OK


def run(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    """``run FLEET``, ``run --resume FLEET_RUN_DIR``, ``plan FLEET`` (and ``run --dry-run FLEET``)."""
    return _guarded(lambda: _run(args, out))


def teardown(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    """``teardown FLEET`` (each link's teardown by its parameters) or ``teardown FLEET_RUN_DIR``."""
    return _guarded(lambda: _teardown(args, out))


def _guarded(body: Callable[[], int]) -> int:
    try:
        return body()
    except (FleetUsage, RateError, fleet_run.FleetError) as e:
        print(f"vpclink: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (EngineError, existing.ReadError) as e:
        print(f"vpclink: {e}", file=sys.stderr)
        return EXIT_FAILED


def _run(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    _refuse_link_only(args)
    resume = getattr(args, "resume", None)
    mode = "plan" if args.dry_run else "run"
    if resume:
        if args.params:
            raise FleetUsage("run --resume FLEET_RUN_DIR: the fleet file is the run's own copy; leave out FLEET")
        if mode == "plan":
            raise FleetUsage("--dry-run with --resume: plan the fleet with vpclink plan FLEET")
        path, fleet = _fleet_dir(resume)
        options = _options(args, fleet, out, recorded=fleet_run.recorded_target(path))
        return fleet_run.resume_fleet(path, options).exit_code
    fleet = load_fleet(args.params)  # ParamsError before any call, for every link
    options = _options(args, fleet, out)
    # before a link's first call: a run would otherwise stop part way at CreateRouterInterface's or
    # CreateRouteEntry's quota
    _check_against_cloud(args.params, fleet, options.target_args)
    return fleet_run.run_fleet(args.params, options, mode).exit_code


def _check_against_cloud(source: str, fleet: Fleet, target_args: Sequence[str]) -> None:
    """The topology checks again, counting what the cloud already holds (router interfaces on each
    VPC's VRouter, custom route entries in its route table): a VRouter or table that the links would
    take past its limit, or a destination a table already routes, is refused before any link is
    planned or run (``FleetUsage``, exit 2); a cloud that cannot be read is ``existing.ReadError``."""
    found = existing.read_existing(fleet, lambda params: _link_target(params, target_args))
    errors = check_against_cloud(
        fleet,
        existing_interfaces=found.router_interfaces,
        existing_routes=found.route_destinations,
        route_tables=found.route_tables,
    )
    if errors:
        raise FleetUsage(str(FieldErrors(f"{source} (with what the cloud already holds)", errors)))


def _link_target(params: LinkParams, target_args: Sequence[str]) -> Target:
    """The target a link's own command would use with ``target_args``, for this process's reads."""
    args = list(target_args)
    given = args[args.index("--profiles") + 1] if "--profiles" in args else ""
    if "--target" in args and args[args.index("--target") + 1] == "alibabacloud":
        return alibabacloud(params, profiles_file=given)
    if "--emulator" in args:
        return embedded.attach(args[args.index("--emulator") + 1], params, profiles_file=given)
    return embedded.start(params)


def _teardown(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    if getattr(args, "side", None):
        raise FleetUsage("--side: a fleet is torn down by one operator")
    if args.dry_run and not _is_fleet_dir(args.source):
        raise FleetUsage(
            "teardown --dry-run of a fleet takes the fleet's run directory (runs/<time>-<fleet>), whose links' "
            "records say what each made; give that directory"
        )
    if _is_fleet_dir(args.source):
        path, fleet = _fleet_dir(args.source)
        options = _options(args, fleet, out, recorded=fleet_run.recorded_target(path))
        if args.dry_run:  # each link's own dry run; nothing changed, the fleet's records not written
            return preview.preview_teardown(path, options)
        return fleet_run.teardown_fleet(path, options).exit_code
    fleet = load_fleet(args.source)
    options = _options(args, fleet, out)
    return fleet_run.run_fleet(args.source, options, "teardown").exit_code


def _refuse_link_only(args: argparse.Namespace) -> None:
    given = [option for attr, option in _LINK_ONLY if getattr(args, attr, None)]
    if getattr(args, "confirm", False):
        given.append("--confirm")
    if given:
        raise FleetUsage(f"{', '.join(given)}: for one link's parameter file; a fleet runs each link whole")


def _fleet_dir(path: str) -> tuple[Path, Fleet]:
    fleet = fleet_run.load_fleet_dir(path)
    return Path(path), fleet


def _options(
    args: argparse.Namespace, fleet: Fleet, out: Callable[[str], None], recorded: Sequence[str] = ()
) -> fleet_run.FleetOptions:
    """The options of the command, checked; then the target made ready (the embedded emulator gets
    the fleet's world). ``recorded``: the target options the fleet's run directory was made with,
    used when none are given."""
    concurrency = Threshold.parse(args.max_concurrency or default_concurrency(args.scheduler), "--max-concurrency")
    errors = Threshold.parse(args.max_errors or DEFAULT_ERRORS, "--max-errors")
    target = _target_args(args, recorded, fleet)
    if getattr(args, "notebooks", None):
        target += ("--notebooks", str(Path(args.notebooks).resolve()))
    if not any(a in target for a in ("--emulator", "--target")):
        embedded.seed(world_for_fleet(fleet))  # the links' own commands find every VPC, one account per profile
    return fleet_run.FleetOptions(
        records=Path(args.records).resolve(),
        target_args=target,
        scheduler=args.scheduler,
        max_concurrency=str(concurrency),
        max_errors=str(errors),
        log=out,
    )


def default_concurrency(scheduler: str | None) -> str:
    """Links at once when ``--max-concurrency`` is not given. On this machine, twice its cores: each
    link starts a kernel per phase, and at 10 links on 2 cores the kernels' starts starve past their
    60 s timeout (measured with benchmarks/fleet.py); a cluster gets the SSM-like default."""
    return DEFAULT_CONCURRENCY if scheduler else str(2 * (os.cpu_count() or 1))


def _target_args(args: argparse.Namespace, recorded: Sequence[str], fleet: Fleet | None = None) -> tuple[str, ...]:
    """The single-link command's target options for every link, with ``--profiles FILE`` (the option,
    else the file the fleet's last command gave its links) when the links run on an emulator already
    running or on the real cloud: every profile the fleet names must be usable in it (exit 2). The
    embedded emulator writes its own profiles: ``--profiles`` is refused there, before anything starts."""
    target = _place_args(args, recorded)
    remote = any(a in target for a in ("--emulator", "--target"))
    given = getattr(args, "profiles", "") or (_recorded(recorded, "--profiles") if remote else "")
    if not given:
        return target
    if not remote:
        raise FleetUsage(
            f"--profiles {given}: only with --emulator URL (a running emulator whose STS serves the profiles' "
            "roles and keys) or --target alibabacloud; the embedded emulator signs with AccessKey profiles of "
            "its own accounts, so leave out --profiles or give --emulator URL"
        )
    if fleet is not None:
        problems = profiles.check_profiles([(f"vpcs.{v.name}.profile", v.profile) for v in fleet.vpcs.values()], given)
        if problems:
            raise FleetUsage(f"--profiles {given}: credential profiles:\n  " + "\n  ".join(problems))
    return (*target, "--profiles", str(profiles.profiles_path(given).resolve()))


def _recorded(recorded: Sequence[str], option: str) -> str:
    values = [recorded[i + 1] for i, a in enumerate(recorded[:-1]) if a == option]
    return values[0] if values else ""


def _place_args(args: argparse.Namespace, recorded: Sequence[str]) -> tuple[str, ...]:
    """Where the links run: ``--emulator URL``, ``--target alibabacloud`` or nothing (the embedded
    emulator). The real cloud runs each link without a terminal to confirm on: the fleet command needs
    ``--yes`` (review ``vpclink plan FLEET`` first)."""
    if args.target == "alibabacloud" or (not args.target and not args.emulator and "alibabacloud" in recorded):
        if args.emulator:
            raise FleetUsage("--emulator and --target alibabacloud exclude each other")
        if args.command == "plan" or getattr(args, "dry_run", False):
            return ("--target", "alibabacloud")  # a plan changes nothing: nothing to confirm
        if not getattr(args, "yes", False):
            raise FleetUsage(
                f"{args.command} of a fleet on Alibaba Cloud changes paid resources in many accounts and cannot "
                "ask per link: review vpclink plan FLEET, then run again with --yes"
            )
        return ("--target", "alibabacloud", "--yes")
    if args.emulator:
        return ("--emulator", args.emulator)
    if args.target == "emulator":
        return ()
    recorded_url = _recorded(recorded, "--emulator")
    return ("--emulator", recorded_url) if recorded_url else ()
