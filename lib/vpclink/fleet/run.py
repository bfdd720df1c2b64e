"""Running a fleet: each link as the single-link command runs it, many at once, under rate control and
shared API quotas; then the fleet's record. Resume and teardown likewise.

A fleet run directory (``<records>/<UTC time>-<fleet>/``)::

    fleet.yaml            the fleet file as it was when the run started
    fleet.json, index.html  the fleet's record (``record``)
    params/<link>.yaml    each link's parameter file (``Fleet.link_document``)
    links/<time>-<link>/  each link's complete single-link record (``vpclink run --records links``)
    logs/<link>.log       what each link's command printed
    .pids/<link>.pid      the command running a link now (so a resume can stop one left behind)

Each link runs in a Dask task (``engine``) as a command with the CLI's stable contract:
``python -m vpclink.cli run params/<link>.yaml --records links [target options]``, or ``run --resume
LINK_RUN_DIR`` when the link has a run directory already, or ``teardown LINK_RUN_DIR``. On the fleet
command's machine that command is forked from the fleet's link fork server (``link_forks``), which
imported the CLI once for every link; elsewhere (a worker of a ``--scheduler`` cluster), or if that
server has gone, it is a subprocess. Its result is read from its own ``run.json``. So a link of a
fleet behaves exactly as the same link run on its own: same phases, notebooks, record and ledger. The
command gets the coordinator's address in its environment (``quota.COORDINATOR_ENV``): its kernels'
API calls share the fleet's quotas.

Failures that are not the link's: a link whose kernel or process died (papermill loses a kernel now
and then under load) is resumed in place, at most ``retries`` times; a task whose Dask worker died is
rerun by Dask and, past that, submitted again within the same bound. Each try run again is recorded with
why (``LinkOutcome.retried``, ``fleet.json``'s ``links[].retried``); a phase that failed on its own (its
error is not a dead kernel's) is not run again: the link fails. ``kill -9`` of the fleet command,
then :func:`resume_fleet`: links that verified are not run again; the others resume their own run
directories, after any command still running one of them from before is stopped (a forked command
ends with the fleet command, as its link fork server kills them all; a subprocess may be left behind).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from .. import kernel_forks, safe_files, scratch
from ..params import ParamsError
from . import coordinator, link_forks, quota, record
from .engine import DEFAULT_WORKERS, Engine
from .model import Fleet
from .rate import RateControl, Threshold
from .spec import load_fleet

FLEET_COPY = "fleet.yaml"
PARAMS_DIR = "params"
LINKS_DIR = "links"
LOGS_DIR = "logs"
PIDS_DIR = ".pids"
RUN_FILE = "run.json"
DEFAULT_RETRIES = 2
# What a phase's error says when its kernel died or never answered (a start starved on a busy machine)
# rather than the phase failing (nbclient, papermill, jupyter_client).
KERNEL_DIED = re.compile(r"DeadKernelError|Kernel died|KernelDied|Kernel didn't respond", re.IGNORECASE)
# The command's goal in each mode: the run's result when its exit code is 0.
GOALS = {"run": "verified", "plan": "planned", "teardown": "torn down"}
# How the command's log states its rate control. A plan says what ``run`` would do with the same
# options (each link's plan runs under the same rate control, but a plan is read-only).
DOING = {"run": "runs", "plan": "vpclink run with these options would run", "teardown": "tears down"}
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class FleetError(RuntimeError):
    """A fleet run that cannot go on (a run directory that is not a fleet's, a cluster not reached)."""


# -- options and results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FleetOptions:
    """How to run a fleet (the CLI's options).

    ``target_args``: the single-link command's target options, passed to every link as they are
    (``("--emulator", URL)``, or ``("--target", "alibabacloud", "--yes")``, plus ``--notebooks DIR``).
    ``quotas``: overrides of the quota table (``quota.parse_overrides`` of the fleet file's
    ``quotas:``). ``coordinator_host``: where the coordinator listens; by default loopback, or with a
    ``scheduler`` this machine's address towards it."""

    records: Path = Path("runs")
    target_args: tuple[str, ...] = ()
    scheduler: str | None = None
    max_concurrency: str = "10"
    max_errors: str = "0"
    quotas: Mapping[str, quota.Limit] = field(default_factory=dict)
    retries: int = DEFAULT_RETRIES
    workers: int | None = None  # local cluster: worker processes (default: engine.DEFAULT_WORKERS)
    coordinator_host: str | None = None
    log: Callable[[str], None] = print


@dataclass(frozen=True)
class LinkTask:
    """What a worker needs to run one link (plain data: it travels to the worker)."""

    name: str
    mode: str  # run | plan | teardown
    fleet_dir: str
    params_file: str
    run_dir: str | None  # the link's run directory when known
    cli_args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    retries: int


@dataclass
class LinkOutcome:
    """How one link ended, as the fleet's record shows it."""

    name: str
    ok: bool
    state: str  # verified | planned | torn down | failed | nothing to remove | ...
    exit_code: int | None = None
    run_dir: str | None = None  # relative to the fleet run directory
    result: str = ""
    message: str = ""
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    max_rss_kb: int = 0
    attempts: int = 0
    ping: dict[str, str] = field(default_factory=dict)
    phases: list[dict[str, Any]] = field(default_factory=list)
    # Each try that was run again, and why: ``{"attempt": n, "exit_code": code, "reason": text}`` (the
    # link's own record keeps the failed phase's try beside the new one: ``phases[].attempts``).
    retried: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FleetResult:
    run_dir: Path
    exit_code: int
    record: dict[str, Any]


# -- one link, on a worker ------------------------------------------------------------------------------


def _read_run(run_dir: Path) -> dict[str, Any] | None:
    try:
        data = safe_files.read_json(run_dir / RUN_FILE, max_bytes=16 << 20, max_depth=24, what="run record")
    except (OSError, safe_files.UnsafeFile):
        return None
    return data if isinstance(data, dict) else None


def find_link_run(links_dir: str | Path, link: str) -> Path | None:
    """The newest run directory of ``link`` directly under ``links_dir`` (by its ``run.json``), if any."""
    found: list[tuple[str, Path]] = []
    base = Path(links_dir)
    if not base.is_dir():
        return None
    for child in base.iterdir():
        if child.is_symlink() or not child.is_dir():
            continue
        data = _read_run(child)
        if data is not None and data.get("link") == link and not data.get("dry_run"):
            found.append((str(data.get("created") or ""), child))
    return max(found, key=lambda f: (f[0], f[1].name))[1] if found else None


def _dead_kernel(data: Mapping[str, Any] | None) -> str | None:
    """``"<phase>: <error>"`` when the try's failure was a kernel that died or never answered, else None.

    Only the failure that ended the try counts (the failed phase that ended last): a resume whose
    preflight fails on its own leaves the phase that lost its kernel before still marked failed."""
    failed = [p for p in (data or {}).get("phases") or [] if isinstance(p, dict) and p.get("status") == "failed"]
    if not failed:
        return None
    last = max(failed, key=lambda p: str(p.get("ended") or ""))
    error = str(last.get("error"))
    if not KERNEL_DIED.search(error):
        return None
    return f"{last.get('name')}: {error.strip().splitlines()[0][:300]}"


def _pid_file(task: LinkTask) -> Path:
    return Path(task.fleet_dir) / PIDS_DIR / f"{_SAFE.sub('-', task.name)}.pid"


def stop_left_behind(task: LinkTask) -> bool:
    """Stop a command still running this link from before (its fleet command or worker was killed),
    with everything it started; True if there was one. Only a process whose command line names this
    fleet run directory and this link is stopped."""
    import psutil  # type: ignore[import-untyped]  # distributed's dependency

    path = _pid_file(task)
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    try:
        proc = psutil.Process(pid)
        cmdline = " ".join(proc.cmdline())
    except psutil.Error:
        path.unlink(missing_ok=True)
        return False
    ours = task.fleet_dir in cmdline and _names_link(cmdline, task)
    if pid == os.getpid() or not (ours or link_forks.is_forked_command(pid, task.fleet_dir, task.name)):
        return False
    procs = [proc, *proc.children(recursive=True)]
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=30)
    path.unlink(missing_ok=True)
    return True


