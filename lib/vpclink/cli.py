"""``vpclink``: run, plan, check and tear down a link between two VPCs of different accounts.

Start from the example: ``vpclink example > link.yaml``, edit it, then ``vpclink check link.yaml``
and ``vpclink run link.yaml`` (the embedded emulator by default; ``--target alibabacloud`` for the
real cloud).

Exit codes: 0 success (``run``: the link verifies), 1 the run failed (the record says where and
why, and the command to resume is printed), 2 invalid input (parameters, options, a run directory,
a peer card), 3 waiting for the other operator (two operators, ``--side``: what they must do next
and the command to resume are printed).
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from importlib import resources
from pathlib import Path

from . import embedded, phases
from .params import ROLES, LinkParams, ParamsError, format_errors, load
from .peer import card as peercard
from .peer import exchange
from .peer.values import Local
from .record.notebook_records import PLAN_MIME, read_record
from .record.run import PARAMS_COPY, RUN_FILE, RunState, RunStateError
from .runner import RunError, Runner, RunResult, select, with_discovery
from .sides import Acting
from .targets import Target, TargetError, alibabacloud

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_WAITING = 0, 1, 2, 3


class UsageError(Exception):
    """Bad input: printed as is, exit 2."""


def examples() -> dict[str, str]:
    """The example parameter files shipped with the package: name -> YAML text."""
    folder = resources.files("vpclink") / "examples"
    return {
        f.name.removesuffix(".yaml"): f.read_text(encoding="utf-8")
        for f in sorted(folder.iterdir(), key=lambda f: f.name)
        if f.name.endswith(".yaml")
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vpclink",
        description=__doc__.split("\n\nExit codes")[0].split(": ", 1)[1].replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def target_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--records",
            default="runs",
            metavar="DIR",
            help="where run records (and the embedded emulator's state) are kept (default: runs/)",
        )
        p.add_argument(
            "--target",
            choices=("emulator", "alibabacloud"),
            default=None,
            help="emulator (default: embedded, or --emulator URL) or alibabacloud "
            "(the real cloud, with the credential profiles the parameters name)",
        )
        p.add_argument(
            "--emulator", metavar="URL", help="use an emulator that is already running, e.g. http://127.0.0.1:8080"
        )
        p.add_argument(
            "--notebooks",
            metavar="DIR",
            help="run these phase notebooks (default: generated from the installed package, as notebooks/ is)",
        )
        p.add_argument("-v", "--verbose", action="store_true", help="stream the notebooks' output while they run")

    def side_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--side",
            choices=ROLES,
            help="two operators, one account each: run only this side's phases and steps, with "
            "only its credential profile; each side exports a peer card for the other",
        )
        p.add_argument(
            "--peer-card",
            metavar="FILE",
            help="the other side's peer card (its .peercard.json); with --resume, a newer one",
        )

    run = sub.add_parser("run", help="run every phase and verify the link")
    run.add_argument("params", nargs="?", metavar="PARAMS", help="the link's parameter file (YAML)")
    target_options(run)
    run.add_argument(
        "--from", dest="from_phase", metavar="PHASE", help=f"start at this phase ({', '.join(phases.RUN)})"
    )
    run.add_argument("--to", dest="to_phase", metavar="PHASE", help="stop after this phase")
    run.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its records")
    run.add_argument("--dry-run", action="store_true", help="plan every phase; no mutating call")
    side_options(run)

    plan = sub.add_parser("plan", help="what each phase would do against the current state (no mutating call)")
    plan.add_argument("params", metavar="PARAMS")
    target_options(plan)
    side_options(plan)

    check = sub.add_parser("check", help="validate a parameter file without any API call")
    check.add_argument("params", metavar="PARAMS")

    example = sub.add_parser(
        "example",
        help="print an example parameter file (vpclink example > link.yaml)",
        description="Print an example parameter file shipped with vpclink, to start a link's file from: "
        "vpclink example > link.yaml",
    )
    example.add_argument("name", nargs="?", default="example", help="which example (default: example; --list)")
    example.add_argument("--list", action="store_true", help="list the examples with their first line")

    teardown = sub.add_parser("teardown", help="remove what the runbook created, in reverse order")
    teardown.add_argument("source", metavar="PARAMS|RUN_DIR")
    target_options(teardown)
    teardown.add_argument(
        "--side",
        choices=ROLES,
        help="two operators: remove only this side's rules, routes and router interface, with its profile only",
    )

    emu = sub.add_parser("emulator", help="the embedded emulator's state")
    emu_sub = emu.add_subparsers(dest="emulator_command", required=True, metavar="ACTION")
    reset = emu_sub.add_parser("reset", help="start the emulated cloud over (the next run builds its world afresh)")
    reset.add_argument("--records", default="runs", metavar="DIR")
    reset.add_argument("--emulator", metavar="URL", help="reset this running emulator to its world instead")
    world = emu_sub.add_parser("world", help="print the emulator world matching a parameter file (YAML)")
    world.add_argument("params", metavar="PARAMS")
    serve = emu_sub.add_parser(
        "serve", help="serve the embedded emulator until Ctrl-C, for running the notebooks cell by cell in JupyterLab"
    )
    serve.add_argument("params", metavar="PARAMS")
    serve.add_argument("--records", default="runs", metavar="DIR")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if getattr(args, "verbose", False):  # papermill streams the cells' output to its logger
        logging.basicConfig(level=logging.INFO, format="    %(message)s", stream=sys.stdout)
    out: Callable[[str], None] = lambda line: print(line, flush=True)  # noqa: E731
    try:
        return _COMMANDS[args.command](args, out)
    except ParamsError as e:
        print(format_errors(e), file=sys.stderr)
        return EXIT_USAGE
    except UsageError as e:
        print(f"vpclink: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (TargetError, RunError) as e:
        print(f"vpclink: {e}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("vpclink: interrupted", file=sys.stderr)
        return 130


# -- helpers ----------------------------------------------------------------------------------


def _load_params(path: str) -> LinkParams:
    return load(path)  # ParamsError: main prints one line per bad field and exits 2


def _target(args: argparse.Namespace, params: LinkParams, records: Path, recorded: RunState | None = None) -> Target:
    """The target of a command: the options, else what the run being continued used."""
    name = args.target or (recorded.target if recorded else "emulator")
    url = args.emulator or (recorded.emulator if recorded and recorded.emulator not in ("", "embedded") else None)
    side = _side(args, recorded) or None
    if name == "alibabacloud":
        if args.emulator:
            raise UsageError("--emulator and --target alibabacloud exclude each other")
        return alibabacloud(params, side=side)
    if recorded is not None and recorded.target != name:
        raise UsageError(f"this run used --target {recorded.target}; it cannot continue on {name}")
    if url:
        return embedded.attach(url, params, side=side)
    return embedded.start(params, records, side=side)


def _side(args: argparse.Namespace, recorded: RunState | None = None) -> Acting:
    """The side of a two-operator run (None for one operator): the option, else the run's."""
    side: Acting = getattr(args, "side", None) or None
    if recorded is not None:
        if side and side != recorded.side:
            whose = f"the {recorded.side} side's" if recorded.side else "one operator's, on both sides"
            raise UsageError(f"--side {side}: this run is {whose}; leave --side out to continue it")
        side = recorded.side
    if getattr(args, "peer_card", None) and not side:
        raise UsageError("--peer-card: a peer card is for two operators; give --side initiator or --side acceptor")
    return side


