"""The emulator as a run's default target: started in this process, or one already running.

This is the only vpclink module that imports ``alicloud_emulator``, and only inside :func:`start`.
Everything else reaches the emulator over HTTP through the official SDKs, as it reaches the cloud.

:func:`start` serves the emulator on a loopback port in a thread of the runner, with its state in
``<records>/.emulator/state.db``, so ``run``, ``plan``, ``teardown`` and a second ``run`` all see one
cloud. The world it starts with is built from the parameters (:func:`world_for`); for the tutorial's
example it is exactly the emulator's built-in world. :func:`attach` uses an emulator that is already
running. Both read the accounts from the control API and write a credential profiles file, named as
the parameters name the profiles, into a private temporary directory outside the records. With two
operators (``side``) the file holds that side's profile only, as the operator's own would. Given the
user's own profiles file (``vpclink run --emulator URL --profiles FILE``: ``RamRoleArn`` profiles of a
central account, say), :func:`attach` uses it as it is and writes nothing.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import json
import secrets
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from filelock import FileLock

from . import scratch
from .locks import private_dir, state_home
from .params import ROLES, LinkParams, Role, Side
from .profiles import AkProfile, write_profiles
from .targets import Target, TargetError, profile_secrets

EMULATOR_DIR = "emulator"
# Seconds of virtual time the embedded emulator's lists lag behind its writes, unless the built-in world
# says otherwise: the cloud's describes are eventually consistent, and terraform-provider-alicloud polls
# every 3 s at least after a create (``BuildStateConf``'s MinTimeout, alicloud/common.go). A describe
# naming a resource by its ID is not lagged (``applies_to: lists``).
READ_LAG = 3.0
STATE_DB = "state.db"
START_LOCK = "start.lock"


def state_dir(records: str | Path | None = None) -> Path:
    """Where the embedded emulator keeps its state: the per-user state directory, the same for every
    records directory (``records`` is accepted for the callers that still name one, and ignored)."""
    return private_dir(state_home() / EMULATOR_DIR)


def _default_world() -> dict[str, Any]:
    from alicloud_emulator.world import default_world

    return default_world()


# ---------------------------------------------------------------------------------------------
# The world that matches a parameter file


def world_for(params: LinkParams, timing_scale: float | None = None, read_lag: float | None = None) -> dict[str, Any]:
    """A world with both accounts, their VPCs, vSwitches, security groups and Running instances
    under the IDs and CIDRs of the parameters. A side that is exactly a VPC of the built-in world
    takes it unchanged (the tutorial's example gives the built-in world, demo delays included);
    other sides get IDs derived from their VPC ID and a fresh AccessKey. The seed, from which the
    emulator derives the IDs it generates, is new each time: two worlds never generate the same ID.
    Reads lag as the built-in world says, or ``read_lag`` seconds (0: off)."""
    base = _default_world()
    by_vpc = {v["id"]: v for v in base["vpcs"] if v.get("id")}
    by_name = {a["name"]: a for a in base["accounts"]}
    accounts: list[dict[str, Any]] = []
    vpcs: list[dict[str, Any]] = []
    all_builtin = True
    for role in ROLES:
        side = params.side(role)
        template = by_vpc.get(side.vpc_id)
        account = by_name.get(template["account"]) if template else None
        if (
            template is not None
            and account is not None
            and _matches(template, side)
            and (not side.account_uid or side.account_uid == str(account["uid"]))
        ):
            vpcs.append(copy.deepcopy(template))
            accounts.append(copy.deepcopy(account))
            continue
        all_builtin = False
        name = _unique(side.profile, {a["name"] for a in accounts})
        accounts.append(
            {
                "name": name,
                "uid": side.account_uid or _derived_uid(params.link, role, side.profile),
                "access_key_id": "LTAI5tEmu" + secrets.token_hex(8),
                "access_key_secret": secrets.token_urlsafe(24),
            }
        )
        vpcs.append(_vpc(side, role, name))
    seed = base.get("seed", "tutorial") if all_builtin else f"vpclink-{params.link}"
    behaviour = copy.deepcopy(base.get("behaviour") or {})
    if read_lag is not None or "read_lag" not in behaviour:
        behaviour["read_lag"] = {"seconds": float(READ_LAG if read_lag is None else read_lag), "applies_to": "lists"}
    world: dict[str, Any] = {
        "seed": f"{seed}-{secrets.token_hex(8)}",
        "timing": dict(base.get("timing") or {}),
        "behaviour": behaviour,
        "accounts": accounts,
        "vpcs": vpcs,
    }
    if timing_scale is not None:
        from alicloud_emulator.world import with_timing

        world = with_timing(world, scale=timing_scale)
    return world


def _matches(vpc: dict[str, Any], side: Side) -> bool:
    instances = {i.get("id") for i in vpc.get("instances") or []}
    return (
        _net(vpc["cidr"]) == _net(side.vpc_cidr)
        and side.security_group_id in {g.get("id") for g in vpc.get("security_groups") or []}
        and (side.instance_id is None or side.instance_id in instances)
    )


def _net(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr, strict=False)


def _unique(name: str, taken: set[str]) -> str:
    out, n = name, 2
    while out in taken:
        out, n = f"{name}-{n}", n + 1
    return out


def _derived_uid(link: str, role: Role, profile: str) -> str:
    """A stable 16-digit UID for an account the parameters do not give one for."""
    digest = int(hashlib.sha256(f"{link}/{role}/{profile}".encode()).hexdigest(), 16)
    return str(10**15 + digest % (9 * 10**15))


def _suffix(resource_id: str) -> str:
    tail = resource_id.split("-", 1)[1] if "-" in resource_id else resource_id
    tail = "".join(c for c in tail.lower() if c.isalnum())
    return (tail + "0" * 8)[:30] if len(tail) < 8 else tail[:30]


def _vpc(side: Side, role: Role, account: str) -> dict[str, Any]:
    net = ipaddress.IPv4Network(side.vpc_cidr, strict=False)  # a VPC's CIDR block is IPv4
    vsw_net = net if net.prefixlen >= 24 else next(net.subnets(new_prefix=24))
    hosts = list(vsw_net.hosts()) if vsw_net.num_addresses <= 4096 else []
    ip = hosts[min(9, len(hosts) - 1)] if hosts else vsw_net.network_address + 10
    s = _suffix(side.vpc_id)
    vsw_id = f"vsw-{s}"
    label = "A" if role == "initiator" else "B"
    vpc: dict[str, Any] = {
        "account": account,
        "region": side.region,
        "name": f"VPC-{label}",
        "id": side.vpc_id,
        "vrouter_id": f"vrt-{s}",
        "route_table_id": f"vtb-{s}",
        "cidr": str(net),
        "vswitches": [{"id": vsw_id, "name": f"VSW-{label}", "zone": f"{side.region}-b", "cidr": str(vsw_net)}],
        "security_groups": [{"id": side.security_group_id, "name": f"SG-{label}"}],
        "instances": [],
    }
    if side.instance_id:
        vpc["instances"].append(
            {
                "id": side.instance_id,
                "name": f"ECS-{label}",
                "vswitch": vsw_id,
                "private_ip": str(ip),
                "security_groups": [side.security_group_id],
            }
        )
    return vpc


# ---------------------------------------------------------------------------------------------
# Talking to an emulator's control API


def _control(base_url: str, path: str, body: Any = None, method: str | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        f"{base_url}/_emulator/{path}",
        data=data,
        method=method or ("POST" if data is not None else "GET"),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        raise TargetError(f"the emulator at {base_url} refused /_emulator/{path}: HTTP {e.code}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise TargetError(
            f"no emulator answers at {base_url} ({reason}); start one with "
            f"`alicloud-emulator serve` or leave out --emulator to use the embedded one"
        ) from None


def _base_url(url: str) -> tuple[str, str]:
    """(base URL, host:port) of an emulator URL such as http://127.0.0.1:8080."""
    parsed = urllib.parse.urlsplit(url if "://" in url else f"http://{url}")
    if parsed.scheme != "http" or not parsed.hostname or not parsed.port:
        raise TargetError(f"--emulator {url!r}: give the emulator's URL, e.g. http://127.0.0.1:8080")
    host = f"[{parsed.hostname}]" if ":" in parsed.hostname else parsed.hostname
    return f"http://{host}:{parsed.port}", f"{host}:{parsed.port}"


def _owners(base_url: str, params: LinkParams, roles: tuple[Role, ...] = ROLES) -> dict[Role, dict[str, Any]]:
    """The emulator account that owns each side's VPC (of ``roles``), checked against the parameters."""
    accounts = _control(base_url, "accounts")["accounts"]
    state = _control(base_url, "state")["accounts"]
    owners: dict[Role, dict[str, Any]] = {}
    problems: list[str] = []
    for role in roles:
        side = params.side(role)
        owner = None
        for account in accounts:
            held = state.get(account["name"], {})
            vpcs = [v for v in held.get("vpc", []) if v.get("VpcId") == side.vpc_id]
            if vpcs:
                owner = account
                groups = {g.get("SecurityGroupId") for g in held.get("security_group", [])}
                instances = {i.get("InstanceId") for i in held.get("instance", [])}
                if _net(vpcs[0].get("CidrBlock", "0.0.0.0/0")) != _net(side.vpc_cidr):
                    problems.append(
                        f"{role}.vpc_cidr: {side.vpc_id} has CIDR {vpcs[0].get('CidrBlock')}, not {side.vpc_cidr}"
                    )
                if side.security_group_id not in groups:
                    problems.append(
                        f"{role}.security_group_id: {side.security_group_id} is not in account {account['name']}"
                    )
                if side.instance_id and side.instance_id not in instances:
                    problems.append(f"{role}.instance_id: {side.instance_id} is not in account {account['name']}")
                break
        if owner is None:
            problems.append(f"{role}.vpc_id: no account of the emulator owns {side.vpc_id}")
        elif side.account_uid and side.account_uid != str(owner["uid"]):
            problems.append(f"{role}.account_uid: {side.vpc_id} belongs to UID {owner['uid']}, not {side.account_uid}")
        else:
            owners[role] = owner
    if problems:
        raise WorldMismatch(problems)
    return owners


class WorldMismatch(TargetError):
    """The emulator holds a world other than the one the parameters describe."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("the emulator's world does not match the parameters:\n  " + "\n  ".join(problems))


def _roles(side: Role | None) -> tuple[Role, ...]:
    if side is not None and side not in ROLES:
        raise TargetError(f"side {side!r}: expected one of {', '.join(ROLES)}")
    return (side,) if side else ROLES


def _profiles_target(
    base_url: str,
    endpoint: str,
    params: LinkParams,
    emulator: str,
    close: Callable[[], None] | None = None,
    side: Role | None = None,
) -> Target:
    roles = _roles(side)
    owners = _owners(base_url, params, roles)
    directory = scratch.private_dir("profiles")  # mode 0700, outside the records
    profiles: list[AkProfile] = []
    for role in roles:
        own, account = params.side(role), owners[role]
        if own.profile not in {p.name for p in profiles}:
            profiles.append(AkProfile(own.profile, account["access_key_id"], account["access_key_secret"], own.region))
    path = write_profiles(Path(directory) / "config.json", profiles)
    found = profile_secrets(path, [p.name for p in profiles])

    def _close() -> None:
        shutil.rmtree(directory, ignore_errors=True)
        if close is not None:
            close()

    return Target(
        "emulator",
        read_lag=_read_lag(base_url),
        endpoint=endpoint,
        profiles_file=str(path),
        emulator=emulator,
        control_url=base_url,
        secrets=found,
        _close=_close,
    )


def _read_lag(base_url: str) -> float | None:
    """The allowance for the emulator's read lag (its behaviour's seconds, plus one), None if it says none."""
    behaviour = _control(base_url, "behaviour").get("behaviour") or {}
    lag = (behaviour.get("read_lag") or {}).get("seconds")
    return float(lag) + 1.0 if isinstance(lag, (int, float)) and lag > 0 else 0.0 if lag == 0 else None


def _given_profiles_target(
    base_url: str, endpoint: str, params: LinkParams, profiles_file: str, side: Role | None
) -> Target:
    """The user's own profiles file, as is (``RamRoleArn`` profiles of a central account, say): its
    key material, chained profiles included, is what the run's records are searched for."""
    roles = _roles(side)
    _owners(base_url, params, roles)  # the emulator's world is the one the parameters describe
    path = str(Path(profiles_file).expanduser().resolve())
    names = sorted({params.side(r).profile for r in roles})
    return Target(
        "emulator",
        read_lag=_read_lag(base_url),
        endpoint=endpoint,
        profiles_file=path,
        emulator=base_url,
        control_url=base_url,
        secrets=profile_secrets(path, names),
        given_profiles=path,
    )