def _names_link(cmdline: str, task: LinkTask) -> bool:
    return task.params_file in cmdline or (task.run_dir is not None and task.run_dir in cmdline)


def _command(task: LinkTask, run_dir: Path | None) -> list[str]:
    links = str(Path(task.fleet_dir) / LINKS_DIR)
    if task.mode == "run":
        argv = ["run", "--resume", str(run_dir)] if run_dir else ["run", task.params_file, "--records", links]
    elif task.mode == "plan":
        argv = ["plan", task.params_file, "--records", links]
    elif task.mode == "teardown":
        # Without a run directory (the link never started, or its command died before writing one) the
        # link's parameters find by their tags whatever an earlier run may have made: teardown is true.
        argv = ["teardown", str(run_dir)] if run_dir else ["teardown", task.params_file, "--records", links]
    else:
        raise ValueError(f"mode {task.mode!r}: run, plan or teardown")
    return [sys.executable, "-m", "vpclink.cli", *argv, *task.cli_args]


def _spawn(task: LinkTask, argv: list[str], attempt: int) -> tuple[int, float, int]:
    """Run the link's command; (exit code, CPU seconds of it and its children, peak RSS in KB). Forked
    by the fleet's link fork server when this worker can reach it (``link_forks``), else a subprocess."""
    fleet = Path(task.fleet_dir)
    log_path = fleet / LOGS_DIR / f"{_SAFE.sub('-', task.name)}.log"
    env = {**os.environ, **dict(task.env)}
    server = env.pop(link_forks.FORKS_ENV, None)
    pid_file = _pid_file(task)
    with open(log_path, "a", encoding="utf-8") as log:
        os.chmod(log_path, 0o600)
        shown = " ".join(argv[1:]).replace(task.fleet_dir + os.sep, "")
        log.write(f"--- {datetime.now(timezone.utc).isoformat(timespec='seconds')} attempt {attempt}: {shown}\n")
        log.flush()
        if server and link_forks.supported():
            try:
                return link_forks.run(
                    server,
                    argv,
                    cwd=task.fleet_dir,
                    env=env,
                    log=str(log_path),
                    link=task.name,
                    started=lambda pid: pid_file.write_text(f"{pid}\n"),
                )
            except link_forks.LinkForksGone:
                pass  # not started (another machine's worker, a server that has gone): a subprocess
            finally:
                pid_file.unlink(missing_ok=True)
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=task.fleet_dir,
            start_new_session=True,
        )
        pid_file.write_text(f"{proc.pid}\n")
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            raise
        finally:
            pid_file.unlink(missing_ok=True)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime, int(usage.ru_maxrss)


