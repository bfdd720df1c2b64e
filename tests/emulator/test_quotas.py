"""API quotas per (account, region, action) on the virtual clock: the call over its quota is refused
with ``Throttling.User`` as the cloud refuses it, the window slides, overrides come from the world
file and the control API, and threads never get past a quota together."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.exceptions import ClientException, ThrottlingException
from alibabacloud_vpc20160428 import models as vpc_models
from alibabacloud_vpc20160428.client import Client as VpcClient
from alicloud_emulator.quotas import TABLE
from alicloud_emulator.world import WorldError, default_world, validate, with_timing

from .conftest import Emu, start_emulator
from .support import control_status, raw_exchange, role_arn, signed_path, split_response, sts_config
from .test_sts_assume_role import assume


def quota_world(overrides: dict[str, Any], enabled: bool = True) -> dict[str, Any]:
    world = with_timing(default_world(), scale=0)
    world["behaviour"] = {"quotas": {"enabled": enabled, "overrides": overrides}}
    return world


@pytest.fixture
def low() -> Emu:
    """DescribeVpcs at 3 calls per 60 s; everything else at its published level."""
    e = start_emulator(quota_world({"DescribeVpcs": 3}))
    yield e
    e.server.stop()


def vpcs(vpc: VpcClient, region: str = "cn-qingdao") -> Any:
    return vpc.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id=region))


def throttled(fn: Any) -> ClientException:
    with pytest.raises(ClientException) as info:
        fn()
    return info.value


def test_the_call_over_the_quota_is_refused_as_the_cloud_refuses_it(low):
    vpc = VpcClient(low.config("account-a", "cn-qingdao"))
    for _ in range(3):
        vpcs(vpc)
    e = throttled(lambda: vpcs(vpc))
    assert type(e) is ClientException and not isinstance(e, ThrottlingException)  # no retry-after: nothing to wait for
    assert (e.code, e.status_code) == ("Throttling.User", 400)
    assert "Request was denied due to user flow control." in e.message
    # on the wire: the error envelope, and no x-acs-retry-after header
    path = signed_path(low.account("account-a"), "vpc", "DescribeVpcs", {"RegionId": "cn-qingdao"})
    request = f"POST {path} HTTP/1.1\r\nHost: {low.endpoint}\r\nContent-Length: 0\r\n\r\n".encode()
    status, headers, body = split_response(raw_exchange(low.endpoint, request)[0])
    assert status == 400 and "x-acs-retry-after" not in headers
    assert json.loads(body)["Code"] == "Throttling.User"
    # journaled like any refusal, with the account and region, so a benchmark can count them
    refusals = low.journal(error_code="Throttling.User")
    assert [(r["account"], r["region"], r["action"], r["status"]) for r in refusals] == [
        ("account-a", "cn-qingdao", "DescribeVpcs", 400)
    ] * 2
    counts = low.control("quotas")["counts"]
    mine = next(c for c in counts if c["action"] == "DescribeVpcs")
    assert (mine["account"], mine["region"], mine["calls"], mine["limit"], mine["window_s"]) == (
        "account-a",
        "cn-qingdao",
        3,
        3,
        60.0,
    )


def test_the_window_slides_on_the_virtual_clock(low):
    vpc = VpcClient(low.config("account-a", "cn-qingdao"))
    vpcs(vpc)
    vpcs(vpc)
    low.advance(30)
    vpcs(vpc)
    assert throttled(lambda: vpcs(vpc)).code == "Throttling.User"  # 3 in the last 60 s
    low.advance(30.5)  # the first two are out of the window; the third is not
    vpcs(vpc)
    vpcs(vpc)
    assert throttled(lambda: vpcs(vpc)).code == "Throttling.User"
    low.advance(60)
    for _ in range(3):
        vpcs(vpc)


def test_each_account_region_and_action_has_its_own_count(low):
    a = VpcClient(low.config("account-a", "cn-qingdao"))
    for _ in range(3):
        vpcs(a)
    assert throttled(lambda: vpcs(a)).code == "Throttling.User"
    vpcs(a, "cn-beijing")  # another region
    a.describe_vswitches(vpc_models.DescribeVSwitchesRequest(region_id="cn-qingdao"))  # another action
    vpcs(VpcClient(low.config("account-b", "cn-qingdao")))  # another account
    counts = {(c["account"], c["region"], c["action"]): c["calls"] for c in low.control("quotas")["counts"]}
    assert counts[("account-a", "cn-qingdao", "DescribeVpcs")] == 3
    assert counts[("account-a", "cn-beijing", "DescribeVpcs")] == 1
    assert counts[("account-b", "cn-qingdao", "DescribeVpcs")] == 1


def test_a_role_session_shares_its_accounts_vpc_quota_but_counts_apart_for_ecs():
    """VPC counts per main account (ParentUid), whoever signs; ECS adds the STS session's role
    (stsTokenPlayerUid)."""
    emu = start_emulator(quota_world({"DescribeVpcs": 2, "DescribeInstances": 1}))
    try:
        b = emu.account("account-b")
        creds = assume(StsClient(emu.config("account-a", "cn-qingdao")), role_arn(b["uid"]), "shared").credentials
        own, role = emu.config("account-b", "cn-beijing"), sts_config(emu.endpoint, creds, "cn-beijing")
        vpcs(VpcClient(own), "cn-beijing")
        vpcs(VpcClient(role), "cn-beijing")
        assert throttled(lambda: vpcs(VpcClient(own), "cn-beijing")).code == "Throttling.User"
        request = ecs_models.DescribeInstancesRequest(region_id="cn-beijing")
        EcsClient(own).describe_instances(request)
        EcsClient(role).describe_instances(request)  # its own count: the role's
        assert throttled(lambda: EcsClient(role).describe_instances(request)).code == "Throttling.User"
        ecs_counts = [c for c in emu.control("quotas")["counts"] if c["action"] == "DescribeInstances"]
        assert sorted(c.get("role_arn", "") for c in ecs_counts) == ["", role_arn(b["uid"])]
        refused = emu.journal(error_code="Throttling.User", action="DescribeInstances")
        assert [(r["account"], r["role_arn"], r["role_session"]) for r in refused] == [
            ("account-b", role_arn(b["uid"]), "shared")
        ]
    finally:
        emu.server.stop()


def test_threads_never_get_past_a_quota_together():
    emu = start_emulator(quota_world({"Vpc.DescribeVpcs": 10}))
    try:
        cfg = emu.config("account-a", "cn-qingdao")

        def attempt(_: int) -> str:
            try:
                vpcs(VpcClient(cfg))
                return "ok"
            except ClientException as e:
                return e.code

        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(attempt, range(40)))
        assert outcomes.count("ok") == 10 and outcomes.count("Throttling.User") == 30
        assert len(emu.journal(action="DescribeVpcs", error_code="Throttling.User")) == 30
    finally:
        emu.server.stop()


# -- settings -------------------------------------------------------------------------------------------------
def test_overrides_through_the_control_api(low):
    vpc = VpcClient(low.config("account-a", "cn-qingdao"))
    reply = low.control(
        "quotas", {"overrides": {"DescribeVpcs": None, "Vpc.DescribeVSwitches": {"calls": 1, "window_s": 10}}}
    )
    assert reply["overrides"] == {"Vpc.DescribeVSwitches": {"calls": 1, "window_s": 10.0}}
    for _ in range(4):  # back to the published 300/60 s
        vpcs(vpc)
    switches = vpc_models.DescribeVSwitchesRequest(region_id="cn-qingdao")
    vpc.describe_vswitches(switches)
    assert throttled(lambda: vpc.describe_vswitches(switches)).code == "Throttling.User"
    low.advance(10)
    vpc.describe_vswitches(switches)
    # off: nothing is counted or refused; the overrides stay for when it is on again
    assert low.control("quotas", {"enabled": False})["overrides"] == reply["overrides"]
    for _ in range(5):
        vpc.describe_vswitches(switches)
    assert low.control("behaviour")["behaviour"]["quotas"]["enabled"] is False
    on = low.control("quotas", {"enabled": True, "overrides": {"*": 2}, "clear": True})
    assert on["counts"] == [] and on["enabled"] is True
    vpc.describe_route_table_list(vpc_models.DescribeRouteTableListRequest(region_id="cn-qingdao"))
    vpc.describe_route_table_list(vpc_models.DescribeRouteTableListRequest(region_id="cn-qingdao"))
    e = throttled(
        lambda: vpc.describe_route_table_list(vpc_models.DescribeRouteTableListRequest(region_id="cn-qingdao"))
    )
    assert e.code == "Throttling.User"
    low.control("reset", {})  # a reset keeps the settings and forgets the counts
    assert low.control("quotas")["overrides"]["*"] == {"calls": 2} and low.control("quotas")["counts"] == []


def test_the_table_names_a_source_for_every_row_and_shows_the_limit_in_force(low):
    table = low.control("quotas")["table"]
    assert len(table) == len(TABLE)
    for row in table:
        assert row["source"].startswith("https://") and row["dimension"] and row["calls"] >= 1
        if row["inferred"]:
            assert row["note"], row
    by = {(r["product"], r["action"]): r for r in table}
    assert (by[("Vpc", "CreateRouterInterface")]["calls"], by[("Vpc", "CreateRouterInterface")]["inferred"]) == (
        300,
        False,
    )
    assert by[("Vpc", "CreateRouteEntry")]["inferred"] is True
    assert (by[("Sts", "AssumeRole")]["limit"], by[("Sts", "AssumeRole")]["window_s"]) == (100, 1.0)
    assert by[("VpcPeer", "CreateVpcPeerConnection")]["calls"] == 360
    assert by[("Vpc", "*")]["limit"] == 300 and by[("Vpc", "*")]["overridden_by"] is None


def test_quotas_are_on_by_default_at_the_published_levels(emu):
    reply = emu.control("quotas")
    assert reply["enabled"] is True and reply["overrides"] == {}
    VpcClient(emu.config("account-a", "cn-qingdao")).describe_vpcs(
        vpc_models.DescribeVpcsRequest(region_id="cn-qingdao")
    )
    (count,) = emu.control("quotas")["counts"]
    assert (count["action"], count["calls"], count["limit"], count["window_s"]) == ("DescribeVpcs", 1, 300, 60.0)


@pytest.mark.parametrize(
    "body, says",
    [
        (
            {"overrides": {"DescribeVpc": 3}},
            "overrides: 'DescribeVpc' is not an action the emulator serves (did you mean DescribeVpcs?)",
        ),
        ({"overrides": {"Vpc.AssumeRole": 3}}, "overrides: 'Vpc.AssumeRole' is not an action of Vpc"),
        ({"overrides": {"Nope.*": 3}}, "overrides: 'Nope.*': the products are"),
        ({"overrides": {"DescribeVpcs": 0}}, "overrides.DescribeVpcs.calls"),
        ({"overrides": {"DescribeVpcs": "5"}}, "overrides.DescribeVpcs"),
        ({"overrides": {"DescribeVpcs": {"calls": 5, "window_s": -1}}}, "overrides.DescribeVpcs.window_s"),
        ({"overrides": {"DescribeVpcs": {"calls": 5, "per": 60}}}, "overrides.DescribeVpcs.per"),
        ({"enabled": "no"}, "enabled"),
        ({"clear": 1}, "clear"),
        ({"quota": 1}, "quota"),
    ],
)
def test_a_bad_quota_setting_is_refused_naming_the_field_and_nothing_changes(low, body, says):
    status, reply = control_status(low.endpoint, "quotas", body)
    assert status == 400 and reply["error"].startswith(says), reply
    assert low.control("quotas")["overrides"] == {"DescribeVpcs": {"calls": 3}}


@pytest.mark.parametrize(
    "quotas, says",
    [
        ({"enabled": "yes"}, "behaviour.quotas.enabled"),
        ({"overrides": {"CreateRouteEnty": 5}}, "behaviour.quotas.overrides: 'CreateRouteEnty'"),
        (
            {"overrides": {"CreateRouteEntry": {"calls": 5, "window_s": 0}}},
            "behaviour.quotas.overrides.CreateRouteEntry.window_s",
        ),
        ({"limits": {}}, "behaviour.quotas.limits: unknown field"),
    ],
)
def test_a_bad_quota_setting_in_the_world_file_is_refused_naming_the_field(quotas, says):
    world = quota_world({})
    world["behaviour"]["quotas"] = quotas
    with pytest.raises(WorldError) as info:
        validate(world)
    assert str(info.value).startswith(says), str(info.value)
