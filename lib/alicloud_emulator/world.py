"""Worlds: the accounts and networks an emulator starts with, loaded from YAML.

A world file has ``accounts`` (name, 16-digit uid, access_key_id, access_key_secret), ``vpcs``
(account, region, name, cidr, optional fixed ids, vswitches, security_groups, instances),
optional ``timing`` (seconds of virtual time per asynchronous step) and ``seed`` (for IDs).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .regions import REGIONS
from .store import Store, Tx
from .timefmt import iso, iso_minutes

TIMING_KEYS = {
    "router_interface_create": 2.0,
    "router_interface_modify": 0.0,
    "router_interface_connect": 4.0,
    "router_interface_activate": 2.0,
    "router_interface_deactivate": 2.0,
    "router_interface_delete": 2.0,
    "route_entry_create": 2.0,
    "route_entry_delete": 1.0,
    "command": 3.0,
}


class WorldError(ValueError):
    """A world file that cannot be loaded; the message names the field."""


@dataclass(frozen=True)
class Account:
    name: str
    uid: str
    access_key_id: str
    access_key_secret: str


def default_world() -> dict[str, Any]:
    text = resources.files("alicloud_emulator").joinpath("default_world.yaml").read_text()
    return yaml.safe_load(text)


def load_world_file(path: str | Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise WorldError(f"{path}: cannot be read ({e.strerror or e})") from None
    except yaml.YAMLError as e:
        raise WorldError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise WorldError(f"{path}: a world file is a YAML mapping")
    return data


def with_timing(world: dict[str, Any], scale: float | None = None, **overrides: float) -> dict[str, Any]:
    """A copy of ``world`` with its delays scaled (``scale=0`` makes every step immediate)."""
    timing = dict(TIMING_KEYS, **(world.get("timing") or {}))
    if scale is not None:
        timing = {k: v * scale for k, v in timing.items()}
    timing.update(overrides)
    return dict(world, timing=timing)


def validate(world: Any) -> None:
    """Refuse a world whose accounts or networks are malformed, naming the field."""
    if not isinstance(world, dict):
        raise WorldError("a world is a mapping with accounts and vpcs")
    accounts = world.get("accounts")
    if not isinstance(accounts, list) or not accounts:
        raise WorldError("accounts: at least one account is required")
    names, keys, uids = set(), set(), set()
    for i, a in enumerate(accounts):
        where = f"accounts[{i}]"
        _mapping(a, where)
        for field in ("name", "uid", "access_key_id", "access_key_secret"):
            if not isinstance(a.get(field), (str, int)) or str(a.get(field)) == "":
                raise WorldError(f"{where}.{field}: required")
        if not re.fullmatch(r"\d{16}", str(a["uid"])):
            raise WorldError(f"{where}.uid: a 16-digit account UID is required, got {a['uid']!r}")
        for seen, field in ((names, "name"), (keys, "access_key_id"), (uids, "uid")):
            if str(a[field]) in seen:
                raise WorldError(f"{where}.{field}: {a[field]!r} is used twice")
            seen.add(str(a[field]))
    timing = world.get("timing") or {}
    _mapping(timing, "timing")
    for key, value in timing.items():
        if key not in TIMING_KEYS:
            raise WorldError(f"timing.{key}: unknown; valid keys: {', '.join(TIMING_KEYS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise WorldError(f"timing.{key}: {value!r} is not a number of seconds >= 0")
    vpcs = world.get("vpcs") or []
    if not isinstance(vpcs, list):
        raise WorldError("vpcs: a list of VPCs is required")
    ids: set[str] = set()
    for i, v in enumerate(vpcs):
        _validate_vpc(v, f"vpcs[{i}]", names, ids)


def _mapping(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise WorldError(f"{where}: a mapping is required, got {value!r}")


def _fixed_id(value: Any, prefix: str, where: str, ids: set[str]) -> None:
    """A fixed ID must look like the cloud's and be unique in the world."""
    if value is None:
        return
    if not isinstance(value, str) or not re.fullmatch(re.escape(prefix) + r"[a-z0-9]{8,32}", value):
        raise WorldError(f"{where}: {value!r} is not an ID of the form {prefix}<8-32 lowercase letters or digits>")
    if value in ids:
        raise WorldError(f"{where}: {value!r} is used twice")
    ids.add(value)