def run_link(task: LinkTask) -> LinkOutcome:
    """Run (or plan, or tear down) one link to its end on this worker; see the module docstring."""
    began = time.perf_counter()
    fleet = Path(task.fleet_dir)
    links = fleet / LINKS_DIR
    stop_left_behind(task)
    run_dir = Path(task.run_dir) if task.run_dir else (find_link_run(links, task.name) if task.mode == "run" else None)
    attempts, cpu, rss = 0, 0.0, 0
    code: int | None = None
    retried: list[dict[str, Any]] = []
    while True:
        data = _read_run(run_dir) if run_dir else None
        if task.mode == "run" and data is not None and data.get("result") == GOALS["run"]:
            if attempts == 0:
                return _outcome(task, run_dir, data, 0, began, 0, 0.0, 0, "verified by an earlier run: not run again")
            break
        argv = _command(task, run_dir)
        attempts += 1
        started = time.time()
        code, used, peak = _spawn(task, argv, attempts)
        cpu, rss = cpu + used, max(rss, peak)
        if run_dir is None or task.mode == "plan":
            newest = find_link_run(links, task.name) if task.mode != "plan" else _newest_plan(links, task.name, started)
            run_dir = newest or run_dir
        data = _read_run(run_dir) if run_dir else None
        why = _died(code, data)
        if code == 0 or why is None or attempts > task.retries:
            break
        retried.append({"attempt": attempts, "exit_code": code, "reason": why})
    outcome = _outcome(task, run_dir, data, code, began, attempts, cpu, rss, "")
    outcome.retried = retried
    return outcome


