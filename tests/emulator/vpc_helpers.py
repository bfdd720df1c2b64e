"""Helpers for the VPC contract tests: calls through the official SDK that also check the raw
response against the SDK's model, error capture, and the two-account router interface set-up."""

from __future__ import annotations

import copy
import functools
import inspect
import re
from typing import Any

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpc20160428 import models as m
from alibabacloud_vpc20160428.client import Client as VpcClient
from alicloud_emulator.world import default_world, with_timing

from .conftest import Side, roundtrip

VPC1, VRT1, VTB1, VSW1 = (
    "vpc-m5e1tutorialvpc1qd00001",
    "vrt-m5e1tutorialvrt1qd00001",
    "vtb-m5e1tutorialvtb1qd00001",
    "vsw-m5e1tutorialvsw1qd00001",
)
VPC2, VRT2, VTB2, VSW2 = (
    "vpc-2ze2tutorialvpc2bj00001",
    "vrt-2ze2tutorialvrt2bj00001",
    "vtb-2ze2tutorialvtb2bj00001",
    "vsw-2ze2tutorialvsw2bj00001",
)
INSTANCE1 = "i-m5e1tutorialecs1qd00001"


def call(client: VpcClient, method: str, request: Any) -> dict[str, Any]:
    """Call ``client.<method>(request)`` and return the raw JSON body, after checking that the SDK's
    response model keeps every key and that every value has the type the model declares."""
    raw: dict[str, Any] = {}
    real = client.call_api

    def keep_raw(params: Any, req: Any, runtime: Any) -> Any:
        result = real(params, req, runtime)
        raw.update(copy.deepcopy(result["body"]))
        return result

    client.call_api = keep_raw  # an instance attribute: the class's method is untouched
    try:
        response = getattr(client, method)(request)
    finally:
        del client.call_api
    body_cls = type(response.body)
    roundtrip(body_cls, raw)
    check_types(body_cls, raw)
    assert isinstance(raw.get("RequestId"), str) and raw["RequestId"]
    return raw


def fails(client: VpcClient, method: str, request: Any) -> ClientException:
    """The error an SDK call raises (the test fails if it succeeds)."""
    with pytest.raises(ClientException) as caught:
        getattr(client, method)(request)
    return caught.value


def api_message(e: ClientException) -> str:
    """The service's own ``Message`` (the SDK's ``e.message`` adds the status and request ID)."""
    return e.data["Message"]


def expect_error(client: VpcClient, method: str, request: Any, code: str, status: int = 400) -> ClientException:
    e = fails(client, method, request)
    assert (e.code, e.status_code) == (code, status), e.message
    return e


# -- strict types from the SDK models -----------------------------------------------------------------
_SCALARS: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "bool": (bool,), "float": (int, float)}


@functools.cache
def _schema(cls: Any) -> dict[str, str]:
    """JSON key -> annotation of a generated model, read from its ``to_map`` and ``__init__``."""
    src = inspect.getsource(cls.to_map)
    init = cls.__init__
    ann = {n: str(p.annotation) for n, p in inspect.signature(init).parameters.items() if n != "self"}
    keys = {k: ann[a] for k, a in re.findall(r"result\['(\w+)'\] = self\.(\w+)", src)}
    keys.update({k: ann[a] for k, a in re.findall(r"result\['(\w+)'\] = \[\]\s*\n\s*if self\.(\w+) is not None", src)})
    return keys


def check_types(cls: type, body: dict[str, Any], path: str = "body") -> None:
    schema = _schema(cls)
    for key, value in body.items():
        assert key in schema, f"{path}.{key} is not a field of {cls.__name__}"
        _check_value(schema[key], value, f"{path}.{key}")


def _check_value(ann: str, value: Any, path: str) -> None:
    assert value is not None, f"{path} is null"
    listed = re.fullmatch(r"List\[(.+)\]", ann)
    if listed:
        assert isinstance(value, list), f"{path}: expected a list, got {value!r}"
        for i, v in enumerate(value):
            _check_value(listed.group(1), v, f"{path}[{i}]")
        return
    nested = re.fullmatch(r"main_models\.(\w+)", ann)
    if nested:
        assert isinstance(value, dict), f"{path}: expected an object, got {value!r}"
        check_types(getattr(m, nested.group(1)), value, path)
        return
    kinds = _SCALARS[ann]
    assert isinstance(value, kinds) and not (bool not in kinds and isinstance(value, bool)), (
        f"{path}: expected {ann}, got {type(value).__name__} {value!r}"
    )


# -- router interfaces ------------------------------------------------------------------------------------
def create_ri(
    side: Side,
    role: str = "InitiatingSide",
    spec: str | None = None,
    router_id: str | None = None,
    opposite_region: str | None = None,
    **extra: Any,
) -> str:
    default_router = VRT1 if side.region == "cn-qingdao" else VRT2
    default_opposite = "cn-beijing" if side.region == "cn-qingdao" else "cn-qingdao"
    req = m.CreateRouterInterfaceRequest(
        region_id=side.region,
        role=role,
        router_type="VRouter",
        router_id=router_id or default_router,
        spec=spec or ("Negative" if role == "AcceptingSide" else "Large.1"),
        opposite_region_id=opposite_region or default_opposite,
        **extra,
    )
    body = call(side.vpc, "create_router_interface", req)
    assert re.fullmatch(r"ri-[a-z0-9]{20}", body["RouterInterfaceId"])
    return body["RouterInterfaceId"]


