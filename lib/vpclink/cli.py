"""``vpclink``: run, plan, check and tear down a link between two VPCs of different accounts.

Start from the example: ``vpclink example > link.yaml``, edit it, then ``vpclink check link.yaml``
and ``vpclink run link.yaml`` (the embedded emulator by default; ``--target alibabacloud`` for the
real cloud, where every change is shown and confirmed first, or ``--yes``).

Exit codes: 0 success (``run``: the link verifies), 1 the run failed (the record says where and
why, and the command to resume is printed) or a change was not confirmed, 2 invalid input
(parameters, options, a run directory, a peer card), 3 waiting for the other operator (two operators,
``--side``: what they must do next and the command to resume are printed).
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from typing import Any

from . import embedded, phases, profiles, safe_files
from .fleet import command as fleet_command
from .params import ROLES, LinkParams, ParamsError, format_errors, load
from .peer import card as peercard
from .peer import exchange
from .record import changes
from .record.notebook_records import PLAN_MIME, read_record
from .record.provenance import describe, software
from .record.run import (
    PARAMS_COPY,
    RUN_FILE,
    PhaseRecord,
    RunState,
    RunStateError,
    confined,
    new_run_dir,
    write_file,
)
from .runner import RunError, Runner, RunResult, select, with_discovery
from .sides import Acting
from .targets import Target, TargetError, alibabacloud

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_WAITING = 0, 1, 2, 3
# Intents of a plan's steps that change the cloud, and the verb a preview counts them under.
CHANGING = {"create": "create", "modify": "change", "connect": "change", "delete": "delete"}


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


class _Version(argparse.Action):
    """``--version``: what ``software()`` says (asked only when the option is given: it runs git)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        print(describe(software()))
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vpclink",
        description=__doc__.split("\n\nExit codes")[0].split(": ", 1)[1].replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_Version, help="print vpclink's version, commit and SDK versions")
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
            "--profiles",
            metavar="FILE",
            default="",
            help="sign with the credential profiles of FILE (the Alibaba Cloud CLI's config.json format, e.g. "
            "RamRoleArn profiles of a central account) as they are: with --emulator URL, instead of AccessKey "
            "profiles of the emulator's accounts; with --target alibabacloud, instead of ~/.aliyun/config.json. "
            "A resumed run and a teardown of its run directory use the same file again (run.json keeps its path)",
        )
        p.add_argument(
            "--notebooks",
            metavar="DIR",
            help="run these phase notebooks (default: generated from the installed package, as notebooks/ is)",
        )
        p.add_argument("-v", "--verbose", action="store_true", help="stream the notebooks' output while they run")
        p.add_argument(
            "--capture",
            metavar="DIR",
            default="",
            help="keep a capture of every API call in DIR (the shapes and codes of the answers; no credential, "
            "IDs and addresses replaced), to replay against the emulator: pytest -m parity --capture-dir DIR",
        )

    def confirm_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--yes",
            action="store_true",
            help="go ahead without asking (automation): with --target alibabacloud a terminal is asked to "
            "confirm the plan first, and a run without a terminal refuses unless --yes",
        )
        p.add_argument(
            "--confirm",
            action="store_true",
            help="show the plan and ask before changing anything on any target (always on with "
            "--target alibabacloud): to rehearse on the emulator",
        )

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
    confirm_options(run)
    side_options(run)
    fleet_command.add_options(run)

    plan = sub.add_parser("plan", help="what each phase would do against the current state (no mutating call)")
    plan.add_argument("params", metavar="PARAMS")
    target_options(plan)
    side_options(plan)
    fleet_command.add_options(plan)

    migrate = sub.add_parser(
        "migrate", help="move a built, verified link to the other backend, one route at a time, in place"
    )
    migrate.add_argument("params", metavar="PARAMS", help="the link's parameter file, naming the backend that built it")
    migrate.add_argument(
        "--to", dest="to_backend", required=True, metavar="BACKEND", help="router_interface or vpc_peer"
    )
    migrate.add_argument("--dry-run", action="store_true", help="show the steps against the current state; no change")
    migrate.add_argument("--yes", action="store_true", help="needed on alibabacloud: review --dry-run first")
    target_options(migrate)

    check = sub.add_parser("check", help="validate a parameter file without any API call")
    check.add_argument("params", metavar="PARAMS")
    check.add_argument(
        "--target",
        choices=("emulator", "alibabacloud"),
        default=None,
        help="alibabacloud: also check the credential profiles the file names, in ~/.aliyun/config.json",
    )
    check.add_argument(
        "--profiles", metavar="FILE", default="", help="also check the credential profiles the file names, in FILE"
    )

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
    teardown.add_argument("--dry-run", action="store_true", help="show exactly what would be removed; change nothing")
    confirm_options(teardown)
    teardown.add_argument(
        "--side",
        choices=ROLES,
        help="two operators: remove only this side's rules, routes and router interface, with its profile only",
    )
    fleet_command.add_options(teardown)

    notebook = sub.add_parser(
        "notebook",
        help="a phase notebook to work on in JupyterLab: a working copy in a run directory, never the template",
        description="Write a working copy of a phase's notebook, parameterized for this link and a run's "
        "records directory, and print the command that opens it. The committed notebooks stay templates. "
        "With --papermill-params FILE, write the parameters for papermill instead: "
        "papermill notebooks/NN_phase.ipynb out.ipynb -f FILE",
    )
    notebook.add_argument("params", metavar="PARAMS", help="the link's parameter file (YAML)")
    notebook.add_argument("phase", metavar="PHASE", help=f"the phase: {', '.join(phases.ORDER)} (or 01_initiator, 01)")
    notebook.add_argument("--run", metavar="RUN_DIR", help="an existing run to continue (default: a new run directory)")
    notebook.add_argument("--records", default="runs", metavar="DIR", help="where a new run directory goes (runs/)")
    notebook.add_argument(
        "--target",
        choices=("emulator", "alibabacloud"),
        default=None,
        help="where the notebook calls: emulator (with --endpoint and --profiles, as `vpclink emulator serve` "
        "prints them) or alibabacloud; default: an offline plan from the parameters, no API call",
    )
    notebook.add_argument("--endpoint", metavar="HOST:PORT", default="", help="the emulator's endpoint")
    notebook.add_argument("--profiles", metavar="FILE", default="", help="credential profiles file for the emulator")
    notebook.add_argument("--side", choices=ROLES, help="two operators: this operator's side only")
    notebook.add_argument(
        "--papermill-params",
        metavar="FILE",
        help="write the parameters as YAML for papermill -f FILE (batch: no form) instead of a working copy",
    )
    notebook.add_argument(
        "--apply",
        action="store_true",
        help="with --papermill-params: apply = True (the working copy starts with False)",
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
    except (UsageError, RunStateError, safe_files.UnsafeFile, peercard.PeerCardError, fleet_command.FleetUsage) as e:
        print(f"vpclink: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (TargetError, RunError) as e:
        print(f"vpclink: {e}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as e:  # a records directory that cannot be written, a disk full: say which file
        where = f" {e.filename}" if e.filename else ""
        print(f"vpclink: cannot write or read{where}: {e.strerror or e}", file=sys.stderr)
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
    capture = getattr(args, "capture", "") or ""
    if capture:
        try:
            Path(capture).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UsageError(
                f"--capture {capture}: cannot keep a capture there ({e.strerror}); give a directory to create or write"
            ) from None
    if name == "alibabacloud":
        if args.emulator:
            raise UsageError("--emulator and --target alibabacloud exclude each other")
        given = _given_profiles(args, params, side, recorded)
        return alibabacloud(params, profiles_file=given, side=side, capture_dir=capture)
    if recorded is not None and recorded.target != name:
        raise UsageError(f"this run used --target {recorded.target}; it cannot continue on {name}")
    if getattr(args, "profiles", "") and not url:
        raise UsageError(
            f"--profiles {args.profiles}: only with --emulator URL (a running emulator whose STS serves the "
            "profiles' roles and keys) or --target alibabacloud; the embedded emulator signs with AccessKey "
            "profiles of its own accounts, so leave out --profiles or give --emulator URL"
        )
    given = _given_profiles(args, params, side, recorded) if url else ""
    if url:
        target = embedded.attach(url, params, side=side, profiles_file=given)
    else:
        target = embedded.start(params, records, side=side)
    target.capture_dir = capture  # a capture of an emulator run: the replay's own check of itself
    return target


def _given_profiles(args: argparse.Namespace, params: LinkParams, side: Acting, recorded: RunState | None) -> str:
    """The profiles file the user named: ``--profiles``, else the one the run being continued recorded
    (its path in run.json), else "". The profiles the parameters name must be usable in it (exit 2)."""
    option = getattr(args, "profiles", "") or ""
    path = option or (recorded.profiles_file if recorded is not None else "")
    if not path:
        return ""
    named = [(f"{r}.profile", params.side(r).profile) for r in ROLES if side in (None, r)]
    problems = profiles.check_profiles(named, path)
    if problems:
        where = f"--profiles {option}" if option else f"the profiles file this run used ({RUN_FILE}: {path})"
        again = "" if option else "; give --profiles FILE with the profiles to use now"
        raise UsageError(f"{where}: credential profiles:\n  " + "\n  ".join(problems) + again)
    return str(profiles.profiles_path(path).resolve())


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
    uid = state.account_uids().get(state.side)
    local = exchange.local_view(params, state.side, account_uid=uid, known=state.merged_outputs())
    try:
        record = exchange.import_card(run_dir, args.peer_card, side=state.side, link=params.link, local=local)
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
    copy = confined(path, PARAMS_COPY)
    if not copy.exists():
        raise UsageError(f"{path}: {PARAMS_COPY} is missing; the run cannot be continued from its records")
    params = _load_params(str(copy))
    if params.link != state.link:
        raise UsageError(f"{path}: {RUN_FILE} is for link {state.link!r}, {PARAMS_COPY} for {params.link!r}")
    return path, state, params


def _header(
    out: Callable[[str], None], verb: str, params: LinkParams, target: Target, run_dir: Path, side: Acting = None
) -> None:
    where = {"embedded": "the embedded emulator", "": "Alibaba Cloud"}.get(
        target.emulator, f"the emulator at {target.emulator}"
    )
    who = f", {side} side only (profile {params.side(side).profile})" if side else ""
    out(f"vpclink {verb}: link {params.link} on {where}{who}")
    if target.given_profiles:
        out(f"  credential profiles: {target.given_profiles}")
    out(f"  records: {run_dir}")


def _summary(out: Callable[[str], None], result: RunResult) -> int:
    state: RunState = result.state
    outputs = state.observed_outputs()
    removed = any(phases.get(name).kind == "remove" for name in result.ran)
    for phase in phases.ALL:
        line = phase.report(outputs) if phase.report is not None and not removed else None
        if line:
            out(f"  {line}")
    if removed and not state.dry_run:
        steps = [o for p in state.phases if p.name in result.ran for o in p.outcomes]
        gone = [o for o in steps if o.get("outcome") in ("deleted", "already gone", "changed")]
        out("  removed:" if gone else "  removed: nothing (nothing of this link was found)")
        for line in changes.lines(gone):
            out(f"    {line}")
    out(f"  changes: {state.changes_summary()}")
    total = sum(p.seconds or 0 for p in state.phases if p.name in result.ran)
    out(f"  result: {state.result} ({total:.1f} s in notebooks); {result.message.splitlines()[0]}")
    for line in result.message.splitlines()[1:]:
        out(line)
    out(f"  records: {result.run_dir / 'index.html'}")
    card = result.run_dir / peercard.file_name(state.link, state.side) if state.side else None
    if card is not None and card.exists() and not removed:
        out(f"  this side's peer card, for the other operator: {card}")
    return result.exit_code


# -- confirmation before changes -----------------------------------------------------------------


def _asks_first(args: argparse.Namespace, target_name: str) -> bool:
    """Whether the command shows its plan and asks before changing anything: always against the real
    cloud (unless ``--yes``), and on any target with ``--confirm``. Without a terminal to ask on, and
    without ``--yes``, the command is refused before anything happens."""
    if target_name == "alibabacloud" and getattr(args, "emulator", None):
        raise UsageError("--emulator and --target alibabacloud exclude each other")
    if getattr(args, "dry_run", False) or not (target_name == "alibabacloud" or getattr(args, "confirm", False)):
        return False
    if args.yes:
        return False
    if not _on_a_terminal():
        where = "Alibaba Cloud (paid resources)" if target_name == "alibabacloud" else f"the {target_name}"
        raise UsageError(
            f"{args.command} changes resources on {where} and asks first, but there is no terminal to ask on: "
            f"review the plan (vpclink plan, or teardown --dry-run), then run again with --yes to go ahead"
        )
    return True


def _on_a_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):  # closed or replaced stdin
        return False


def _target_name(args: argparse.Namespace, recorded: RunState | None = None) -> str:
    return str(args.target or (recorded.target if recorded else "emulator"))


def _accounts(state: RunState, params: LinkParams) -> list[str]:
    uids = state.account_uids()
    return [
        f"{role}: account {uids.get(role, params.side(role).account_uid or '(UID not known yet)')} "
        f"(profile {params.side(role).profile}, region {params.side(role).region})"
        for role in ROLES
        if state.side in (None, role)
    ]


def _preview(
    out: Callable[[str], None],
    runner: Runner,
    parent: Path,
    params_file: str | Path,
    params: LinkParams,
    target: Target,
    todo: list[str],
    side: Acting,
    seed: Path | None = None,
) -> tuple[RunResult, Counter[str]]:
    """A dry run of ``todo`` in a run directory of its own (``<parent>/<time>-plan/``; with ``seed``,
    a run directory, starting from what that run recorded), printed step by step with the accounts
    acted in; returns the result and the changes it plans (create / change / delete counts)."""
    plan_dir = new_run_dir(parent, "plan")
    recorded = RunState.load(seed) if seed is not None else None
    carried = [p for p in recorded.phases if p.status == "ok" and p.name not in todo] if recorded else []
    RunState.create(
        parent,
        params_file,
        params,
        target=target.name,
        emulator=target.emulator,
        endpoint=target.endpoint,
        profiles_file=target.given_profiles,
        planned=phases.ordered({*todo, *(p.name for p in carried)}),
        selected=todo,
        dry_run=True,
        side=side,
        run_dir=plan_dir,
    )
    if seed is not None and recorded is not None:
        _carry(recorded, seed, plan_dir, carried)
    out(f"  plan first (no change is made), recorded in {plan_dir}:")
    result = runner.execute(plan_dir, todo, params)
    planned = _print_plans(out, plan_dir, result.state, params)
    return result, planned


def _carry(seed: RunState, seed_dir: Path, plan_dir: Path, carried: list[PhaseRecord]) -> None:
    """Give a plan run what ``seed`` recorded (outputs, identities, the peer cards received), so that
    its phases plan from the same IDs the run recorded."""
    with RunState.edit(plan_dir) as state:
        for record in carried:
            mine = state.add_phase(record.name)
            mine.status, mine.outputs, mine.inputs = "ok", dict(record.outputs), dict(record.inputs)
            mine.peer = dict(record.peer)
        state.identities = dict(seed.identities)
        state.peer_cards = [dict(c) for c in seed.peer_cards]
    for card in seed.peer_cards:
        target = plan_dir / card["file"]
        target.parent.mkdir(mode=0o700, exist_ok=True)
        write_file(target, peercard.read_bytes(confined(seed_dir, card["file"])))


def _ask(out: Callable[[str], None], question: str) -> bool:
    """Ask on the terminal; only "yes" goes ahead."""
    print(f"{question} Type yes to go ahead: ", end="", flush=True)
    answer = sys.stdin.readline()
    return answer.strip().lower() == "yes"


def _confirmed(
    out: Callable[[str], None], preview: RunResult, planned: Counter[str], verb: str, target: Target
) -> int | None:
    """After a preview: None to go ahead, else the exit code to stop with."""
    if preview.exit_code not in (EXIT_OK, EXIT_WAITING):
        out(f"  the plan failed ({preview.message.splitlines()[0]}); nothing was changed")
        return EXIT_FAILED
    if not planned:
        out("  the plan changes nothing")
        return None
    where = "Alibaba Cloud" if target.name == "alibabacloud" else f"the {target.name}"
    counts = ", ".join(f"{verb_} {n}" for verb_, n in planned.items())
    if _ask(out, f"{verb} on {where}: {counts} resource(s), in the accounts above."):
        return None
    out("  not confirmed: nothing was changed")
    return EXIT_FAILED


# -- commands ---------------------------------------------------------------------------------


def _check(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    if fleet_command.concerns(args):
        return fleet_command.check(args, out)
    params = _load_params(args.params)
    check_named_profiles(args, [(f"{r}.profile", params.side(r).profile) for r in ROLES])
    out(
        f"{args.params}: valid. Link {params.link}: {params.initiator.vpc_id} ({params.initiator.region}, "
        f"profile {params.initiator.profile}) <-> {params.acceptor.vpc_id} ({params.acceptor.region}, "
        f"profile {params.acceptor.profile}), {params.capacity}"
    )
    return EXIT_OK


def check_named_profiles(args: argparse.Namespace, named: list[tuple[str, str]]) -> None:
    """With ``--profiles FILE`` or ``--target alibabacloud``, the credential profiles a file names must
    be usable (``profiles.check_profiles``); ``UsageError`` (exit 2) listing each one that is not."""
    if not (getattr(args, "profiles", "") or getattr(args, "target", None) == "alibabacloud"):
        return
    problems = profiles.check_profiles(named, getattr(args, "profiles", "") or None)
    if problems:
        raise UsageError(f"{args.params}: credential profiles:\n  " + "\n  ".join(problems))


def _run(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    if fleet_command.concerns(args):
        return fleet_command.run(args, out)
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
    _refuse_changed_templates(args)
    ask = _asks_first(args, _target_name(args))
    records = Path(args.records)
    with ExitStack() as stack:
        target = stack.enter_context(_target(args, params, records))
        runner = Runner(target, notebooks_dir=args.notebooks, log=out, verbose=args.verbose)
        todo = with_discovery(selected)
        run_dir, state = _new_run(args.params, params, target, records, todo, dry_run=dry, side=_side(args))
        _import_card(args, run_dir, params)
        _header(out, "plan" if dry else "run", params, target, run_dir, state.side)
        if ask:
            preview, planned = _preview(out, runner, run_dir, args.params, params, target, todo, state.side)
            stop = _confirmed(out, preview, planned, "Change", target)
            if stop is not None:
                _stopped(run_dir, params)
                return stop
            out("  confirmed; applying:")
        result = runner.execute(run_dir, todo, params)
        if dry:
            _print_plans(out, run_dir, result.state, params)
        return _summary(out, result)


def _stopped(run_dir: Path, params: LinkParams) -> None:
    """A run whose plan was not confirmed: its record says so, and nothing else happened."""
    from .record.html import write_index
    from .record.picture import link_svg

    with RunState.edit(run_dir) as state:
        state.result = "not confirmed"
        for p in state.phases:
            if p.status == "pending":
                p.status = "skipped"
    write_index(run_dir, state, link_svg(params, state.shown_values()))


def _refuse_changed_templates(args: argparse.Namespace) -> None:
    """``--notebooks DIR``: the notebooks must be templates as committed (their parameters cells as the
    generator writes them): a template JupyterLab autosaved with an analyst's values is refused."""
    if not getattr(args, "notebooks", None):
        return
    from .notebook.generate import template_problems

    problems = template_problems(args.notebooks)
    if problems:
        raise UsageError(
            "--notebooks: these notebooks are not the templates a run may start from:\n  "
            + "\n  ".join(problems)
            + "\nRestore them (make notebooks, or your version control), and work on a run's copy instead: "
            "vpclink notebook PARAMS PHASE"
        )


def _resume(args: argparse.Namespace, out: Callable[[str], None], selected: list[str]) -> int:
    run_dir, state, params = _resumable(args.resume)
    given = safe_files.read_bytes(args.params, what="parameter file") if args.params else None
    if given is not None and given != safe_files.read_bytes(run_dir / PARAMS_COPY, what="parameter file"):
        raise UsageError(
            f"{args.params} differs from the parameters this run started with "
            f"({run_dir / PARAMS_COPY}); start a new run instead of resuming"
        )
    _refuse_changed_templates(args)
    ask = _asks_first(args, _target_name(args, state))
    ranged = bool(args.from_phase or args.to_phase)
    names = [p.name for p in state.phases]
    todo = [n for n in names if n in selected] if ranged else names
    rerun = frozenset(selected) if args.from_phase else frozenset()
    with ExitStack() as stack:
        target = stack.enter_context(_target(args, params, run_dir.parent, state))
        _import_card(args, run_dir, params)
        runner = Runner(target, notebooks_dir=args.notebooks, log=out, verbose=args.verbose)
        _header(out, "run (resumed)", params, target, run_dir, state.side)
        if ask:
            left = [n for n in todo if RunState.load(run_dir).phase(n).status != "ok" or n in rerun]
            preview, planned = _preview(
                out, runner, run_dir, run_dir / PARAMS_COPY, params, target, left, state.side, seed=run_dir
            )
            stop = _confirmed(out, preview, planned, "Change", target)
            if stop is not None:
                return stop
            out("  confirmed; applying:")
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
        profiles_file=target.given_profiles,
        planned=list(phases.RUN) if planned is None else planned,
        selected=todo,
        dry_run=dry_run,
        side=side,
    )


def _plan(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    args.dry_run = True
    return _run(args, out)


def _print_plans(out: Callable[[str], None], run_dir: Path, state: RunState, params: LinkParams) -> Counter[str]:
    """Every step the run's notebooks planned, whole, under the accounts acted in; the changes they
    plan, counted (create / change / delete), are returned and printed last."""
    planned: Counter[str] = Counter()
    out("  acting in:")
    for line in _accounts(state, params):
        out(f"    {line}")
    for p in state.phases:
        path = run_dir / p.notebook
        if p.status == "skipped" or not path.exists():
            continue
        plan = read_record(path, PLAN_MIME) or {}
        out(f"  {p.name}:")
        for step in plan.get("steps", []):
            out(f"    {step['intent']:<8} {step['side']:<10} {step['action']:<32} {step['target']}  ({step['detail']})")
            if step["intent"] in CHANGING:
                planned[CHANGING[step["intent"]]] += 1
    total = ", ".join(f"{verb} {n}" for verb, n in planned.items()) or "nothing to create, change or delete"
    out(f"  the plan: {total}")
    return planned


def _teardown(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    if fleet_command.concerns(args):
        return fleet_command.teardown(args, out)
    source = Path(args.source)
    dry = args.dry_run
    with ExitStack() as stack:
        if source.is_dir():
            if not (source / RUN_FILE).exists():
                raise UsageError(f"{source}: not a run directory (no {RUN_FILE}); give a run directory or PARAMS")
            run_dir, state, params = _resumable(str(source))
            ask = _asks_first(args, _target_name(args, state))
            target = stack.enter_context(_target(args, params, run_dir.parent, state))
            discovered = all(state.has_phase(n) and state.phase(n).status == "ok" for n in phases.DISCOVER)
            todo = list(phases.REMOVE) if discovered else [*phases.DISCOVER, *phases.REMOVE]
            runner = Runner(target, notebooks_dir=args.notebooks, log=out, verbose=args.verbose)
            _header(out, "teardown (dry run)" if dry else "teardown", params, target, run_dir, state.side)
            if dry or ask:
                preview, planned = _preview(
                    out, runner, run_dir, run_dir / PARAMS_COPY, params, target, todo, state.side, seed=run_dir
                )
                if dry:
                    out(f"  nothing was changed; {'this would remove the above' if planned else 'nothing to remove'}")
                    return preview.exit_code
                stop = _confirmed(out, preview, planned, "Remove", target)
                if stop is not None:
                    return stop
                out("  confirmed; removing:")
            with RunState.edit(run_dir) as state:
                state.dry_run = False
            rerun = frozenset(phases.REMOVE)
        else:
            params = _load_params(str(source))
            ask = _asks_first(args, _target_name(args))
            target = stack.enter_context(_target(args, params, Path(args.records)))
            todo = [*phases.DISCOVER, *phases.REMOVE]
            side = getattr(args, "side", None) or None
            runner = Runner(target, notebooks_dir=args.notebooks, log=out, verbose=args.verbose)
            run_dir, state = _new_run(source, params, target, args.records, todo, planned=todo, dry_run=dry, side=side)
            _header(out, "teardown (dry run)" if dry else "teardown", params, target, run_dir, state.side)
            if ask:
                preview, planned = _preview(out, runner, run_dir, source, params, target, todo, state.side)
                stop = _confirmed(out, preview, planned, "Remove", target)
                if stop is not None:
                    _stopped(run_dir, params)
                    return stop
                out("  confirmed; removing:")
            rerun = frozenset()
            if dry:
                result = runner.execute(run_dir, todo, params)
                _print_plans(out, run_dir, result.state, params)
                out("  nothing was changed")
                return _summary(out, result)
        return _summary(out, runner.execute(run_dir, todo, params, rerun=rerun))


# -- working copies -------------------------------------------------------------------------------


def _phase_named(name: str) -> phases.Phase:
    """A phase by its name, its notebook's stem (01_initiator) or its number (01)."""
    for phase in phases.ALL:
        if name in (phase.name, phase.notebook, phase.number, phase.notebook_file):
            return phase
    raise UsageError(f"{name!r} is not a phase; phases: {', '.join(p.notebook for p in phases.ALL)}")


def _working_run(args: argparse.Namespace, params: LinkParams) -> Path:
    """The run directory a working copy goes into: ``--run`` (its parameters must be these), else a new one."""
    if not args.run:
        run_dir = new_run_dir(args.records, params.link)
        write_file(run_dir / PARAMS_COPY, safe_files.read_bytes(args.params, what="parameter file"))
        return run_dir
    run_dir = Path(args.run)
    copy = confined(run_dir, PARAMS_COPY)
    if not copy.is_file():
        raise UsageError(f"--run {run_dir}: not a run directory (no {PARAMS_COPY})")
    if (run_dir / RUN_FILE).exists():
        RunState.load(run_dir)  # refuses a corrupt or hostile record before anything is written
    if safe_files.read_bytes(copy, what="parameter file") != safe_files.read_bytes(args.params, what="parameter file"):
        raise UsageError(f"--run {run_dir}: its parameters ({copy}) differ from {args.params}; leave out --run")
    return run_dir


def _notebook(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    import nbformat
    import yaml
    from papermill.parameterize import parameterize_notebook

    from .notebook.generate import checkout_notebooks
    from .notebook.template import notebook as template_notebook

    params = _load_params(args.params)
    phase = _phase_named(args.phase)
    if args.target == "emulator" and not (args.endpoint and args.profiles):
        raise UsageError(
            "--target emulator: give --endpoint HOST:PORT and --profiles FILE, as `vpclink emulator serve PARAMS` "
            "prints them (the emulator must keep running while you work)"
        )
    if args.endpoint and args.target != "emulator":
        raise UsageError("--endpoint: only with --target emulator")
    run_dir = _working_run(args, params)
    recorded = RunState.find(run_dir)
    side = args.side or (recorded.side if recorded else None)
    card = recorded.peer_cards[-1]["file"] if recorded and recorded.peer_cards else ""
    values: dict[str, Any] = {
        "params_file": str((run_dir / PARAMS_COPY).resolve()),
        "run_dir": str(run_dir.resolve()),
        "target": args.target or "",
        "endpoint": args.endpoint,
        "profiles_file": str(Path(args.profiles).resolve()) if args.profiles else "",
        "side": side or "",
        "peer_card": str(confined(run_dir, card).resolve()) if card else "",
        "capture_dir": "",
    }
    if args.papermill_params:
        values.update(apply=bool(args.apply), interactive=False)
        Path(args.papermill_params).write_text(yaml.safe_dump(values, sort_keys=False), encoding="utf-8")
        template = checkout_notebooks() / phase.notebook_file
        shown = template if template.exists() else Path("DIR") / phase.notebook_file
        out(f"parameters for papermill written to {args.papermill_params} (run directory {run_dir})")
        out(f"  papermill {shlex.quote(str(shown))} OUT.ipynb -f {shlex.quote(args.papermill_params)}")
        if not template.exists():
            out("  (write the templates into DIR first: python -m vpclink.notebook.generate DIR)")
        return EXIT_OK
    path = run_dir / phase.notebook_file
    if path.exists() or path.is_symlink():
        raise UsageError(
            f"{path} exists already (a working copy or the record of this phase): open it with "
            f"jupyter lab {shlex.quote(str(path))}, or leave out --run for a new run"
        )
    nb = template_notebook(phase)
    nb.metadata["papermill"] = {}  # papermill's parameterize expects what its own loader adds
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
    nb = parameterize_notebook(nb, values, kernel_name="python3", language="python")
    for cell in nb.cells:
        if not cell.metadata.get("tags"):
            cell.metadata.pop("tags", None)
    nb.metadata.pop("papermill", None)  # a working copy, not a papermill output
    write_file(path, (nbformat.writes(nb) + "\n").encode("utf-8"))
    out(f"working copy of {phase.notebook} for link {params.link}: {path}")
    out(f"  records of this run: {run_dir} (the notebook keeps run.json as its cells read or change the cloud)")
    out(f"  open it: jupyter lab {shlex.quote(str(path))}")
    if not args.target:
        out(
            "  it plans offline from the parameters; for the emulator: vpclink emulator serve PARAMS, then "
            "vpclink notebook with the --target emulator --endpoint --profiles it prints"
        )
    return EXIT_OK


def _serve(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    params = _load_params(args.params)
    with embedded.start(params, args.records) as target:
        out(
            f"the emulator for link {params.link} is serving at {target.control_url} "
            f"(state in {embedded.state_dir(args.records)}); Ctrl-C stops it"
        )
        out("Working copies of the phase notebooks for this session (one per phase, in one run directory):")
        command = (
            f"vpclink notebook {shlex.quote(args.params)} PHASE --target emulator --endpoint {target.endpoint} "
            f"--profiles {shlex.quote(target.profiles_file)}"
        )
        out(f"  {command}")
        out("  (for the next phases, add --run RUN_DIR with the run directory it printed)")
        out("Or, in a notebook's parameters cell:")
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


def _migrate(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    from . import migrate

    params = _load_params(args.params)
    try:
        migrate.refuse_bad_input(params, args.to_backend)
    except migrate.MigrateInputError as e:
        raise UsageError(str(e)) from None
    if args.target == "alibabacloud" and not (args.yes or args.dry_run):
        raise UsageError("--yes: a migration changes paid resources; review it with --dry-run, then give --yes")
    run_dir = migrate.command.records_dir(args.records, params)
    # the command that continues a migration that stopped: the same one (--yes: it was given to start it)
    again = ["vpclink", "migrate", args.params, "--to", args.to_backend, "--records", args.records]
    again += ["--emulator", args.emulator] if args.emulator else []
    again += ["--profiles", args.profiles] if args.profiles else []
    again += ["--target", "alibabacloud", "--yes"] if args.target == "alibabacloud" else []
    with _target(args, params, Path(args.records)) as target:
        _header(out, "migrate", params, target, run_dir)
        return migrate.command.execute(
            params,
            args.to_backend,
            target,
            run_dir,
            out,
            dry_run=args.dry_run,
            again=shlex.join(again),
            params_file=args.params,
        )


_COMMANDS = {
    "run": _run,
    "migrate": _migrate,
    "plan": _plan,
    "check": _check,
    "example": _example,
    "teardown": _teardown,
    "notebook": _notebook,
    "emulator": _emulator,
}


if __name__ == "__main__":  # python -m vpclink.cli, as older fleets and scripts call it
    from .processes import leave

    leave(main())
