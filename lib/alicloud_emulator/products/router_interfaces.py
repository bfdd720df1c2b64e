"""Router interfaces (Express Connect, VPC 2016-04-28): create, describe, modify, delete.

Connecting, activating and deactivating a pair are in ``router_interface_links.py``; every error
is a named constructor of ``vpc_errors.py``.

Rules, with their sources (today's reference where pages disagree):

* A new interface is ``Idle`` at once. The API has no ``Creating`` state, so the
  ``router_interface_create`` timing is not used.
* CreateRouterInterface: every Opposite* parameter is optional (CreateRouterInterface reference,
  https://help.aliyun.com/document_detail/36032.html, and the API metadata); ``OppositeRouterType``
  defaults to ``VRouter`` there (metadata default). ConnectRouterInterface needs all four set.
* ``OppositeInterfaceOwnerId`` is an account UID: the metadata types it ``long`` and the reference's
  own examples have 18 digits, so any positive integer that fits a long is accepted;
  ``InvalidAliuid`` is kept for what is not one (letters, signs, a leading zero, too large).
* ``InstanceChargeType``: ``PostPaid`` (pay-as-you-go, ChargeType ``AfterPay``) and ``PrePaid``
  (subscription) are both accepted, as the reference says ("create subscription and pay-as-you-go
  router interfaces"); a subscription takes ``PricingCycle`` (``Month`` 1-9 / ``Year`` 1-3
  ``Period``), answers with an ``OrderId`` (returned "when the subscription billing method is
  selected", metadata), and an AcceptingSide interface cannot be one
  (``Forbidden.AcceptRoleNotSupportPrePay``). There are no VBRs in the emulator, so
  ``RouterType=VBR`` ends in ``InvalidRouterId.NotFound``.
* A router has at most 5 interfaces: ``LimitationExceed.InterfaceNumberOnRouter`` (documented for the
  action; see ``vpc_errors.too_many_interfaces``).
* ModifyRouterInterfaceAttribute: any Opposite* parameter is refused unless the interface is
  ``Idle``; Name/Description/health check are allowed in Active, Idle and Inactive. Its state
  error is ``IncorrectStatus``, the code its page still documents. A request that sets Opposite*
  fields without ``OppositeRouterType`` sets it to the parameter's documented default ``VBR``;
  a type that does not fit ``OppositeRouterId`` is not refused here: as in the cloud, the pair
  then fails at ConnectRouterInterface.
* ModifyRouterInterfaceSpec on an ``Active`` interface re-provisions the link: ``Activating``
  for ``router_interface_modify`` seconds, then ``Active`` (reference: the interface "enters the
  Activating state"). Wrong state: ``InvalidInstance.StatusError``; a spec that does not fit the
  role: ``InvalidSpec.ValueNotSupported`` (the spelling documented for this action, while
  CreateRouterInterface documents ``InvalidSpec.ValudNotSupported``).
* DeleteRouterInterface: ``Idle`` or ``Inactive`` only, ``InvalidInstance.StatusError`` otherwise
  (current page, https://help.aliyun.com/document_detail/36034.html); refused while a route entry
  of the caller has the interface as next hop with ``RouterInterfaceReferredByRouteEntry`` (the
  same page also lists ``ReferredByRouteEntry.RouterInterface``; ``docs/parity.md`` records the
  choice). An unknown interface is ``InvalidInstanceId.NotFound`` (404), the code of the
  ECS-hosted DeleteRouterInterface page that terraform's Delete treats as "already gone". The
  interface is ``Deleting`` for ``router_interface_delete`` seconds, then gone; its peer is left as
  it is and reports ``OppositeInterfaceStatus`` ``Deleted``.
* DescribeRouterInterfaces: at most 5 filters and at most 5 values per filter (metadata
  ``maxItems`` 5 for ``Filter`` and ``Filter.N.Value``), more is ``InvalidParameter``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from ..context import Context
from ..errors import INVALID_PARAMETER, invalid, missing, missing_one_of
from ..params import Params
from ..regions import REGIONS
from ..timefmt import iso
from . import vpc_errors as err
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
    ROLES,
    ROUTER_TYPES,
    SPEC_BANDWIDTH,
    SPECS,
    attribute,
    bandwidth_of,
    list_item,
    new_record,
    own,
)

MAX_PER_ROUTER = 5
MAX_FILTERS = 5
MAX_FILTER_VALUES = 5
MAX_TAGS = 20
_LONG_MAX = 2**63 - 1
_UID = re.compile(r"[1-9]\d*")
_NAME = re.compile(r"[A-Za-z\u4e00-\u9fa5][A-Za-z0-9\u4e00-\u9fa5._-]{1,127}")
_INTERFACE_ID = re.compile(r"ri-[a-z0-9]+")
_ROUTER_ID = re.compile(r"(vrt|vbr)-[a-z0-9]+")
_STARTS_WITH_LETTER = re.compile(r"[A-Za-z\u4e00-\u9fa5]")
_PERIODS = {"Month": range(1, 10), "Year": range(1, 4)}

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
    role = p.text("Role", required=True, choices=ROLES, code=err.ROLE_UNSUPPORTED)
    router_type = p.text("RouterType", required=True, choices=ROUTER_TYPES, code=err.ROUTER_TYPE_UNSUPPORTED)
    router_id = p.text("RouterId", required=True)
    spec = p.text("Spec", required=True, choices=SPECS, code=err.SPEC_ON_CREATE)
    opposite_region = p.text("OppositeRegionId", required=True)
    if opposite_region not in REGIONS:
        raise err.opposite_region_not_found(opposite_region)
    claims = _opposite_claims(p)
    claims.setdefault("OppositeRouterType", "VRouter")  # the documented default at create
    _check_spec_for_role(role, spec, err.spec_not_for_role)
    name, description = _name(p), _description(p)
    charge = _charge(p, role)
    if p.flag("FastLinkMode"):
        raise invalid(
            "FastLinkMode", "only for RouterType=VBR with OppositeRouterType=VRouter, and this emulator has no VBRs"
        )
    health = _health_check(p, required_pair=True)
    tags = _tags(p)
    vpc = _own_router(ctx, router_type, router_id, region)
    count = len(ctx.tx.find("router_interface", account=ctx.uid, region=region, RouterId=router_id))
    if count >= MAX_PER_ROUTER:
        raise err.too_many_interfaces(router_id, MAX_PER_ROUTER, count)
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
        **charge,
        **claims,
        **health,
    )
    if rec["ChargeType"] == "PrePaid":
        days = 30 * rec["Period"] if rec["PricingCycle"] == "Month" else 365 * rec["Period"]
        rec["EndTime"] = iso(ctx.now + days * 86400)
    ctx.tx.insert("router_interface", ri_id, ctx.uid, region, rec)
    body: dict[str, Any] = {"RouterInterfaceId": ri_id}
    if rec["ChargeType"] == "PrePaid":  # "returned when the subscription billing method is selected"
        body["OrderId"] = _order_id(ri_id, ctx.now)
    return body


def _charge(p: Params, role: str) -> dict[str, Any]:
    """ChargeType (``AfterPay`` or ``PrePaid``) and, for a subscription, its end time."""
    charge = p.text("InstanceChargeType", default="PostPaid", choices=("PostPaid", "PrePaid"), code=err.CHARGE_TYPE)
    cycle = p.text("PricingCycle", default="Month", choices=tuple(_PERIODS), code=INVALID_PARAMETER)
    period = p.integer("Period")
    p.flag("AutoPay")
    p.flag("AutoRenew")
    if charge == "PostPaid":
        return {"ChargeType": "AfterPay"}
    if role == ACCEPTOR:
        raise err.accepting_side_prepaid()
    if period is None:
        raise missing("Period")
    assert cycle is not None  # it has a default
    if period not in _PERIODS[cycle]:
        valid = _PERIODS[cycle]
        raise invalid("Period", f"{period} is not a {cycle} period; valid: {valid.start} to {valid.stop - 1}")
    return {"ChargeType": "PrePaid", "PricingCycle": cycle, "Period": period}


def _order_id(ri_id: str, now: float) -> int:
    """A stable 14-digit order number, shaped like the reference's example (20210101123456)."""
    return int(iso(now)[:10].replace("-", "")) * 1_000_000 + int.from_bytes(ri_id.encode()[-6:], "big") % 1_000_000


