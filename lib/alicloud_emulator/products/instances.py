"""ECS instances: DescribeInstances.

A ``Status`` or ``InstanceNetworkType`` outside its documented values is ``InvalidStatus.NotFound``
or ``InvalidNetworkType.NotFound`` (404), the codes the API metadata documents for them. ``Tag.N``
filters on the instances' tags (at most 20, ``InvalidTagCount``), ``Ipv6Address.N`` (at most 100)
matches nothing since no instance has IPv6, ``AdditionalAttributes.N`` (at most 5) is accepted.

Instances come from the world file (the emulator does not create them). The stored record keeps
what matters to the other products (see ``products/__init__.py``); everything else an instance
shows, such as its primary network interface, MAC address and serial number, is derived from its
ID here, so it is stable across calls and restarts without being stored.
"""

from __future__ import annotations

import fnmatch
import hashlib
import uuid
from typing import Any

from ..context import Context
from ..errors import invalid, missing
from ..params import Params
from . import ecs_errors as err
from .dry_run import stop_if_dry_run
from .ecs_paging import Limits, paginate

STATUSES = ("Pending", "Running", "Starting", "Stopping", "Stopped")
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def _derived(instance_id: str, what: str, length: int) -> str:
    digest = hashlib.sha256(f"{what}:{instance_id}".encode()).digest()
    return "".join(_ALPHABET[b % 36] for b in digest[:length])


def _mac(instance_id: str) -> str:
    digest = hashlib.sha256(f"mac:{instance_id}".encode()).digest()
    return "00:16:3e:" + ":".join(f"{b:02x}" for b in digest[:3])  # 00:16:3e is Alibaba Cloud's OUI


def view(rec: dict[str, Any]) -> dict[str, Any]:
    """An instance as DescribeInstances prints it."""
    iid, ip = rec["InstanceId"], rec.get("PrivateIpAddress", "")
    instance_type = rec.get("InstanceType", "ecs.g7.large")
    running = rec.get("Status") == "Running"
    return {
        "InstanceId": iid,
        "InstanceName": rec.get("InstanceName", ""),
        "Description": rec.get("Description", ""),
        "HostName": "iZ" + iid.split("-", 1)[-1] + "Z",
        "Status": rec.get("Status", "Running"),
        "RegionId": rec.get("RegionId", rec.get("_region", "")),
        "ZoneId": rec.get("ZoneId", ""),
        "InstanceType": instance_type,
        "InstanceTypeFamily": instance_type.rsplit(".", 1)[0],
        "Cpu": 2,
        "Memory": 8192,
        "GPUAmount": 0,
        "GPUSpec": "",
        "LocalStorageAmount": 0,
        "LocalStorageCapacity": 0,
        "OSType": rec.get("OSType", "linux"),
        "OSName": rec.get("OSName", ""),
        "OSNameEn": rec.get("OSNameEn", rec.get("OSName", "")),
        "ImageId": rec.get("ImageId", "aliyun_3_x64_20G_alibase_20240528.vhd"),
        "InstanceNetworkType": "vpc",
        "InstanceChargeType": "PostPaid",
        "InternetChargeType": "PayByTraffic",
        "InternetMaxBandwidthIn": 0,
        "InternetMaxBandwidthOut": 0,
        "IoOptimized": True,
        "CreationTime": rec.get("CreationTime", ""),
        "StartTime": rec.get("CreationTime", "") if running else "",
        "ExpiredTime": "2099-12-31T15:59Z",
        "AutoReleaseTime": "",
        "StoppedMode": "Not-applicable",
        "SerialNumber": str(uuid.UUID(bytes=hashlib.sha256(f"serial:{iid}".encode()).digest()[:16])),
        "DeletionProtection": False,
        "DeviceAvailable": True,
        "Recyclable": False,
        "CreditSpecification": "",
        "SpotStrategy": "NoSpot",
        "SpotPriceLimit": 0.0,
        "SpotDuration": 0,
        "SaleCycle": "",
        "KeyPairName": "",
        "ResourceGroupId": "",
        "DeploymentSetId": "",
        "HpcClusterId": "",
        "ClusterId": "",
        "VlanId": "",
        "VpcAttributes": {
            "VpcId": rec.get("VpcId", ""),
            "VSwitchId": rec.get("VSwitchId", ""),
            "NatIpAddress": "",
            "PrivateIpAddress": {"IpAddress": [ip] if ip else []},
        },
        "SecurityGroupIds": {"SecurityGroupId": list(rec.get("SecurityGroupIds") or [])},
        "PublicIpAddress": {"IpAddress": []},
        "InnerIpAddress": {"IpAddress": []},
        "RdmaIpAddress": {"IpAddress": []},
        "EipAddress": {
            "IpAddress": "",
            "AllocationId": "",
            "Bandwidth": 0,
            "InternetChargeType": "",
            "IsSupportUnassociate": False,
        },
        "NetworkInterfaces": {
            "NetworkInterface": [
                {
                    "NetworkInterfaceId": "eni-" + _derived(iid, "eni", 20),
                    "Type": "Primary",
                    "MacAddress": _mac(iid),
                    "PrimaryIpAddress": ip,
                    "PrivateIpSets": {"PrivateIpSet": [{"PrivateIpAddress": ip, "Primary": True}] if ip else []},
                }
            ]
        },
        "OperationLocks": {"LockReason": []},
        "Tags": {"Tag": [{"TagKey": k, "TagValue": v} for k, v in (rec.get("Tags") or {}).items()]},
    }


