"""Router interface records: the vocabulary (roles, specs, states), the caller-scoped lookup, the
peer of a connected interface, and the two response shapes.

Records hold the fields listed for ``router_interface`` in ``products/__init__.py``. Two interfaces
are a connected pair when each names the other (interface ID, owner UID, region) and neither is
``Idle``: ConnectRouterInterface is the only way out of ``Idle``, and the Opposite* fields can only
change while ``Idle``, so a connected interface names its peer for the rest of its life. That
mutual naming is the only way a request reads another account's record. Records written by other
code may lack the optional fields; they read as the defaults of ``new_record``.
"""

from __future__ import annotations

from typing import Any

from ..context import Context
from ..errors import Constructor
from ..store import Tx
from .vpc_errors import router_interface_not_found

INITIATOR, ACCEPTOR = "InitiatingSide", "AcceptingSide"
ROLES = (INITIATOR, ACCEPTOR)
ROUTER_TYPES = ("VRouter", "VBR")

# Spec name -> bandwidth in Mbps; an acceptor has no bandwidth of its own and takes "Negative".
SPEC_BANDWIDTH = {
    "Mini.2": 2,
    "Mini.5": 5,
    "Small.1": 10,
    "Small.2": 20,
    "Small.5": 50,
    "Middle.1": 100,
    "Middle.2": 200,
    "Middle.5": 500,
    "Large.1": 1000,
    "Large.2": 2000,
    "Large.5": 5000,
    "Xlarge.1": 10000,
}
NEGATIVE = "Negative"
SPECS = (*SPEC_BANDWIDTH, NEGATIVE)
SPEC_CODE = "InvalidSpec.ValudNotSupported"  # sic: the only spelling the API documents

IDLE, CONNECTING, ACCEPTING = "Idle", "Connecting", "AcceptingConnecting"
ACTIVE, DEACTIVATING, INACTIVE, ACTIVATING, DELETING = "Active", "Deactivating", "Inactive", "Activating", "Deleting"

OPPOSITE_CLAIMS = ("OppositeInterfaceId", "OppositeRouterId", "OppositeRouterType", "OppositeInterfaceOwnerId")

_BUSINESS_NORMAL = "Normal"


def bandwidth_of(spec: str) -> int:
    return SPEC_BANDWIDTH.get(spec, 0)


def own(
    ctx: Context, ri_id: str, region: str, not_found: Constructor[[str, str]] = router_interface_not_found
) -> dict[str, Any]:
    """The caller's interface in ``region``; any other ID (another account's included) is
    ``not_found`` (404 ``InvalidRouterInterfaceId.NotFound`` unless the action documents another)."""
    rec = ctx.tx.get("router_interface", ri_id, account=ctx.uid)
    if rec is None or rec["_region"] != region:
        raise not_found(ri_id, region)
    return complete(rec)


def peer_of(tx: Tx, rec: dict[str, Any]) -> dict[str, Any] | None:
    """The other end of a connected pair, or ``None`` (never connected, or deleted since)."""
    if rec.get("Status") == IDLE or not rec.get("OppositeInterfaceId") or not rec.get("OppositeInterfaceOwnerId"):
        return None
    peer = tx.get("router_interface", rec["OppositeInterfaceId"], account=str(rec["OppositeInterfaceOwnerId"]))
    if (
        peer is None
        or peer["_region"] != rec.get("OppositeRegionId")
        or peer.get("Status") == IDLE
        or peer.get("OppositeInterfaceId") != rec["RouterInterfaceId"]
        or str(peer.get("OppositeInterfaceOwnerId")) != rec["_account"]
        or peer.get("OppositeRegionId") != rec["_region"]
    ):
        return None
    return peer


def _is_mainland(region: str) -> bool:
    return region.startswith("cn-") and region != "cn-hongkong"


