"""Worlds: the accounts and networks an emulator starts with, loaded from YAML.

A world file has ``accounts`` (name, 16-digit uid, access_key_id, access_key_secret, and the RAM
identity and roles of ``roles.py``: key_kind, ram_user, roles), ``vpcs``
(account, region, name, cidr, optional fixed ids, vswitches, security_groups, instances),
optional ``timing`` (seconds of virtual time per asynchronous step), ``behaviour`` (which of the
cloud's documented behaviours to follow: ``read_lag``, ``security_group_reference``) and ``seed``
(for IDs). ``world_schema.py`` says what each field accepts; a world file is read within the
limits of ``safe_files.py``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .quotas import forget as forget_quota_calls
from .roles import user_name
from .safe_files import UnsafeFileError, read_yaml
from .schema import problems
from .store import Store, Tx
from .timefmt import iso, iso_minutes
from .world_schema import TIMING_KEYS, UNSCALED_TIMING_KEYS, Behaviour
from .world_schema import World as WorldModel


class WorldError(ValueError):
    """A world that cannot be loaded; the message names each bad field, one per line."""


@dataclass(frozen=True)
class Account:
    name: str
    uid: str
    access_key_id: str
    access_key_secret: str
    key_kind: str = "ram_user"  # whose key it is: "ram_user" or "root" (roles.py)
    ram_user: str = ""  # the RAM user of a ram_user key


def default_world() -> dict[str, Any]:
    text = resources.files("alicloud_emulator").joinpath("default_world.yaml").read_text()
    return yaml.safe_load(text)


def load_world_file(path: str | Path) -> dict[str, Any]:
    """A world file's mapping (not yet validated); a refusal names the file."""
    try:
        data = read_yaml(path)
    except UnsafeFileError as e:
        raise WorldError(f"{path}: {e}") from None
    if not isinstance(data, dict):
        raise WorldError(f"{path}: a world file is a YAML mapping with accounts and vpcs")
    return data


def with_timing(world: dict[str, Any], scale: float | None = None, **overrides: float) -> dict[str, Any]:
    """A copy of ``world`` with its delays scaled (``scale=0`` makes every step immediate; a
    deadline such as a peering request's expiry is kept)."""
    timing = dict(TIMING_KEYS, **(world.get("timing") or {}))
    if scale is not None:
        timing = {k: v if k in UNSCALED_TIMING_KEYS else v * scale for k, v in timing.items()}
    timing.update(overrides)
    return dict(world, timing=timing)


def validate(world: Any) -> WorldModel:
    """The world as its schema reads it; ``WorldError`` names every malformed field, never a
    value that was given for a secret."""
    if not isinstance(world, dict):
        raise WorldError("a world is a mapping with accounts and vpcs")
    try:
        model = WorldModel.model_validate(world)
    except ValidationError as e:
        raise WorldError("\n".join(problems(e, WorldModel))) from None
    wrong = model.relations()
    if wrong:
        raise WorldError("\n".join(wrong))
    return model


def behaviour_of(world: dict[str, Any]) -> Behaviour:
    """The world's ``behaviour`` with its defaults (an already validated world)."""
    return Behaviour.model_validate(world.get("behaviour") or {})


def accounts_of(world: dict[str, Any]) -> list[Account]:
    return [
        Account(
            a["name"],
            str(a["uid"]),
            str(a["access_key_id"]),
            str(a["access_key_secret"]),
            a.get("key_kind", "ram_user"),
            user_name(a["name"], a.get("ram_user")),
        )
        for a in world["accounts"]
    ]


def load_into(store: Store, world: dict[str, Any]) -> None:
    """Wipe the store and create the world's resources in it."""
    validate(world)
    world = with_timing(world)
    uid = {a["name"]: str(a["uid"]) for a in world["accounts"]}
    with store.transaction() as tx:  # all or nothing: a crash mid-load leaves the previous world
        tx.wipe()
        forget_quota_calls(tx)  # the store's own tables are wiped above; the quotas' log is not one
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
