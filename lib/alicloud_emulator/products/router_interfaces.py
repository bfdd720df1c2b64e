"""Router interfaces (Express Connect, VPC 2016-04-28): create, describe, modify, delete.

Connecting, activating and deactivating a pair are in ``router_interface_links.py``.

Choices made where the API documents nothing or disagrees with itself:

* A new interface is ``Idle`` at once. The API has no ``Creating`` state, so the
  ``router_interface_create`` timing is not used.
* Status errors use ``IncorrectStatus`` (not ``IncorrectRIStatus``); ModifyRouterInterfaceSpec
  uses its own documented ``InvalidInstance.StatusError``. Spec errors use the documented
  ``InvalidSpec.ValudNotSupported`` (sic).
* ``OppositeInterfaceOwnerId`` must be a 16-digit account UID (``InvalidAliuid`` otherwise). When it
  is given, CreateRouterInterface also requires ``OppositeRouterType`` and ``OppositeRouterId``.
* ModifyRouterInterfaceAttribute: any Opposite* parameter is refused unless the interface is
  ``Idle`` (``IncorrectStatus``), even when it repeats the stored value; Name/Description/health
  check are allowed in Active, Idle and Inactive. ``OppositeRouterType`` takes its documented
  default ``VBR`` when Opposite* fields are set without it and none is stored, and an
  ``OppositeRouterId`` whose prefix (``vrt-``/``vbr-``) disagrees with the type is refused at once
  (the cloud would only fail at ConnectRouterInterface).
* Only pay-as-you-go interfaces are modelled (ChargeType ``AfterPay``); ``PrePaid`` is refused.
  There are no VBRs in the emulator, so ``RouterType=VBR`` ends in ``InvalidRouterId.NotFound``.
* A router has at most 5 interfaces: ``QuotaExceeded``.
* DeleteRouterInterface: ``Idle`` or ``Inactive`` only; refused while any route entry of the
  caller has the interface as next hop. The interface is ``Deleting`` for
  ``router_interface_delete`` seconds, then gone; its peer is left as it is and reports
  ``OppositeInterfaceStatus`` ``Deleted``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from ..context import Context
from ..errors import ApiError, invalid, missing, not_found
from ..params import Params
from ..regions import REGIONS
from ..timefmt import iso
from .paging import by_page_number
from .router_interface_records import (
    ACCEPTOR,
    ACTIVATING,
    ACTIVE,
    DELETING,
    IDLE,
    INACTIVE,
    INITIATOR,
    NEGATIVE,
    OPPOSITE_CLAIMS,
    ROLES,
    ROUTER_TYPES,
    SPEC_BANDWIDTH,
    SPEC_CODE,
    SPECS,
    attribute,
    bandwidth_of,
    list_item,
    new_record,
    own,
)

MAX_PER_ROUTER = 5
MAX_FILTERS = 5
MAX_TAGS = 20
_UID = re.compile(r"\d{16}")
_NAME = re.compile(r"[A-Za-z\u4e00-\u9fa5][A-Za-z0-9\u4e00-\u9fa5._-]{1,127}")
_ROUTER_PREFIX = {"VRouter": "vrt-", "VBR": "vbr-"}
_INTERFACE_ID = re.compile(r"ri-[a-z0-9]+")
_ROUTER_ID = re.compile(r"(vrt|vbr)-[a-z0-9]+")
_STARTS_WITH_LETTER = re.compile(r"[A-Za-z\u4e00-\u9fa5]")

# DescribeRouterInterfaces filter key -> how to read it from a record.
_FILTERS = {
    "RouterInterfaceId": lambda r: r["RouterInterfaceId"],
    "RouterId": lambda r: r["RouterId"],
    "RouterType": lambda r: r["RouterType"],
    "RouterInterfaceOwnerId": lambda r: r["_account"],
    "OppositeInterfaceId": lambda r: r["OppositeInterfaceId"],
    "OppositeRouterType": lambda r: r["OppositeRouterType"],
    "OppositeRouterId": lambda r: r["OppositeRouterId"],
    "OppositeInterfaceOwnerId": lambda r: str(r["OppositeInterfaceOwnerId"]),
    "Status": lambda r: r["Status"],
    "Name": lambda r: r["Name"],
}


# -- create -------------------------------------------------------------------------------------------
def create_router_interface(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    role = p.text("Role", required=True, choices=ROLES)
    router_type = p.text("RouterType", required=True, choices=ROUTER_TYPES)
    router_id = p.text("RouterId", required=True)
    spec = p.text("Spec", required=True, choices=SPECS, code=SPEC_CODE)
    opposite_region = p.text("OppositeRegionId", required=True)
    if opposite_region not in REGIONS:
        raise not_found(
            "InvalidOppositeRegionId.NotFound",
            f'The specified OppositeRegionId "{opposite_region}" does not exist; known regions: {", ".join(REGIONS)}.',
        )
    claims = _opposite_claims(p)
    if "OppositeInterfaceOwnerId" in claims:
        # The peer's interface cannot be described with this account's keys, so its router is named.
        for needed in ("OppositeRouterType", "OppositeRouterId"):
            if needed not in claims:
                raise ApiError(
                    "MissingParameter",
                    f'The input parameter "{needed}" is mandatory when '
                    "OppositeInterfaceOwnerId is given (the peer's router cannot be looked up across accounts).",
                )
    _check_router_prefix(claims)
    _check_spec_for_role(role, spec)
    name, description = _name(p), _description(p)
    charge = p.text("InstanceChargeType", default="PostPaid", choices=("PostPaid", "PrePaid"))
    if charge == "PrePaid":
        raise ApiError(
            "InvalidInstanceChargeType.ValueNotSupported",
            "InstanceChargeType PrePaid (subscription) is not modelled by this emulator; use PostPaid.",
        )
    if p.flag("FastLinkMode"):
        raise invalid(
            "FastLinkMode", "only for RouterType=VBR with OppositeRouterType=VRouter, and this emulator has no VBRs"
        )
    health = _health_check(p, required_pair=True)
    tags = _tags(p)
    vpc = _own_router(ctx, router_type, router_id, region)
    count = len(ctx.tx.find("router_interface", account=ctx.uid, region=region, RouterId=router_id))
    if count >= MAX_PER_ROUTER:
        raise ApiError(
            "QuotaExceeded",
            f"A router has at most {MAX_PER_ROUTER} router interfaces; {router_id} has {count}. Delete one first.",
        )
    ri_id = ctx.tx.new_id("ri-")
    rec = new_record(
        ri_id,
        iso(ctx.now),
        Role=role,
        RouterType=router_type,
        RouterId=router_id,
        VpcInstanceId=vpc["VpcId"],
        Spec=spec,
        OppositeRegionId=opposite_region,
        Name=name,
        Description=description,
        AccessPointId=p.text("AccessPointId"),
        OppositeAccessPointId=p.text("OppositeAccessPointId"),
        ResourceGroupId=p.text("ResourceGroupId"),
        Tags=tags,
        **claims,
        **health,
    )
    ctx.tx.insert("router_interface", ri_id, ctx.uid, region, rec)
    return {"RouterInterfaceId": ri_id}


def _own_router(ctx: Context, router_type: str, router_id: str, region: str) -> dict[str, Any]:
    """The caller's VPC whose VRouter is ``router_id`` in ``region``."""
    if router_type == "VRouter":
        vpc = next(iter(ctx.tx.find("vpc", account=ctx.uid, region=region, VRouterId=router_id)), None)
        if vpc is not None:
            return vpc
        detail = f"is not a VRouter of this account in {region} (use the VRouterId that DescribeVpcs returns)"
    else:
        detail = "is not a virtual border router of this account (this emulator has no VBRs)"
    raise not_found("InvalidRouterId.NotFound", f'The specified RouterId "{router_id}" {detail}.')


