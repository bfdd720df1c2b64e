"""Read lag (``behaviour.read_lag``): describes that list resources see the world as it was a few
seconds of virtual time ago, as the cloud's eventually consistent reads do, while a describe that
names a resource by its own ID sees it at once (``applies_to: lists``, the default) or lags too
(``applies_to: all``). Writes always see the present. Off (0) unless the world or the control API
turns it on."""

from __future__ import annotations

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpc20160428 import models as vpc_models
from alicloud_emulator.world import WorldError, default_world, validate, with_timing

from .conftest import start_emulator
from .support import SG_A, create_initiator, interfaces

LAG = 5.0


def _world(**read_lag) -> dict:
    return dict(with_timing(default_world(), scale=0), behaviour={"read_lag": read_lag})


@pytest.fixture
def lagging():
    e = start_emulator(_world(seconds=LAG))
    yield e
    e.server.stop()


def _by_id(vpc, ri: str) -> list[str]:
    body = vpc.describe_router_interfaces(
        vpc_models.DescribeRouterInterfacesRequest(
            region_id="cn-qingdao",
            filter=[vpc_models.DescribeRouterInterfacesRequestFilter(key="RouterInterfaceId", value=[ri])],
        )
    ).body
    return [r.router_interface_id for r in body.router_interface_set.router_interface_type]


def test_a_new_resource_shows_in_lists_only_after_the_lag(lagging):
    a = lagging.side("account-a", "cn-qingdao")
    ri = create_initiator(a.vpc)
    assert interfaces(a.vpc, "cn-qingdao") == {}, "a list describe right after the create lags"
    assert _by_id(a.vpc, ri) == [ri], "a describe by the resource's own ID sees it at once"
    lagging.advance(LAG - 1)
    assert interfaces(a.vpc, "cn-qingdao") == {}
    lagging.advance(1.5)
    assert list(interfaces(a.vpc, "cn-qingdao")) == [ri]
    lists = [e for e in lagging.journal(action="DescribeRouterInterfaces")]
    assert all(e["read_lag_s"] == LAG for e in lists)


def test_writes_see_the_present_while_lists_lag(lagging):
    a = lagging.side("account-a", "cn-qingdao")
    ri = create_initiator(a.vpc)
    a.vpc.modify_router_interface_attribute(
        vpc_models.ModifyRouterInterfaceAttributeRequest(region_id="cn-qingdao", router_interface_id=ri, name="renamed")
    )
    assert interfaces(a.vpc, "cn-qingdao") == {}
    lagging.advance(LAG + 1)
    assert interfaces(a.vpc, "cn-qingdao")[ri].name == "renamed"
    assert "read_lag_s" not in lagging.journal(action="ModifyRouterInterfaceAttribute")[-1]


def test_a_change_shows_late_and_a_deleted_resource_lingers_in_lists(lagging):
    a = lagging.side("account-a", "cn-qingdao")
    ri = create_initiator(a.vpc, name="first")
    lagging.advance(LAG + 1)
    a.vpc.modify_router_interface_attribute(
        vpc_models.ModifyRouterInterfaceAttributeRequest(region_id="cn-qingdao", router_interface_id=ri, name="second")
    )
    assert interfaces(a.vpc, "cn-qingdao")[ri].name == "first"
    lagging.advance(LAG + 1)
    assert interfaces(a.vpc, "cn-qingdao")[ri].name == "second"
    a.vpc.delete_router_interface(
        vpc_models.DeleteRouterInterfaceRequest(region_id="cn-qingdao", router_interface_id=ri)
    )
    assert ri in interfaces(a.vpc, "cn-qingdao"), "a list still shows what was deleted a moment ago"
    assert _by_id(a.vpc, ri) == [], "a describe by ID sees the delete"
    lagging.advance(LAG + 1)
    assert interfaces(a.vpc, "cn-qingdao") == {}


def test_applies_to_all_lags_describes_by_id_too():
    emu = start_emulator(_world(seconds=LAG, applies_to="all"))
    try:
        a = emu.side("account-a", "cn-qingdao")
        ri = create_initiator(a.vpc)
        assert _by_id(a.vpc, ri) == []
        emu.advance(LAG + 1)
        assert _by_id(a.vpc, ri) == [ri]
    finally:
        emu.server.stop()


def test_a_new_rule_is_seen_at_once_through_its_groups_own_id(lagging):
    a = lagging.side("account-a", "cn-qingdao")
    a.ecs.authorize_security_group(
        ecs_models.AuthorizeSecurityGroupRequest(
            region_id="cn-qingdao",
            security_group_id=SG_A,
            permissions=[
                ecs_models.AuthorizeSecurityGroupRequestPermissions(
                    ip_protocol="ICMP", port_range="-1/-1", source_cidr_ip="172.16.0.0/16"
                )
            ],
        )
    )
    attr = a.ecs.describe_security_group_attribute(
        ecs_models.DescribeSecurityGroupAttributeRequest(region_id="cn-qingdao", security_group_id=SG_A)
    ).body
    assert [p.source_cidr_ip for p in attr.permissions.permission] == ["172.16.0.0/16"]


def test_off_by_default_and_switched_on_through_the_control_api(emu):
    a = emu.side("account-a", "cn-qingdao")
    first = create_initiator(a.vpc, name="before")
    assert list(interfaces(a.vpc, "cn-qingdao")) == [first], "no lag unless asked"
    emu.advance(LAG + 1)
    emu.control("behaviour", {"read_lag": {"seconds": LAG}})
    second = create_initiator(a.vpc, name="after")
    assert list(interfaces(a.vpc, "cn-qingdao")) == [first]
    emu.control("behaviour", {"read_lag": 0})
    assert list(interfaces(a.vpc, "cn-qingdao")) == [first, second]


def test_lag_never_hides_what_a_refusal_depends_on(lagging):
    """A create that the per-router limit refuses counts what exists now, not what a list shows."""
    a = lagging.side("account-a", "cn-qingdao")
    for i in range(5):
        create_initiator(a.vpc, name=f"ri-{i}")
    with pytest.raises(ClientException) as info:
        create_initiator(a.vpc, name="sixth")
    assert info.value.code == "LimitationExceed.InterfaceNumberOnRouter"


@pytest.mark.parametrize(
    "read_lag, field",
    [
        ({"seconds": -1}, "behaviour.read_lag.seconds"),
        ({"seconds": float("nan")}, "behaviour.read_lag.seconds"),
        ({"seconds": 3, "applies_to": "describes"}, "behaviour.read_lag.applies_to"),
        ({"sconds": 3}, "behaviour.read_lag.sconds"),
        ("soon", "behaviour.read_lag"),
        (True, "behaviour.read_lag"),
    ],
)
def test_a_bad_read_lag_is_refused_naming_the_field(read_lag, field):
    world = dict(default_world(), behaviour={"read_lag": read_lag})
    with pytest.raises(WorldError) as info:
        validate(world)
    assert str(info.value).startswith(field), info.value


def test_read_lag_takes_a_bare_number():
    model = validate(dict(default_world(), behaviour={"read_lag": 3}))
    assert model.behaviour is not None and model.behaviour.read_lag.seconds == 3.0
    assert model.behaviour.read_lag.applies_to == "lists"