def attach(url: str, params: LinkParams, side: Role | None = None, profiles_file: str = "") -> Target:
    """Use an emulator that is already running, taking the accounts from its control API
    (``side``'s only, for one of two operators). With ``profiles_file`` the run signs with those
    profiles as they are (the emulator's STS serves their roles) instead of AccessKey profiles
    written from the emulator's accounts."""
    base_url, endpoint = _base_url(url)
    _roles(side)
    _control(base_url, "health")
    if profiles_file:
        return _given_profiles_target(base_url, endpoint, params, profiles_file, side)
    return _profiles_target(base_url, endpoint, params, emulator=base_url, side=side)


def start(
    params: LinkParams,
    records: str | Path | None = None,
    *,
    timing_scale: float | None = None,
    side: Role | None = None,
    read_lag: float | None = None,
) -> Target:
    """Serve the emulator in this process over the per-user state (:func:`state_dir`). A new
    database starts with :func:`world_for` the parameters; an existing one keeps its state, and is
    extended with the parameters' VPCs (and accounts) when it does not hold them yet. ``records`` is
    accepted for older callers and ignored: every records directory shares the one emulator."""
    _roles(side)
    from alicloud_emulator.dispatch import DamagedStateError
    from alicloud_emulator.server import make_server
    from alicloud_emulator.world import WorldError

    directory = state_dir()
    db = directory / STATE_DB
    # Two commands starting at once must not both load a world into one new database.
    with FileLock(str(directory / START_LOCK), mode=0o600):
        fresh = not db.exists()
        world = world_for(params, timing_scale, read_lag)
        try:
            server = make_server(db=str(db), world=world)
        except WorldError as e:
            raise TargetError(f"the embedded emulator cannot model these parameters: {e}") from None
        except DamagedStateError as e:
            raise TargetError(
                f"the embedded emulator's state in {directory} cannot be used ({e}); start it over with "
                "`vpclink emulator reset`"
            ) from None
        _private_files(directory)
        try:
            if fresh:  # the accounts' VPCs existed long before vpclink first looked: older than any lag
                server.app.store.advance_clock(float(world["behaviour"]["read_lag"]["seconds"]))
            _extend(server, params, timing_scale)
        except BaseException:
            _stop_server(server)
            raise
    server.start()

    def _stop() -> None:
        _stop_server(server)

    try:
        return _profiles_target(server.url, server.endpoint, params, emulator="embedded", close=_stop, side=side)
    except WorldMismatch as e:
        _stop()
        raise TargetError(
            f"{e}\nThe embedded emulator (state in {directory}) holds a world in which these parameters' "
            "VPCs differ; start it over with `vpclink emulator reset` (every rehearsal on this machine "
            "shares it), or use --emulator URL with an emulator of your own."
        ) from None
    except BaseException:
        _stop()
        raise