def _died(code: int, data: Mapping[str, Any] | None) -> str | None:
    """Why a try of the link's command failed for a reason that is not the link's (its kernel or its
    process died), or None when it failed on its own (a phase failed: running it again would not help)."""
    if code < 0:
        return f"the link's command was killed by signal {-code}"
    kernel = _dead_kernel(data)
    if kernel is not None:
        return kernel
    if code != 0 and data is None:
        return f"the link's command exited {code} before its record was written"
    return None


def _newest_plan(links: Path, link: str, since: float) -> Path | None:
    best: Path | None = None
    for child in links.iterdir() if links.is_dir() else []:
        data = _read_run(child)
        if data and data.get("link") == link and data.get("dry_run") and child.stat().st_mtime >= since - 1:
            best = child if best is None or child.name > best.name else best
    return best


def _outcome(
    task: LinkTask,
    run_dir: Path | None,
    data: Mapping[str, Any] | None,
    code: int | None,
    began: float,
    attempts: int,
    cpu: float,
    rss: int,
    message: str,
) -> LinkOutcome:
    result = str((data or {}).get("result") or "")
    goal = GOALS[task.mode]
    ok = code == 0 and (result == goal or (task.mode == "run" and result.startswith(goal)))
    if data is None and code is not None and code != 0:
        state = "failed"
        message = message or f"the link's command exited {code} before its record was written (see logs/)"
    else:
        state = result if ok else ("failed" if result in ("", "running") else result)
    if not message and not ok:
        message = _failure(data, code)
    outputs = dict((data or {}).get("outputs") or {})
    ping = {
        k: str(outputs[f"ping_{k}"])
        for k in ("initiator_to_acceptor", "acceptor_to_initiator")
        if f"ping_{k}" in outputs
    }
    phases = [
        {"name": p.get("name"), "status": p.get("status"), "seconds": p.get("seconds")}
        for p in (data or {}).get("phases") or []
        if isinstance(p, dict)
    ]
    return LinkOutcome(
        task.name,
        ok,
        state,
        code,
        os.path.relpath(run_dir, task.fleet_dir) if run_dir else None,
        result,
        message,
        round(time.perf_counter() - began, 2),
        round(cpu, 2),
        rss,
        attempts,
        ping,
        phases,
    )


def _failure(data: Mapping[str, Any] | None, code: int | None) -> str:
    for p in (data or {}).get("phases") or []:
        if isinstance(p, dict) and p.get("status") in ("failed", "waiting") and p.get("error"):
            return f"{p.get('name')}: {str(p['error']).splitlines()[0][:300]}"
    return f"exit code {code}" if code is not None else "did not run"


# -- the fleet, on the machine that runs the command ------------------------------------------------------


def new_fleet_dir(records: str | Path, name: str) -> Path:
    """A fresh ``<records>/<YYYYmmddTHHMMSSZ>-<fleet>/`` (``-2`` for a second one in the same second)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    base = Path(records) / f"{stamp}-{_SAFE.sub('-', name)}"
    base.parent.mkdir(parents=True, exist_ok=True)
    candidate, n = base, 2
    while True:
        try:
            candidate.mkdir(mode=0o700)
            return candidate
        except FileExistsError:
            candidate, n = base.with_name(f"{base.name}-{n}"), n + 1


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _prepare(run_dir: Path, fleet: Fleet) -> dict[str, Path]:
    """Each link's parameter file in the run directory, and the directories the links use."""
    for sub in (PARAMS_DIR, LINKS_DIR, LOGS_DIR, PIDS_DIR):
        (run_dir / sub).mkdir(mode=0o700, exist_ok=True)
    files = {}
    for link in fleet.links:
        path = run_dir / PARAMS_DIR / f"{_SAFE.sub('-', link.name)}.yaml"
        if not path.exists():
            _write_private(path, yaml.safe_dump(fleet.link_document(link.name), sort_keys=False))
        files[link.name] = path.resolve()
    return files


