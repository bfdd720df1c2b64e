"""An emulator world holding every VPC and account of a fleet, as ``embedded.world_for`` does for one link.

Each credential profile of the fleet is one account (a profile acts as one account, ``topology``
refuses two UIDs for one profile): its UID is the one the fleet gives, else one derived from the
profile's name; its AccessKey is fresh each time and exists only in that emulator. Each VPC keeps the
fleet's IDs and CIDR block and gets a vSwitch, its security group and, when the fleet names one, a
Running ECS instance with Cloud Assistant, so every link of the fleet runs and verifies.

The world is plain data (the emulator is not imported here): write it as YAML for
``alicloud-emulator serve --world FILE``. Delays and behaviour are the emulator's defaults unless
``timing`` / ``behaviour`` are given (a benchmark passes every delay as 0).
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .model import Fleet, Vpc


def _derived_uid(profile: str) -> str:
    """A stable 16-digit UID for a profile the fleet gives none for."""
    digest = int(hashlib.sha256(f"fleet-profile/{profile}".encode()).hexdigest(), 16)
    return str(10**15 + digest % (9 * 10**15))


def _suffix(resource_id: str) -> str:
    tail = resource_id.split("-", 1)[1] if "-" in resource_id else resource_id
    tail = "".join(c for c in tail.lower() if c.isalnum())
    return (tail + "0" * 8)[:30] if len(tail) < 8 else tail[:30]


def account_uids(fleet: Fleet) -> dict[str, str]:
    """Profile -> the account UID the world gives it (the fleet's, else derived)."""
    uids: dict[str, str] = {}
    for vpc in fleet.vpcs.values():
        if vpc.account_uid:
            uids[vpc.profile] = vpc.account_uid
    for vpc in fleet.vpcs.values():
        uids.setdefault(vpc.profile, _derived_uid(vpc.profile))
    return uids


def _vpc(vpc: Vpc, account: str) -> dict[str, Any]:
    net = ipaddress.IPv4Network(vpc.vpc_cidr, strict=False)
    vsw_net = net if net.prefixlen >= 24 else next(net.subnets(new_prefix=24))
    hosts = list(vsw_net.hosts()) if vsw_net.num_addresses <= 4096 else []
    ip = hosts[min(9, len(hosts) - 1)] if hosts else vsw_net.network_address + 10
    s = _suffix(vpc.vpc_id)
    vsw_id = f"vsw-{s}"
    out: dict[str, Any] = {
        "account": account,
        "region": vpc.region,
        "name": vpc.name,
        "id": vpc.vpc_id,
        "vrouter_id": f"vrt-{s}",
        "route_table_id": f"vtb-{s}",
        "cidr": str(net),
        "vswitches": [{"id": vsw_id, "name": f"{vpc.name}-vsw", "zone": f"{vpc.region}-b", "cidr": str(vsw_net)}],
        "security_groups": [{"id": vpc.security_group_id, "name": f"{vpc.name}-sg"}],
        "instances": [],
    }
    if vpc.instance_id:
        out["instances"].append(
            {
                "id": vpc.instance_id,
                "name": f"{vpc.name}-ecs",
                "vswitch": vsw_id,
                "private_ip": str(ip),
                "security_groups": [vpc.security_group_id],
            }
        )
    return out


def world_for_fleet(
    fleet: Fleet,
    *,
    timing: Mapping[str, float] | None = None,
    behaviour: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A world with one account per credential profile of the fleet and every VPC of the fleet.

    ``timing``: seconds per asynchronous step (the emulator's timing keys; missing keys keep its
    defaults); ``behaviour``: the world's ``behaviour`` (read lag, quotas, ...)."""
    uids = account_uids(fleet)
    accounts = [
        {
            "name": profile,
            "uid": uid,
            "access_key_id": "LTAI5tEmu" + secrets.token_hex(8),
            "access_key_secret": secrets.token_urlsafe(24),
        }
        for profile, uid in uids.items()
    ]
    world: dict[str, Any] = {
        "seed": f"vpclink-fleet-{fleet.name}-{secrets.token_hex(8)}",
        "accounts": accounts,
        "vpcs": [_vpc(vpc, vpc.profile) for vpc in fleet.vpcs.values()],
    }
    if timing is not None:
        world["timing"] = dict(timing)
    if behaviour is not None:
        world["behaviour"] = dict(behaviour)
    return world


def write_world(world: Mapping[str, Any], path: str | Path) -> Path:
    """The world as YAML (mode 0600: it holds the accounts' keys)."""
    p = Path(path)
    p.touch(mode=0o600, exist_ok=True)
    p.chmod(0o600)
    p.write_text(yaml.safe_dump(dict(world), sort_keys=False), encoding="utf-8")
    return p