# -- describe -------------------------------------------------------------------------------------------
def describe_router_interfaces(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    filters = _filters(p)
    tags = _tags(p)
    group = p.text("ResourceGroupId")
    p.flag("IncludeReservationData")  # accepted; there is never reservation data
    found = [
        r
        for r in ctx.tx.find("router_interface", account=ctx.uid, region=region)
        if all(_FILTERS[key](r) in values for key, values in filters)
        and all(_has_tag(r, t) for t in tags)
        and (group is None or r["ResourceGroupId"] == group)
    ]
    page, counts = by_page_number(found, p)
    return dict(counts, RouterInterfaceSet={"RouterInterfaceType": [list_item(ctx.tx, r) for r in page]})


def describe_router_interface_attribute(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    rec = own(ctx, p.text("InstanceId", required=True), region)
    return attribute(ctx.tx, rec)


def _filters(p: Params) -> list[tuple[str, set[str]]]:
    """``Filter.N.Key``/``Filter.N.Value.M``: values OR-ed within a filter, filters AND-ed."""
    raw = p.sequence("Filter")
    if len(raw) > MAX_FILTERS:
        raise invalid("Filter", f"at most {MAX_FILTERS} filters, got {len(raw)}")
    out = []
    for n, f in enumerate(raw, start=1):
        if not isinstance(f, dict) or not f.get("Key"):
            raise missing(f"Filter.{n}.Key")
        key = f["Key"]
        if key not in _FILTERS:
            raise not_found(
                "InvalidFilterKey.ValueNotSupported",
                f'Specified filter key is not supported: Filter.{n}.Key "{key}"; valid keys: {", ".join(_FILTERS)}.',
            )
        values = f.get("Value")
        values = [values] if isinstance(values, str) else values
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            raise missing(f"Filter.{n}.Value.1")
        out.append((key, set(values)))
    return out


def _has_tag(rec: dict[str, Any], wanted: dict[str, str]) -> bool:
    return any(
        t["Key"] == wanted["Key"] and (not wanted["Value"] or t["Value"] == wanted["Value"]) for t in rec["Tags"]
    )


# -- modify -------------------------------------------------------------------------------------------
def modify_router_interface_attribute(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    ri_id = p.text("RouterInterfaceId", required=True)
    claims = _opposite_claims(p)
    name, description = _name(p), _description(p)
    health = _health_check(p, required_pair=False)
    rates = {f: p.integer(f, min=1, max=2**31 - 1) for f in ("HcRate", "HcThreshold")}  # Integer in the API
    if p.flag("DeleteHealthCheckIp"):
        if health.get("HealthCheckSourceIp") or health.get("HealthCheckTargetIp"):
            raise ApiError(
                "InvalidParam.ModifyRouterInterface", "healthCheck Ip is conflicted with DeleteHealthCheckIp option."
            )
        health.update(HealthCheckSourceIp="", HealthCheckTargetIp="")
    rec = own(ctx, ri_id, region)
    if claims and rec["Status"] != IDLE:
        raise ApiError(
            "IncorrectStatus",
            f"The Opposite* fields of a router interface can be changed only while it is "
            f"Idle; {ri_id} is {rec['Status']}. Delete and re-create the interface to point it elsewhere.",
        )
    if rec["Status"] not in (ACTIVE, IDLE, INACTIVE):
        raise ApiError(
            "IncorrectStatus",
            "RouterInterface can be operated by this action only when the status is "
            f"Active,idle or inactive; {ri_id} is {rec['Status']}.",
        )
    if claims and "OppositeRouterType" not in claims and not rec["OppositeRouterType"]:
        claims["OppositeRouterType"] = "VBR"  # the documented default of this parameter
    merged = {k: claims.get(k, rec[k]) for k in OPPOSITE_CLAIMS}
    if merged["OppositeInterfaceOwnerId"] and not merged["OppositeRouterId"]:
        raise ApiError(
            "MissingParameter",
            'The input parameter "OppositeRouterId" is mandatory when '
            "OppositeInterfaceOwnerId is set (the peer's router cannot be looked up across accounts).",
        )
    _check_router_prefix(merged)
    rec.update(claims, **health)
    changes = {"Name": name, "Description": description, **rates}
    rec.update({k: v for k, v in changes.items() if v is not None})
    rec["GmtModified"] = iso(ctx.now)
    ctx.tx.put(rec)
    return {}


def modify_router_interface_spec(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    ri_id = p.text("RouterInterfaceId", required=True)
    spec = p.text("Spec", required=True, choices=SPECS, code=SPEC_CODE)
    rec = own(ctx, ri_id, region)
    _check_spec_for_role(rec["Role"], spec)
    if rec["Status"] not in (ACTIVE, IDLE, INACTIVE):
        raise ApiError(
            "InvalidInstance.StatusError",
            "The spec of a router interface can be changed only when it is "
            f"Active, Idle or Inactive; {ri_id} is {rec['Status']}.",
        )
    rec.update(Spec=spec, Bandwidth=bandwidth_of(spec), GmtModified=iso(ctx.now))
    if rec["Status"] == ACTIVE:  # a live link is re-provisioned
        rec["Status"] = ACTIVATING
        ctx.tx.schedule(rec, ctx.timing("router_interface_modify"), Status=ACTIVE)
    ctx.tx.put(rec)
    return {"Spec": spec}


# -- delete -------------------------------------------------------------------------------------------
def delete_router_interface(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    ri_id = p.text("RouterInterfaceId", required=True)
    rec = own(ctx, ri_id, region)
    if rec["Status"] not in (IDLE, INACTIVE):
        raise ApiError(
            "IncorrectStatus",
            "RouterInterface can be operated by this action only when it's status is "
            f"Idle or Inactive; {ri_id} is {rec['Status']}."
            + (" Deactivate it first." if rec["Status"] == ACTIVE else ""),
        )
    routes = ctx.tx.find("route_entry", account=ctx.uid, NextHopId=ri_id)
    if routes:
        raise ApiError(
            "DependencyViolation.RouterInterfaceReferedByRouteEntry",
            f"The router interface {ri_id} is the next hop of route entries "
            f"{', '.join(r['RouteEntryId'] for r in routes)}; delete them first.",
        )
    rec.update(Status=DELETING, GmtModified=iso(ctx.now))
    ctx.tx.remove(rec, ctx.timing("router_interface_delete"))
    return {}


# -- parameter checks shared by create and modify ------------------------------------------------------
def _opposite_claims(p: Params) -> dict[str, str]:
    """The Opposite* parameters the request sets, validated."""
    claims: dict[str, str] = {}
    ri = p.text("OppositeInterfaceId")
    if ri is not None:
        if not _INTERFACE_ID.fullmatch(ri):
            raise invalid("OppositeInterfaceId", f'"{ri}" is not a router interface ID (ri-...)')
        claims["OppositeInterfaceId"] = ri
    router = p.text("OppositeRouterId")
    if router is not None:
        if not _ROUTER_ID.fullmatch(router):
            raise invalid("OppositeRouterId", f'"{router}" is not a router ID (vrt-... for a VPC\'s VRouter)')
        claims["OppositeRouterId"] = router
    router_type = p.text("OppositeRouterType", choices=ROUTER_TYPES)
    if router_type is not None:
        claims["OppositeRouterType"] = router_type
    owner = p.text("OppositeInterfaceOwnerId")
    if owner is not None:
        if not _UID.fullmatch(owner):
            raise ApiError(
                "InvalidAliuid",
                f'Invalid Aliuid: OppositeInterfaceOwnerId "{owner}" must be the 16-digit '
                "UID of the peer's Alibaba Cloud (main) account.",
            )
        claims["OppositeInterfaceOwnerId"] = owner
    return claims


def _check_router_prefix(claims: dict[str, str]) -> None:
    router, router_type = claims.get("OppositeRouterId"), claims.get("OppositeRouterType")
    if router and router_type and not router.startswith(_ROUTER_PREFIX[router_type]):
        raise invalid(
            "OppositeRouterType",
            f'{router_type} does not match OppositeRouterId "{router}"; a VPC\'s '
            "router is OppositeRouterType=VRouter (ModifyRouterInterfaceAttribute defaults it to VBR)",
        )


def _check_spec_for_role(role: str, spec: str) -> None:
    if role == ACCEPTOR and spec != NEGATIVE:
        raise ApiError(
            SPEC_CODE,
            f'The specified Spec "{spec}" is not supported: an AcceptingSide router interface '
            f'takes Spec "{NEGATIVE}" (its bandwidth is the initiator\'s).',
        )
    if role == INITIATOR and spec == NEGATIVE:
        raise ApiError(
            SPEC_CODE,
            f'The specified Spec "{NEGATIVE}" is only for an AcceptingSide router interface; '
            f"an InitiatingSide one takes a bandwidth spec: {', '.join(SPEC_BANDWIDTH)}.",
        )


def _name(p: Params) -> str | None:
    name = p.text("Name")
    if name is not None and not _NAME.fullmatch(name):
        raise ApiError(
            "InvalidName.Malformed",
            f'The specified Name "{name}" is illegal: 2 to 128 characters, '
            "starting with a letter or Chinese character; letters, digits, '.', '_' and '-' allowed.",
        )
    return name


def _description(p: Params) -> str | None:
    text = p.text("Description")
    if text is not None and (
        not 2 <= len(text) <= 256
        or not _STARTS_WITH_LETTER.match(text)
        or text.lower().startswith(("http://", "https://"))
    ):
        raise ApiError(
            "InvalidDescription.Malformed",
            "The specified Description is illegal: 2 to 256 characters, "
            "starting with a letter or Chinese character, not with http:// or https://.",
        )
    return text


def _health_check(p: Params, required_pair: bool) -> dict[str, str]:
    out = {}
    for field in ("HealthCheckSourceIp", "HealthCheckTargetIp"):
        value = p.text(field)
        if value is not None:
            try:
                ipaddress.IPv4Address(value)
            except ValueError:
                raise invalid(field, f'"{value}" is not an IPv4 address') from None
            out[field] = value
    if required_pair and "HealthCheckSourceIp" in out and "HealthCheckTargetIp" not in out:
        raise ApiError(
            "MissingParameter",
            'The input parameter "HealthCheckTargetIp" is mandatory when HealthCheckSourceIp is given.',
        )
    return out


def _tags(p: Params) -> list[dict[str, str]]:
    raw = p.sequence("Tags")
    if len(raw) > MAX_TAGS:
        raise invalid("Tags", f"at most {MAX_TAGS} tags, got {len(raw)}")
    tags = []
    for n, t in enumerate(raw, start=1):
        if not isinstance(t, dict) or not t.get("Key"):
            raise missing(f"Tags.{n}.Key")
        tags.append({"Key": str(t["Key"]), "Value": str(t.get("Value") or "")})
    return tags