def point_at(side: Side, ri_id: str, peer: Side, peer_ri: str, peer_router: str, **extra: Any) -> None:
    """``ri_id`` of ``side`` claims ``peer_ri`` on ``peer_router`` of ``peer``'s account."""
    call(
        side.vpc,
        "modify_router_interface_attribute",
        m.ModifyRouterInterfaceAttributeRequest(
            region_id=side.region,
            router_interface_id=ri_id,
            opposite_interface_id=peer_ri,
            opposite_router_id=peer_router,
            opposite_router_type="VRouter",
            opposite_interface_owner_id=int(peer.uid),
            **extra,
        ),
    )


def configured_pair(a: Side, b: Side) -> tuple[str, str]:
    """A's initiator and B's acceptor, each pointing at the other, both Idle."""
    ri_a = create_ri(a, "InitiatingSide")
    ri_b = create_ri(b, "AcceptingSide")
    point_at(b, ri_b, a, ri_a, VRT1)
    point_at(a, ri_a, b, ri_b, VRT2)
    return ri_a, ri_b


def connect(a: Side, ri_a: str) -> None:
    call(
        a.vpc, "connect_router_interface", m.ConnectRouterInterfaceRequest(region_id=a.region, router_interface_id=ri_a)
    )


def attribute(side: Side, ri_id: str) -> dict[str, Any]:
    return call(
        side.vpc,
        "describe_router_interface_attribute",
        m.DescribeRouterInterfaceAttributeRequest(region_id=side.region, instance_id=ri_id),
    )


def status(side: Side, ri_id: str) -> str:
    return attribute(side, ri_id)["Status"]


def interfaces(side: Side, *filters: tuple[str, list[str]], **extra: Any) -> dict[str, Any]:
    return call(
        side.vpc,
        "describe_router_interfaces",
        m.DescribeRouterInterfacesRequest(
            region_id=side.region,
            filter=[m.DescribeRouterInterfacesRequestFilter(key=k, value=v) for k, v in filters] or None,
            **extra,
        ),
    )


def ri_action(side: Side, action: str, ri_id: str) -> dict[str, Any]:
    """Activate/Deactivate/Delete/Connect, which all take RegionId and RouterInterfaceId."""
    request_cls = getattr(m, "".join(w.capitalize() for w in action.split("_")) + "Request")
    return call(side.vpc, action, request_cls(region_id=side.region, router_interface_id=ri_id))


def ri_action_fails(side: Side, action: str, ri_id: str, code: str, status: int = 400) -> ClientException:
    request_cls = getattr(m, "".join(w.capitalize() for w in action.split("_")) + "Request")
    return expect_error(side.vpc, action, request_cls(region_id=side.region, router_interface_id=ri_id), code, status)


# -- route entries ------------------------------------------------------------------------------------------
def route_entries(side: Side, table: str, **filters: Any) -> dict[str, Any]:
    return call(
        side.vpc,
        "describe_route_entry_list",
        m.DescribeRouteEntryListRequest(region_id=side.region, route_table_id=table, **filters),
    )


def add_route(side: Side, table: str, cidr: str, hop: str, hop_type: str = "RouterInterface", **extra: Any) -> str:
    body = call(
        side.vpc,
        "create_route_entry",
        m.CreateRouteEntryRequest(
            region_id=side.region,
            route_table_id=table,
            destination_cidr_block=cidr,
            next_hop_type=hop_type,
            next_hop_id=hop,
            **extra,
        ),
    )
    assert re.fullmatch(r"rte-[a-z0-9]{20}", body["RouteEntryId"])
    return body["RouteEntryId"]


def route_status(side: Side, table: str, entry_id: str) -> str | None:
    found = route_entries(side, table, route_entry_id=entry_id)["RouteEntrys"]["RouteEntry"]
    return found[0]["Status"] if found else None


# -- worlds ---------------------------------------------------------------------------------------------------
def world_with_more_vpcs(count: int) -> dict[str, Any]:
    """The tutorial world plus ``count`` VPCs of account A in cn-qingdao, with fixed IDs."""
    world = with_timing(default_world(), scale=0)
    extra = [
        {
            "account": "account-a",
            "region": "cn-qingdao",
            "name": f"extra-{n}",
            "id": f"vpc-m5eextra{n:02d}",
            "vrouter_id": f"vrt-m5eextra{n:02d}",
            "route_table_id": f"vtb-m5eextra{n:02d}",
            "cidr": f"10.{n}.0.0/16",
            "vswitches": [{"id": f"vsw-m5eextra{n:02d}", "zone": "cn-qingdao-c", "cidr": f"10.{n}.1.0/24"}],
        }
        for n in range(1, count + 1)
    ]
    return dict(world, vpcs=world["vpcs"] + extra)