def _item(tx: Tx, rec: dict[str, Any]) -> dict[str, Any]:
    """Fields shared by DescribeRouterInterfaces items and DescribeRouterInterfaceAttribute (each
    adds its own at the end)."""
    if not _DEFAULTS.keys() <= rec.keys():  # only read here, so a whole record needs no copy
        rec = complete(rec)
    peer = peer_of(tx, rec)
    gone = "Deleted" if rec["ConnectedTime"] else ""  # a peer that was connected once and is gone
    return {
        "RouterInterfaceId": rec["RouterInterfaceId"],
        "Name": rec["Name"],
        "Description": rec["Description"],
        "Role": rec["Role"],
        "RouterId": rec["RouterId"],
        "RouterType": rec["RouterType"],
        "VpcInstanceId": rec["VpcInstanceId"],
        "Spec": rec["Spec"],
        "Bandwidth": int(rec["Bandwidth"]),
        "Status": rec["Status"],
        "BusinessStatus": rec["BusinessStatus"],
        "ChargeType": rec["ChargeType"],
        "CreationTime": rec["CreationTime"],
        "ConnectedTime": rec["ConnectedTime"],
        "EndTime": rec["EndTime"],
        "OppositeInterfaceId": rec["OppositeInterfaceId"],
        "OppositeRouterId": rec["OppositeRouterId"],
        "OppositeRouterType": rec["OppositeRouterType"],
        "OppositeRegionId": rec["OppositeRegionId"],
        "OppositeInterfaceOwnerId": str(rec["OppositeInterfaceOwnerId"]),
        "OppositeVpcInstanceId": rec["OppositeVpcInstanceId"],  # filled in by ConnectRouterInterface
        "OppositeInterfaceStatus": peer.get("Status", "") if peer else gone,
        "OppositeInterfaceSpec": peer.get("Spec", "") if peer else "",
        "OppositeInterfaceBusinessStatus": peer.get("BusinessStatus", "") if peer else "",
        "OppositeBandwidth": int(peer.get("Bandwidth", 0)) if peer else 0,
        "HealthCheckSourceIp": rec["HealthCheckSourceIp"],
        "HealthCheckTargetIp": rec["HealthCheckTargetIp"],
        "HcRate": int(rec["HcRate"]),
        "HcThreshold": int(rec["HcThreshold"]),
        "AccessPointId": rec["AccessPointId"],
        "OppositeAccessPointId": rec["OppositeAccessPointId"],
        "CrossBorder": _is_mainland(rec["_region"]) != _is_mainland(rec["OppositeRegionId"]),
        "HasReservationData": "false",
        "ReservationActiveTime": "",
        "ReservationBandwidth": "",
        "ReservationInternetChargeType": "",
        "ReservationOrderType": "",
        "ResourceGroupId": rec["ResourceGroupId"],
        "Tags": {"Tags": [{"Key": t["Key"], "Value": t["Value"]} for t in rec["Tags"]]},
    }


def list_item(tx: Tx, rec: dict[str, Any]) -> dict[str, Any]:
    """A ``RouterInterfaceSet.RouterInterfaceType`` item (``FastLinkMode`` is a bool there)."""
    item = _item(tx, rec)
    item["FastLinkMode"] = False
    item["Ipv6Status"] = "off"
    return item


def attribute(tx: Tx, rec: dict[str, Any]) -> dict[str, Any]:
    """The flat DescribeRouterInterfaceAttribute body (``FastLinkMode`` is a string there)."""
    item = _item(tx, rec)
    item.update(
        FastLinkMode="false",
        GmtModified=rec.get("GmtModified", ""),
        HealthCheckStatus="Normal" if rec.get("HealthCheckTargetIp") else "NoHealthCheckConfig",
        Code="200",
        Message="successful",
        Success=True,
    )
    return item


def new_record(ri_id: str, created: str, **fields: Any) -> dict[str, Any]:
    """A fresh ``Idle`` interface; ``fields`` are the request's values."""
    rec: dict[str, Any] = {
        "RouterInterfaceId": ri_id,
        "Name": "",
        "Description": "",
        "Role": "",
        "RouterId": "",
        "RouterType": "",
        "VpcInstanceId": "",
        "Spec": "",
        "Bandwidth": 0,
        "Status": IDLE,
        "BusinessStatus": _BUSINESS_NORMAL,
        "ChargeType": "AfterPay",
        "CreationTime": created,
        "ConnectedTime": "",
        "EndTime": "",
        "GmtModified": created,
        "OppositeInterfaceId": "",
        "OppositeRouterId": "",
        "OppositeRouterType": "",
        "OppositeRegionId": "",
        "OppositeInterfaceOwnerId": "",
        "OppositeVpcInstanceId": "",
        "HealthCheckSourceIp": "",
        "HealthCheckTargetIp": "",
        "HcRate": 0,
        "HcThreshold": 0,
        "AccessPointId": "",
        "OppositeAccessPointId": "",
        "ResourceGroupId": "",
        "Tags": [],
    }
    rec.update({k: v for k, v in fields.items() if v is not None})
    rec["Bandwidth"] = bandwidth_of(rec["Spec"])
    return rec


_DEFAULTS = {k: v for k, v in new_record("", "").items() if k != "RouterInterfaceId"}


def complete(rec: dict[str, Any]) -> dict[str, Any]:
    """``rec`` with every field, those it lacks at their defaults (records written by other code)."""
    return dict(_DEFAULTS, **rec)