def _tags(p: Params) -> list[tuple[str, str | None]]:
    """``Tag.N.Key``/``Tag.N.Value``: at most 20 (``InvalidTagCount``, documented for this action)."""
    raw = p.sequence("Tag")
    if len(raw) > 20:
        raise err.too_many_tags(20, len(raw))
    out = []
    for n, t in enumerate(raw, start=1):
        if not isinstance(t, dict) or not t.get("Key"):
            raise missing(f"Tag.{n}.Key")
        out.append((str(t["Key"]), str(t["Value"]) if t.get("Value") not in (None, "") else None))
    return out


def describe_instances(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    ids = p.json_list("InstanceIds")
    ips = p.json_list("PrivateIpAddresses")
    for name, values in (("InstanceIds", ids), ("PrivateIpAddresses", ips)):
        if len(values) > 100:
            raise invalid(name, f"at most 100 values, got {len(values)}")
        if not all(isinstance(v, str) for v in values):
            raise invalid(name, 'expected a JSON array of strings, e.g. ["a", "b"]')
    tags = _tags(p)
    ipv6 = [str(x) for x in p.sequence("Ipv6Address", max_items=100)]
    p.sequence("AdditionalAttributes", max_items=5)  # accepted; the emulator has none of those attributes
    filters = {
        "tags": tags,
        "ipv6": ipv6,
        "ids": ids,
        "ips": ips,
        "vpc": p.text("VpcId"),
        "vsw": p.text("VSwitchId"),
        "zone": p.text("ZoneId"),
        "sg": p.text("SecurityGroupId"),
        "status": p.text("Status", choices=STATUSES, code=err.INSTANCE_STATUS),
        "name": p.text("InstanceName"),
        "type": p.text("InstanceType"),
        "net": p.text("InstanceNetworkType", choices=("vpc", "classic"), code=err.INSTANCE_NETWORK_TYPE),
    }
    stop_if_dry_run(p)
    matched = []
    for rec in ctx.tx.find("instance", account=ctx.uid, region=region):
        if (
            (ids and rec["InstanceId"] not in ids)
            or (ips and rec.get("PrivateIpAddress") not in ips)
            or (filters["vpc"] and rec.get("VpcId") != filters["vpc"])
            or (filters["vsw"] and rec.get("VSwitchId") != filters["vsw"])
            or (filters["zone"] and rec.get("ZoneId") != filters["zone"])
            or (filters["sg"] and filters["sg"] not in (rec.get("SecurityGroupIds") or []))
            or (filters["status"] and rec.get("Status") != filters["status"])
            or (filters["name"] and not fnmatch.fnmatchcase(rec.get("InstanceName", ""), filters["name"]))
            or (filters["type"] and rec.get("InstanceType") != filters["type"])
            or filters["net"] == "classic"
            or ipv6  # no instance of the emulator has an IPv6 address
            or not all(k in (rec.get("Tags") or {}) and v in (None, (rec.get("Tags") or {})[k]) for k, v in tags)
        ):
            continue
        matched.append(rec)
    page, paging = paginate(p, matched, filters, Limits(max_results_max=100, page_size_max=100))
    return dict(paging, Instances={"Instance": [view(r) for r in page]})