def _own_router(ctx: Context, router_type: str, router_id: str, region: str) -> dict[str, Any]:
    """The caller's VPC whose VRouter is ``router_id`` in ``region``."""
    if router_type == "VRouter":
        vpc = next(iter(ctx.tx.find("vpc", account=ctx.uid, region=region, VRouterId=router_id)), None)
        if vpc is not None:
            return vpc
        detail = f"is not a VRouter of this account in {region} (use the VRouterId that DescribeVpcs returns)"
    else:
        detail = "is not a virtual border router of this account (this emulator has no VBRs)"
    raise err.router_not_found(router_id, detail)


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
    """``Filter.N.Key``/``Filter.N.Value.M``: values OR-ed within a filter, filters AND-ed; at most
    5 filters of at most 5 values each (metadata ``maxItems``)."""
    raw = p.sequence("Filter", max_items=MAX_FILTERS)
    out = []
    for n, f in enumerate(raw, start=1):
        if not isinstance(f, dict) or not f.get("Key"):
            raise missing(f"Filter.{n}.Key")
        key = f["Key"]
        if key not in _FILTERS:
            raise err.filter_key_unsupported(f"Filter.{n}.Key", key, ", ".join(_FILTERS))
        values = f.get("Value")
        values = [values] if isinstance(values, str) else values
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            raise missing(f"Filter.{n}.Value.1")
        if len(values) > MAX_FILTER_VALUES:
            raise invalid(f"Filter.{n}.Value.N", f"at most {MAX_FILTER_VALUES} values, got {len(values)}")
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
            raise err.health_check_conflict()
        health.update(HealthCheckSourceIp="", HealthCheckTargetIp="")
    rec = own(ctx, ri_id, region)
    if claims and rec["Status"] != IDLE:
        raise err.ri_incorrect_status(
            ri_id, rec["Status"], "Idle", "Opposite* fields change only while Idle; delete and re-create to repoint."
        )
    if rec["Status"] not in (ACTIVE, IDLE, INACTIVE):
        raise err.ri_incorrect_status(ri_id, rec["Status"], "Active, Idle or Inactive")
    if claims and "OppositeRouterType" not in claims:
        claims["OppositeRouterType"] = "VBR"  # the documented default of this action's parameter
    rec.update(claims, **health)
    changes = {"Name": name, "Description": description, **rates}
    rec.update({k: v for k, v in changes.items() if v is not None})
    rec["GmtModified"] = iso(ctx.now)
    ctx.tx.put(rec)
    return {}