def _network(value: Any, where: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.ip_network(value)
    except (TypeError, ValueError):
        raise WorldError(f"{where}: {value!r} is not a CIDR block such as 192.168.0.0/16") from None
    if net.version != 4:
        raise WorldError(f"{where}: {value!r} is not an IPv4 CIDR block")
    return net


def _validate_vpc(v: Any, where: str, accounts: set[str], ids: set[str]) -> None:
    _mapping(v, where)
    if v.get("account") not in accounts:
        raise WorldError(
            f"{where}.account: {v.get('account')!r} is not an account of this world ({', '.join(sorted(accounts))})"
        )
    if v.get("region") not in REGIONS:
        raise WorldError(f"{where}.region: {v.get('region')!r} is not a known region")
    net = _network(v.get("cidr"), f"{where}.cidr")
    for field, prefix in (("id", "vpc-"), ("vrouter_id", "vrt-"), ("route_table_id", "vtb-")):
        _fixed_id(v.get(field), prefix, f"{where}.{field}", ids)
    vswitches: dict[str, ipaddress.IPv4Network] = {}
    for j, s in enumerate(v.get("vswitches") or []):
        here = f"{where}.vswitches[{j}]"
        _mapping(s, here)
        _fixed_id(s.get("id"), "vsw-", f"{here}.id", ids)
        if not s.get("id") and not s.get("name"):
            raise WorldError(f"{here}: an id or a name is required (instances refer to it)")
        if not isinstance(s.get("zone"), str) or not s["zone"].startswith(v["region"]):
            raise WorldError(f"{here}.zone: {s.get('zone')!r} is not a zone of {v['region']} (e.g. {v['region']}-b)")
        sub = _network(s.get("cidr"), f"{here}.cidr")
        if not sub.subnet_of(net):
            raise WorldError(f"{here}.cidr: {sub} is not inside the VPC's {net}")
        vswitches[s.get("id") or s.get("name")] = sub
    groups: set[str] = set()
    for j, g in enumerate(v.get("security_groups") or []):
        here = f"{where}.security_groups[{j}]"
        _mapping(g, here)
        _fixed_id(g.get("id"), "sg-", f"{here}.id", ids)
        if not g.get("id") and not g.get("name"):
            raise WorldError(f"{here}: an id or a name is required (instances refer to it)")
        groups.add(g.get("id") or g.get("name"))
    for j, inst in enumerate(v.get("instances") or []):
        here = f"{where}.instances[{j}]"
        _mapping(inst, here)
        _fixed_id(inst.get("id"), "i-", f"{here}.id", ids)
        sub = vswitches.get(inst.get("vswitch"))
        if sub is None:
            raise WorldError(
                f"{here}.vswitch: {inst.get('vswitch')!r} is not a vSwitch of this VPC "
                f"({', '.join(vswitches) or 'none defined'})"
            )
        try:
            ip = ipaddress.ip_address(str(inst.get("private_ip")))
        except ValueError:
            raise WorldError(f"{here}.private_ip: {inst.get('private_ip')!r} is not an IP address") from None
        if ip not in sub:
            raise WorldError(f"{here}.private_ip: {ip} is not inside its vSwitch's {sub}")
        for k, g in enumerate(inst.get("security_groups") or []):
            if g not in groups:
                raise WorldError(
                    f"{here}.security_groups[{k}]: {g!r} is not a security group of this VPC "
                    f"({', '.join(sorted(groups)) or 'none defined'})"
                )


def accounts_of(world: dict[str, Any]) -> list[Account]:
    return [
        Account(a["name"], str(a["uid"]), str(a["access_key_id"]), str(a["access_key_secret"]))
        for a in world["accounts"]
    ]


def load_into(store: Store, world: dict[str, Any]) -> None:
    """Wipe the store and create the world's resources in it."""
    validate(world)
    world = with_timing(world)
    uid = {a["name"]: str(a["uid"]) for a in world["accounts"]}
    with store.transaction() as tx:  # all or nothing: a crash mid-load leaves the previous world
        tx.wipe()
        tx.set_meta("world", world)
        tx.set_meta("seed", str(world.get("seed", "")))
        for v in world.get("vpcs") or []:
            _seed_vpc(tx, uid[v["account"]], v)


def _seed_vpc(tx: Tx, owner: str, v: dict[str, Any]) -> None:
    region, created = v["region"], iso(tx.now)
    vpc_id = v.get("id") or tx.new_id("vpc-")
    vrt_id = v.get("vrouter_id") or tx.new_id("vrt-")
    vtb_id = v.get("route_table_id") or tx.new_id("vtb-")
    vsw_ids: dict[str, str] = {}
    for s in v.get("vswitches") or []:
        sid = s.get("id") or tx.new_id("vsw-")
        vsw_ids[s.get("id") or s.get("name")] = sid
        tx.insert(
            "vswitch",
            sid,
            owner,
            region,
            {
                "VSwitchId": sid,
                "VSwitchName": s.get("name", ""),
                "VpcId": vpc_id,
                "ZoneId": s["zone"],
                "CidrBlock": str(ipaddress.ip_network(s["cidr"])),
                "Status": "Available",
                "CreationTime": created,
                "Description": "",
                "IsDefault": False,
                "RouteTableId": vtb_id,
            },
        )
        rte_id = tx.new_id("rte-")
        tx.insert(
            "route_entry",
            rte_id,
            owner,
            region,
            {
                "RouteEntryId": rte_id,
                "RouteTableId": vtb_id,
                "DestinationCidrBlock": str(ipaddress.ip_network(s["cidr"])),
                "Type": "System",
                "Status": "Available",
                "NextHopType": "local",
                "NextHopId": "",
                "RouteEntryName": "",
                "Description": "",
                "Origin": "SystemCreate",
                "GmtModified": created,
            },
        )
    tx.insert(
        "vpc",
        vpc_id,
        owner,
        region,
        {
            "VpcId": vpc_id,
            "VpcName": v.get("name", ""),
            "RegionId": region,
            "Status": "Available",
            "CidrBlock": str(ipaddress.ip_network(v["cidr"])),
            "VRouterId": vrt_id,
            "RouteTableId": vtb_id,
            "IsDefault": False,
            "CreationTime": created,
            "Description": v.get("description", ""),
            "VSwitchIds": list(vsw_ids.values()),
        },
    )
    tx.insert(
        "route_table",
        vtb_id,
        owner,
        region,
        {
            "RouteTableId": vtb_id,
            "RouteTableName": "",
            "RouteTableType": "System",
            "RouterId": vrt_id,
            "RouterType": "VRouter",
            "VpcId": vpc_id,
            "Status": "Available",
            "CreationTime": created,
            "Description": "",
            "VSwitchIds": list(vsw_ids.values()),
        },
    )
    sg_ids: dict[str, str] = {}
    for g in v.get("security_groups") or []:
        gid = g.get("id") or tx.new_id("sg-")
        sg_ids[g.get("id") or g.get("name")] = gid
        tx.insert(
            "security_group",
            gid,
            owner,
            region,
            {
                "SecurityGroupId": gid,
                "SecurityGroupName": g.get("name", ""),
                "VpcId": vpc_id,
                "Description": g.get("description", ""),
                "SecurityGroupType": "normal",
                "CreationTime": created,
                "InnerAccessPolicy": "Accept",
                "Rules": [],
            },
        )
    for inst in v.get("instances") or []:
        iid = inst.get("id") or tx.new_id("i-")
        vsw = vsw_ids[inst["vswitch"]]
        zone = next(s["zone"] for s in v.get("vswitches") or [] if (s.get("id") or s.get("name")) == inst["vswitch"])
        tx.insert(
            "instance",
            iid,
            owner,
            region,
            {
                "InstanceId": iid,
                "InstanceName": inst.get("name", ""),
                "Status": inst.get("status", "Running"),
                "RegionId": region,
                "ZoneId": zone,
                "VpcId": vpc_id,
                "VSwitchId": vsw,
                "PrivateIpAddress": str(inst["private_ip"]),
                "SecurityGroupIds": [sg_ids.get(g, g) for g in inst.get("security_groups") or []],
                "CreationTime": iso_minutes(tx.now),
                "OSType": "linux",
                "OSName": "Alibaba Cloud Linux 3.2104 LTS 64位",
                "InstanceType": "ecs.g7.large",
                "CloudAssistant": inst.get("cloud_assistant", True),
            },
        )