def _stop_server(server: Any) -> None:
    server.stop()
    server.app.store.close()


def _private_files(directory: Path) -> None:
    """The database and SQLite's side files readable by their owner only (they hold every account's
    secret); the emulator creates them so, this keeps files from older versions in line."""
    for path in directory.iterdir():
        if path.is_file() and path.name.startswith(STATE_DB):
            path.chmod(0o600)


def _extend(server: Any, params: LinkParams, timing_scale: float | None) -> None:
    """Add the parameters' VPCs (and accounts for them) that the running world lacks, keeping every
    resource it holds: the second link rehearsed on this machine joins the first's cloud. A VPC the
    world holds already is left as it is (``_owners`` then checks it against the parameters)."""
    _add_missing(server, world_for(params, timing_scale))


def _add_missing(server: Any, wanted: dict[str, Any]) -> None:
    """Add the VPCs of ``wanted`` (and accounts for them) that the running world lacks."""
    store = server.app.store
    current: dict[str, Any] = copy.deepcopy(store.meta("world") or {})
    held = {v.get("id") for v in current.get("vpcs") or []}
    missing = [v for v in wanted["vpcs"] if v.get("id") not in held]
    if not missing:
        return
    accounts = {a["name"]: a for a in current.get("accounts") or []}
    by_uid = {str(a["uid"]): a["name"] for a in accounts.values()}
    wanted_accounts = {a["name"]: a for a in wanted["accounts"]}
    for vpc in missing:
        account = wanted_accounts[vpc["account"]]
        if str(account["uid"]) in by_uid:  # the account exists: its new VPC joins it
            vpc["account"] = by_uid[str(account["uid"])]
            continue
        name = _unique(account["name"], set(accounts))
        accounts[name] = dict(account, name=name)
        by_uid[str(account["uid"])] = name
        vpc["account"] = name
    merged = dict(current, accounts=list(accounts.values()), vpcs=[*(current.get("vpcs") or []), *missing])
    _extend_into(store, merged, missing)
    server.app.emulator.refresh()