def modify_router_interface_spec(ctx: Context, p: Params) -> dict[str, Any]:
    region = ctx.region()
    ri_id = p.text("RouterInterfaceId", required=True)
    spec = p.text("Spec", required=True, choices=SPECS, code=err.SPEC_ON_MODIFY)
    rec = own(ctx, ri_id, region)
    _check_spec_for_role(rec["Role"], spec, err.spec_not_for_role_on_modify)
    if rec["Status"] not in (ACTIVE, IDLE, INACTIVE):
        raise err.ri_status_error(ri_id, rec["Status"], "Active, Idle or Inactive")
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
    rec = own(ctx, ri_id, region, not_found=err.instance_id_not_found)
    if rec["Status"] not in (IDLE, INACTIVE):
        hint = "Deactivate it first." if rec["Status"] == ACTIVE else ""
        raise err.ri_status_error(ri_id, rec["Status"], "Idle or Inactive", hint)
    routes = ctx.tx.find("route_entry", account=ctx.uid, NextHopId=ri_id)
    if routes:
        raise err.referred_by_route_entry(ri_id, ", ".join(r["RouteEntryId"] for r in routes))
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
    router_type = p.text("OppositeRouterType", choices=ROUTER_TYPES, code=err.OPPOSITE_ROUTER_TYPE_UNSUPPORTED)
    if router_type is not None:
        claims["OppositeRouterType"] = router_type
    owner = p.text("OppositeInterfaceOwnerId")
    if owner is not None:
        if not _UID.fullmatch(owner) or int(owner) > _LONG_MAX:
            raise err.invalid_aliuid("OppositeInterfaceOwnerId", owner)
        claims["OppositeInterfaceOwnerId"] = owner
    return claims


def _check_spec_for_role(role: str, spec: str, refuse: Any) -> None:
    if role == ACCEPTOR and spec != NEGATIVE:
        raise refuse(spec, role, f'"{NEGATIVE}" (its bandwidth is the initiator\'s)')
    if role == INITIATOR and spec == NEGATIVE:
        raise refuse(spec, role, ", ".join(SPEC_BANDWIDTH) + f" ({NEGATIVE} is only for an AcceptingSide interface)")


def _name(p: Params) -> str | None:
    name = p.text("Name")
    if name is not None and not _NAME.fullmatch(name):
        raise err.name_malformed(name)
    return name


def _description(p: Params) -> str | None:
    text = p.text("Description")
    if text is not None and (
        not 2 <= len(text) <= 256
        or not _STARTS_WITH_LETTER.match(text)
        or text.lower().startswith(("http://", "https://"))
    ):
        raise err.description_malformed()
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
        raise missing_one_of('"HealthCheckTargetIp"', "it is required when HealthCheckSourceIp is given")
    return out


def _tags(p: Params) -> list[dict[str, str]]:
    raw = p.sequence("Tags", max_items=MAX_TAGS)
    tags = []
    for n, t in enumerate(raw, start=1):
        if not isinstance(t, dict) or not t.get("Key"):
            raise missing(f"Tags.{n}.Key")
        tags.append({"Key": str(t["Key"]), "Value": str(t.get("Value") or "")})
    return tags