def _reachable_address(scheduler: str) -> str:
    """This machine's address on the route to the scheduler (where its workers can reach back)."""
    parts = urlsplit(scheduler if "://" in scheduler else f"tcp://{scheduler}")
    host = parts.hostname or "127.0.0.1"
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((host, parts.port or 8786))  # no packet is sent: this only picks the route
            return str(s.getsockname()[0])
    except OSError:
        return "127.0.0.1"


def run_fleet(fleet_file: str | Path, options: FleetOptions, mode: str = "run") -> FleetResult:
    """``vpclink run|plan|teardown FLEET``: a new fleet run directory, then every link under rate
    control (``plan``: each link's plan, no mutating call; ``teardown``: each link's teardown by its
    parameters, which finds what the fleet made by its tags)."""
    if mode not in GOALS:
        raise ValueError(f"mode {mode!r}: {', '.join(GOALS)}")
    fleet = load_fleet(fleet_file)  # ParamsError before anything is created or called
    run_dir = new_fleet_dir(options.records, fleet.name if mode == "run" else f"{fleet.name}-{mode}")
    _write_private(run_dir / FLEET_COPY, safe_files.read_bytes(fleet_file, what="fleet file").decode("utf-8"))
    return _execute(run_dir, fleet, mode, options, previous=None)


def resume_fleet(run_dir: str | Path, options: FleetOptions) -> FleetResult:
    """``vpclink run --resume FLEET_RUN_DIR``: links that verified are not run again; the others resume
    their own run directories (or start, if they never did)."""
    path, fleet, previous = _load_fleet_dir(run_dir)
    return _execute(path, fleet, "run", _with_recorded(options, previous), previous=previous)


def teardown_fleet(run_dir: str | Path, options: FleetOptions) -> FleetResult:
    """``vpclink teardown FLEET_RUN_DIR``: each link's own teardown of its run directory, under the same
    rate control; a link that never started has nothing to remove."""
    path, fleet, previous = _load_fleet_dir(run_dir)
    return _execute(path, fleet, "teardown", _with_recorded(options, previous), previous=previous)


def is_fleet_run(path: str | Path) -> bool:
    """Whether ``path`` is a fleet run directory (the CLI's ``--resume`` and ``teardown`` take either)."""
    return (Path(path) / record.FLEET_JSON).is_file() and (Path(path) / FLEET_COPY).is_file()


def load_fleet_dir(run_dir: str | Path) -> Fleet:
    """The fleet of a fleet run directory (its own copy of the fleet file), checked (``FleetError``)."""
    return _load_fleet_dir(run_dir)[1]


def recorded_target(run_dir: str | Path) -> tuple[str, ...]:
    """The target options the last command on a fleet run directory gave its links."""
    history = record.read(run_dir).get("history") or []
    last = history[-1] if history and isinstance(history[-1], dict) else {}
    target = last.get("target") or []
    return tuple(str(a) for a in target) if isinstance(target, list) else ()


def _load_fleet_dir(run_dir: str | Path) -> tuple[Path, Fleet, dict[str, Any]]:
    path = Path(run_dir)
    if not is_fleet_run(path):
        raise FleetError(f"{path}: not a fleet run directory (no {record.FLEET_JSON} and {FLEET_COPY})")
    try:
        fleet = load_fleet(path / FLEET_COPY)
    except ParamsError as e:
        raise FleetError(f"{path / FLEET_COPY}: the fleet file of this run is no longer valid: {e}") from None
    previous = record.read(path)
    if previous.get("fleet") != fleet.name:
        raise FleetError(f"{path}: {record.FLEET_JSON} is for fleet {previous.get('fleet')!r}, not {fleet.name!r}")
    return path, fleet, previous