def _import_card(args: argparse.Namespace, run_dir: Path, params: LinkParams) -> None:
    """Keep the other side's card (``--peer-card``) in the run directory; the notebooks use the latest."""
    if not getattr(args, "peer_card", None):
        return
    state = RunState.load(run_dir)
    if state.side is None:
        raise UsageError("--peer-card: a peer card is for two operators; give --side initiator or --side acceptor")
    own = params.side(state.side)
    uid = state.account_uids().get(state.side) or own.account_uid
    try:
        record = exchange.import_card(
            run_dir,
            args.peer_card,
            side=state.side,
            link=params.link,
            local=Local(account_uid=uid, vpc_cidr=own.vpc_cidr),
        )
    except FileNotFoundError:
        raise UsageError(f"--peer-card {args.peer_card}: no such file") from None
    except peercard.PeerCardError as e:
        raise UsageError(f"--peer-card {e}") from None
    with RunState.edit(run_dir) as state:
        if not state.peer_cards or state.peer_cards[-1]["sha256"] != record["sha256"]:
            state.peer_cards.append(record)


def _resumable(run_dir: str) -> tuple[Path, RunState, LinkParams]:
    path = Path(run_dir)
    try:
        state = RunState.load(path)
    except RunStateError as e:
        raise UsageError(str(e)) from None
    copy = path / PARAMS_COPY
    if not copy.exists():
        raise UsageError(f"{path}: {PARAMS_COPY} is missing; the run cannot be continued from its records")
    return path, state, _load_params(str(copy))