def _extend_into(store: Any, world: dict[str, Any], vpcs: list[dict[str, Any]]) -> None:
    """Make ``world`` the store's world and create ``vpcs`` (new in it) without wiping anything.

    The emulator loads a world only by wiping the store (``world.load_into``); this adds to a live
    one with the same validation and seeding, in one transaction."""
    from alicloud_emulator.world import WorldError, _seed_vpc, validate, with_timing

    try:
        validate(world)
    except WorldError as e:
        raise TargetError(
            f"the embedded emulator's world cannot take these parameters' VPCs as well ({e}); start it over "
            "with `vpclink emulator reset`"
        ) from None
    from alicloud_emulator.world_schema import MAX_READ_LAG_S

    uid = {a["name"]: str(a["uid"]) for a in world["accounts"]}
    # dated before any read lag: the accounts' VPCs existed before vpclink first looked at them
    with store.transaction(now=store.now() - MAX_READ_LAG_S) as tx:
        tx.set_meta("world", with_timing(world))
        for v in vpcs:
            _seed_vpc(tx, uid[v["account"]], v)


def seed(world: dict[str, Any], *, timing_scale: float | None = None, read_lag: float | None = None) -> None:
    """Make the embedded emulator's state hold every account and VPC of ``world`` (a fleet's, from
    ``vpclink.fleet.world``), serving nothing: a new database starts with it, an existing one gains
    what it lacks and keeps everything else. The links' own commands then find their VPCs in it, each
    profile acting as one account across the fleet. Timing and read lag default as :func:`world_for`'s."""
    from alicloud_emulator.dispatch import DamagedStateError
    from alicloud_emulator.server import make_server
    from alicloud_emulator.world import WorldError, with_timing

    base = _default_world()
    full = copy.deepcopy(world)
    full.setdefault("timing", dict(base.get("timing") or {}))
    behaviour = full.setdefault("behaviour", copy.deepcopy(base.get("behaviour") or {}))
    if read_lag is not None or "read_lag" not in behaviour:
        behaviour["read_lag"] = {"seconds": float(READ_LAG if read_lag is None else read_lag), "applies_to": "lists"}
    if timing_scale is not None:
        full = with_timing(full, scale=timing_scale)
    directory = state_dir()
    db = directory / STATE_DB
    with FileLock(str(directory / START_LOCK), mode=0o600):
        fresh = not db.exists()
        try:
            server = make_server(db=str(db), world=full)
        except WorldError as e:
            raise TargetError(f"the embedded emulator cannot model this fleet: {e}") from None
        except DamagedStateError as e:
            raise TargetError(
                f"the embedded emulator's state in {directory} cannot be used ({e}); start it over with "
                "`vpclink emulator reset`"
            ) from None
        try:
            _private_files(directory)
            if fresh:  # as start(): the accounts' VPCs existed before vpclink first looked
                server.app.store.advance_clock(float(full["behaviour"]["read_lag"]["seconds"]))
            else:
                _add_missing(server, full)
        finally:  # never served: closing its socket and store is all (shutdown() would wait forever)
            server.server_close()
            server.app.store.close()


def reset(records: str | Path | None = None) -> bool:
    """Forget the embedded emulator's state (shared by every records directory on this machine; the
    ``records`` argument is ignored); the next command builds its world afresh. True if there was one."""
    directory = state_dir()
    with FileLock(str(directory / START_LOCK), mode=0o600):
        files = [p for p in directory.iterdir() if p.is_file() and p.name.startswith(STATE_DB)]
        for path in files:
            path.unlink(missing_ok=True)
    return bool(files)


def reset_running(url: str) -> None:
    """Reload the world of an emulator that is already running (its control API's reset)."""
    base_url, _ = _base_url(url)
    _control(base_url, "reset", {})


def world_yaml(params: LinkParams) -> str:
    """The world as YAML, for ``alicloud-emulator serve --world`` (keys are emulator-only)."""
    return yaml.safe_dump(world_for(params), sort_keys=False)