def _with_recorded(options: FleetOptions, previous: Mapping[str, Any]) -> FleetOptions:
    """A resume keeps the quota overrides the run started with unless new ones are given."""
    if options.quotas or not previous.get("quota_overrides"):
        return options
    recorded = previous["quota_overrides"]
    try:  # read back through the same checks as the fleet file's: the record is untrusted input
        given = {k: {"calls": v["calls"], "window_s": v["window_s"]} for k, v in recorded.items()}
        return replace(options, quotas=quota.parse_overrides(given))
    except (AttributeError, KeyError, TypeError, quota.QuotaError) as e:
        raise FleetError(f"{record.FLEET_JSON}: quota_overrides cannot be used ({e})") from None


def _execute(
    run_dir: Path, fleet: Fleet, mode: str, options: FleetOptions, previous: Mapping[str, Any] | None
) -> FleetResult:
    if not options.quotas and fleet.quotas:  # the fleet file's quotas: unless the caller gives others
        options = replace(options, quotas=dict(fleet.quotas))
    log = options.log
    max_concurrency = Threshold.parse(options.max_concurrency, "--max-concurrency")
    max_errors = Threshold.parse(options.max_errors, "--max-errors")
    files = _prepare(run_dir, fleet)
    names = [link.name for link in fleet.links]
    rate = RateControl(names, max_concurrency, max_errors)
    outcomes: dict[str, LinkOutcome] = {}
    # Each link's run directory is found under links/ by its run.json, never taken from the previous
    # fleet.json: a path read from a record could point anywhere, and a teardown must not follow it.
    known_dirs: dict[str, str] = {}
    for name in names:
        found = find_link_run(run_dir / LINKS_DIR, name)
        if found is not None:
            known_dirs[name] = os.path.relpath(found, run_dir)
    if mode == "run":
        for name in names:
            data = _read_run(run_dir / known_dirs[name]) if name in known_dirs else None
            if data is not None and data.get("result") == GOALS["run"]:
                rate.skip(name, "verified by an earlier run of this fleet: not run again")
                task = _task(run_dir, name, mode, files, known_dirs, options, ())
                outcomes[name] = _outcome(task, run_dir / known_dirs[name], data, 0, time.perf_counter(), 0, 0, 0, "")
                outcomes[name].message = "verified earlier: not run again"
    book = record.Book(run_dir, fleet, mode, options, previous)
    log(f"vpclink {mode}: fleet {fleet.name}, {len(names)} link(s); records: {run_dir}")
    for line in rate.describe(DOING[mode]):
        log(f"  {line}")
    host = options.coordinator_host or (_reachable_address(options.scheduler) if options.scheduler else "127.0.0.1")
    service = coordinator.serve(host, 0, options.quotas)
    # one kernel fork server for every link run on this machine (vpclink.kernel_forks): the runbook
    # library is imported once for the fleet, not once per link; a link on another machine starts its own
    forks_dir = scratch.private_dir("kernels") if kernel_forks.supported() else None
    forks = kernel_forks.KernelForks.start(forks_dir, shared=True) if forks_dir else None
    # and one link fork server (vpclink.fleet.link_forks): the CLI is imported once, not once per link
    commands = _link_forks(run_dir, forks_dir)
    shared = {kernel_forks.FORKS_ENV: forks.address} if forks else {}
    shared.update({link_forks.FORKS_ENV: commands.address} if commands else {})
    env = tuple({**service.env(), **shared}.items())
    try:
        workers = options.workers or DEFAULT_WORKERS
        # a link's task only waits on its subprocess: enough threads for the concurrency, no more
        threads = max(1, -(-rate.concurrency // workers))
        with Engine(options.scheduler, workers=workers, threads_per_worker=threads) as engine:
            book.started(engine.where, rate, outcomes, known_dirs)
            _loop(engine, run_dir, mode, files, known_dirs, options, env, rate, outcomes, book)
            book.quota_stats = service.stats()
    finally:
        service.stop()
        if commands is not None:
            book.commands_cpu_seconds = round(commands.close(), 2)
        if forks is not None:
            book.kernels_cpu_seconds = round(forks.close(), 2)
        if forks_dir is not None:
            scratch.release(forks_dir)
    final = book.finish(rate, outcomes, known_dirs)
    ok = all(o.ok for o in outcomes.values()) and not rate.not_started and len(outcomes) == len(names)
    log(f"  {record.summary_line(final)}")
    log(f"  records: {run_dir / record.INDEX_HTML}")
    return FleetResult(run_dir, 0 if ok else 1, final)


def _link_forks(run_dir: Path, socket_dir: str | None) -> link_forks.LinkForks | None:
    """The fleet's link fork server, listening in ``socket_dir`` (private); None where links cannot be
    forked, or when no process can be started (links then run as subprocesses)."""
    if socket_dir is None or not link_forks.supported():
        return None
    try:
        return link_forks.LinkForks.start(str(run_dir.resolve()), socket_dir)
    except OSError:
        return None


def _task(
    run_dir: Path,
    name: str,
    mode: str,
    files: Mapping[str, Path],
    known_dirs: Mapping[str, str],
    options: FleetOptions,
    env: tuple[tuple[str, str], ...],
) -> LinkTask:
    rel = known_dirs.get(name)
    return LinkTask(
        name=name,
        mode=mode,
        fleet_dir=str(run_dir.resolve()),
        params_file=str(files[name]),
        run_dir=str((run_dir / rel).resolve()) if rel and mode != "plan" else None,
        cli_args=tuple(options.target_args),
        env=env,
        retries=options.retries,
    )


def _loop(
    engine: Engine,
    run_dir: Path,
    mode: str,
    files: Mapping[str, Path],
    known_dirs: dict[str, str],
    options: FleetOptions,
    env: tuple[tuple[str, str], ...],
    rate: RateControl,
    outcomes: dict[str, LinkOutcome],
    book: record.Book,
) -> None:
    log = options.log
    resubmits: dict[str, int] = {}
    lost: dict[str, list[dict[str, Any]]] = {}  # per link, the tasks lost with their worker
    by_key: dict[str, str] = {}
    pending = engine.as_completed()
    running = 0

    # The record is rewritten once per event (links started, a link ended), after every change it makes:
    # a fleet killed at any moment leaves a record that a resume continues from.
    def start(names: Sequence[str]) -> None:
        nonlocal running
        for name in names:
            task = _task(run_dir, name, mode, files, known_dirs, options, env)
            key = f"vpclink-{mode}-{_SAFE.sub('-', name)}-{uuid.uuid4().hex[:8]}"
            by_key[key] = name
            pending.add(engine.submit(run_link, task, key=key))
            running += 1
            log(f"  {name:<32} started")

    start(rate.ready())
    if not running:
        return
    book.update(rate, outcomes, known_dirs)
    for future in pending:
        running -= 1
        name = by_key[str(future.key)]
        try:
            outcome: LinkOutcome = future.result()
        except Exception as e:  # the task did not return: its worker died, or the task itself failed
            if engine.died(e) and resubmits.get(name, 0) < options.retries:
                resubmits[name] = resubmits.get(name, 0) + 1
                why = f"the Dask worker running it died ({type(e).__name__})"
                lost.setdefault(name, []).append({"attempt": None, "exit_code": None, "reason": why})
                log(f"  {name:<32} its worker died; submitted again ({resubmits[name]} of {options.retries})")
                rate.requeue(name)
                start(rate.ready())
                book.update(rate, outcomes, known_dirs)
                continue
            outcome = LinkOutcome(name, False, "failed", message=f"{type(e).__name__}: {e}"[:500])
        outcome.retried = [*lost.get(name, []), *outcome.retried]
        outcomes[name] = outcome
        if outcome.run_dir:
            known_dirs[name] = outcome.run_dir
        rate.finished(name, outcome.ok, outcome.message)
        line = f"  {name:<32} {outcome.state} ({outcome.seconds:.1f} s)"
        log(line + (f"  {outcome.message}" if outcome.message and not outcome.ok else ""))
        if rate.stopped and rate.stopped_by == name:
            log(f"  the fleet stops starting links: {len(rate.failed)} failed, max_errors {rate.max_errors}")
        start(rate.ready())
        book.update(rate, outcomes, known_dirs)
        if running == 0 and rate.done:
            break