def _header(
    out: Callable[[str], None], verb: str, params: LinkParams, target: Target, run_dir: Path, side: Acting = None
) -> None:
    where = {"embedded": "the embedded emulator", "": "Alibaba Cloud"}.get(
        target.emulator, f"the emulator at {target.emulator}"
    )
    who = f", {side} side only (profile {params.side(side).profile})" if side else ""
    out(f"vpclink {verb}: link {params.link} on {where}{who}")
    out(f"  records: {run_dir}")


def _summary(out: Callable[[str], None], result: RunResult) -> int:
    state: RunState = result.state
    outputs = state.observed_outputs()
    removed = any(phases.get(name).kind == "remove" for name in result.ran)
    for phase in phases.ALL:
        line = phase.report(outputs) if phase.report is not None and not removed else None
        if line:
            out(f"  {line}")
    total = sum(p.seconds or 0 for p in state.phases if p.name in result.ran)
    out(f"  result: {state.result} ({total:.1f} s in notebooks); {result.message.splitlines()[0]}")
    for line in result.message.splitlines()[1:]:
        out(line)
    out(f"  records: {result.run_dir / 'index.html'}")
    card = result.run_dir / peercard.file_name(state.link, state.side) if state.side else None
    if card is not None and card.exists() and not removed:
        out(f"  this side's peer card, for the other operator: {card}")
    return result.exit_code


# -- commands ---------------------------------------------------------------------------------


def _check(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    params = _load_params(args.params)
    out(
        f"{args.params}: valid. Link {params.link}: {params.initiator.vpc_id} ({params.initiator.region}, "
        f"profile {params.initiator.profile}) <-> {params.acceptor.vpc_id} ({params.acceptor.region}, "
        f"profile {params.acceptor.profile}), {params.bandwidth_mbps} Mbps ({params.spec})"
    )
    return EXIT_OK


def _run(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    dry = args.dry_run
    from_phase, to_phase = getattr(args, "from_phase", None), getattr(args, "to_phase", None)
    try:
        selected = select(from_phase, to_phase)
    except RunError as e:
        raise UsageError(str(e)) from None
    if getattr(args, "resume", None):
        return _resume(args, out, selected)
    if not args.params:
        raise UsageError("run: give PARAMS, or --resume RUN_DIR")
    params = _load_params(args.params)
    records = Path(args.records)
    with ExitStack() as stack:
        target = stack.enter_context(_target(args, params, records))
        runner = Runner(target, notebooks_dir=args.notebooks, log=out, verbose=args.verbose)
        todo = with_discovery(selected)
        run_dir, state = _new_run(args.params, params, target, records, todo, dry_run=dry, side=_side(args))
        _import_card(args, run_dir, params)
        _header(out, "plan" if dry else "run", params, target, run_dir, state.side)
        result = runner.execute(run_dir, todo, params)
        if dry:
            _print_plans(out, run_dir, result.state)
        return _summary(out, result)


def _resume(args: argparse.Namespace, out: Callable[[str], None], selected: list[str]) -> int:
    run_dir, state, params = _resumable(args.resume)
    if args.params and Path(args.params).read_bytes() != (run_dir / PARAMS_COPY).read_bytes():
        raise UsageError(
            f"{args.params} differs from the parameters this run started with "
            f"({run_dir / PARAMS_COPY}); start a new run instead of resuming"
        )
    ranged = bool(args.from_phase or args.to_phase)
    names = [p.name for p in state.phases]
    todo = [n for n in names if n in selected] if ranged else names
    rerun = frozenset(selected) if args.from_phase else frozenset()
    with ExitStack() as stack:
        target = stack.enter_context(_target(args, params, run_dir.parent, state))
        _import_card(args, run_dir, params)
        runner = Runner(target, notebooks_dir=args.notebooks, log=out, verbose=args.verbose)
        _header(out, "run (resumed)", params, target, run_dir, state.side)
        result = runner.execute(run_dir, todo, params, rerun=rerun)
        return _summary(out, result)


def _new_run(
    params_file: str | Path,
    params: LinkParams,
    target: Target,
    records: str | Path,
    todo: list[str],
    *,
    planned: list[str] | None = None,
    dry_run: bool = False,
    side: Acting = None,
) -> tuple[Path, RunState]:
    return RunState.create(
        records,
        params_file,
        params,
        target=target.name,
        emulator=target.emulator,
        endpoint=target.endpoint,
        planned=list(phases.RUN) if planned is None else planned,
        selected=todo,
        dry_run=dry_run,
        side=side,
    )


def _plan(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    args.dry_run = True
    return _run(args, out)


def _print_plans(out: Callable[[str], None], run_dir: Path, state: RunState) -> None:
    for p in state.phases:
        path = run_dir / p.notebook
        if p.status == "skipped" or not path.exists():
            continue
        plan = read_record(path, PLAN_MIME) or {}
        out(f"  {p.name}:")
        for step in plan.get("steps", []):
            out(f"    {step['intent']:<8} {step['side']:<10} {step['action']:<32} {step['target']}  ({step['detail']})")


def _teardown(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    source = Path(args.source)
    with ExitStack() as stack:
        if source.is_dir():
            if not (source / RUN_FILE).exists():
                raise UsageError(f"{source}: not a run directory (no {RUN_FILE}); give a run directory or PARAMS")
            run_dir, state, params = _resumable(str(source))
            target = stack.enter_context(_target(args, params, run_dir.parent, state))
            discovered = all(state.has_phase(n) and state.phase(n).status == "ok" for n in phases.DISCOVER)
            todo = list(phases.REMOVE) if discovered else [*phases.DISCOVER, *phases.REMOVE]
            with RunState.edit(run_dir) as state:
                state.dry_run = False
            rerun = frozenset(phases.REMOVE)
        else:
            params = _load_params(str(source))
            target = stack.enter_context(_target(args, params, Path(args.records)))
            todo = [*phases.DISCOVER, *phases.REMOVE]
            run_dir, state = _new_run(source, params, target, args.records, todo, planned=todo, side=_side(args))
            rerun = frozenset()
        runner = Runner(target, notebooks_dir=args.notebooks, log=out, verbose=args.verbose)
        _header(out, "teardown", params, target, run_dir, state.side)
        return _summary(out, runner.execute(run_dir, todo, params, rerun=rerun))


def _serve(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    params = _load_params(args.params)
    with embedded.start(params, args.records) as target:
        out(
            f"the emulator for link {params.link} is serving at {target.control_url} "
            f"(state in {embedded.state_dir(args.records)}); Ctrl-C stops it"
        )
        out("In a notebook's parameters cell, for this session:")
        out(f'  target = "emulator"\n  endpoint = "{target.endpoint}"\n  profiles_file = "{target.profiles_file}"')
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            out("stopped")
    return EXIT_OK


def _example(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    found = examples()
    if args.list:
        for name, text in found.items():
            first = next((line.lstrip("# ").strip() for line in text.splitlines() if line.strip()), "")
            out(f"{name:<16} {first}")
        return EXIT_OK
    if args.name not in found:
        raise UsageError(f"example {args.name!r}: not an example; examples: {', '.join(found)}")
    sys.stdout.write(found[args.name])
    return EXIT_OK


def _emulator(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    if args.emulator_command == "serve":
        return _serve(args, out)
    if args.emulator_command == "world":
        out(embedded.world_yaml(_load_params(args.params)).rstrip())
        return EXIT_OK
    if args.emulator:
        embedded.reset_running(args.emulator)
        out(f"the emulator at {args.emulator} is back to its world")
        return EXIT_OK
    existed = embedded.reset(args.records)
    out(
        f"{embedded.state_dir(args.records)}: {'removed; ' if existed else 'nothing to remove; '}"
        "the next run starts with a fresh world built from its parameters"
    )
    return EXIT_OK


_COMMANDS = {
    "run": _run,
    "plan": _plan,
    "check": _check,
    "example": _example,
    "teardown": _teardown,
    "emulator": _emulator,
}


if __name__ == "__main__":
    raise SystemExit(main())
