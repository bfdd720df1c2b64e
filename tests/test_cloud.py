"""``Cloud``: SDK calls per account side through credential profiles, retries, the ledger, errors
that keep the API's code and request ID, and no secret anywhere."""

from __future__ import annotations

import json
import logging
import os
import stat

import pytest
from alibabacloud_vpc20160428 import models as vpc
from phase_support import (
    EmulatorClock,
    Rig,
    own_state,  # noqa: F401  (autouse: private vpclink state)
)
from vpclink.cloud import Cloud, CloudError, MutationRefused
from vpclink.profiles import AkProfile, ProfileError, check_profile, credential_client, write_profiles
from vpclink.record.ledger import FIELDS, Ledger
from vpclink.retries import RetryPolicy

A_UID, B_UID = "1637243907412983", "1589430122237715"


def outcomes(rig: Rig, action: str) -> list[tuple[str, str]]:
    return [(e["outcome"], e["error_code"]) for e in rig.ledger.entries if e["action"] == action]


def describe_vpcs(cloud: Cloud, role: str = "initiator") -> dict:
    side = cloud.params.side(role)
    return cloud.call(
        role, "vpc", "DescribeVpcs", vpc.DescribeVpcsRequest(region_id=side.region, vpc_id=side.vpc_id), mutating=False
    )


def test_each_side_calls_as_its_own_account_and_every_call_is_in_the_ledger(rig):
    cloud = rig.cloud("preflight")
    assert (cloud.account_uid("initiator"), cloud.account_uid("acceptor")) == (A_UID, B_UID)
    body = describe_vpcs(cloud, "acceptor")
    assert body["Vpcs"]["Vpc"][0]["VRouterId"] == "vrt-2ze2tutorialvrt2bj00001"
    journal = rig.emu.journal()
    assert [(e["action"], e["account"]) for e in journal] == [
        ("GetCallerIdentity", "account-a"),
        ("GetCallerIdentity", "account-b"),
        ("DescribeVpcs", "account-b"),
    ]
    lines = [json.loads(x) for x in (rig.ledger.path.read_text().splitlines())]
    assert lines == rig.ledger.entries and all(tuple(e) == FIELDS for e in lines)  # reads: no "request"
    assert [
        (e["phase"], e["side"], e["account_uid"], e["region"], e["action"], e["outcome"], e["mutating"]) for e in lines
    ] == [
        ("preflight", "initiator", A_UID, "cn-qingdao", "GetCallerIdentity", "ok", False),
        ("preflight", "acceptor", B_UID, "cn-beijing", "GetCallerIdentity", "ok", False),
        ("preflight", "acceptor", B_UID, "cn-beijing", "DescribeVpcs", "ok", False),
    ]
    assert [e["request_id"] for e in lines] == [e["request_id"] for e in journal]


def test_every_ledger_line_names_the_account_that_acted(rig):
    rig.run_all()
    rig.apply("teardown")
    uids = {e["side"]: set() for e in rig.ledger.entries}
    for e in rig.ledger.entries:
        uids[e["side"]].add(e["account_uid"])
    assert uids == {"initiator": {A_UID}, "acceptor": {B_UID}}
    # One STS call per side and phase, unless the caller already knows the UIDs (from preflight).
    sts = len(rig.emu.journal(action="GetCallerIdentity"))
    assert sts == 2 * 8 - 2  # initiator and acceptor phases act in one account each
    cloud = rig.cloud("routes", account_uids={"initiator": A_UID, "acceptor": B_UID})
    describe_vpcs(cloud, "acceptor")
    assert len(rig.emu.journal(action="GetCallerIdentity")) == sts
    assert rig.ledger.entries[-1]["account_uid"] == B_UID


def test_an_api_error_keeps_code_request_id_and_status(rig):
    cloud = rig.cloud("connect")
    req = vpc.ConnectRouterInterfaceRequest(region_id="cn-qingdao", router_interface_id="ri-doesnotexist00000001")
    with pytest.raises(CloudError) as e:
        cloud.call("initiator", "vpc", "ConnectRouterInterface", req, mutating=True)
    [entry] = rig.emu.journal(action="ConnectRouterInterface")
    err = e.value
    assert (err.code, err.status, err.request_id, err.action, err.role) == (
        "InvalidRouterInterfaceId.NotFound",
        404,
        entry["request_id"],
        "ConnectRouterInterface",
        "initiator",
    )
    assert "InvalidRouterInterfaceId.NotFound" in str(err) and entry["request_id"] in str(err)
    assert "ri-doesnotexist00000001" in err.message
    assert rig.ledger.entries[-1]["outcome"] == "error"
    assert rig.ledger.entries[-1]["error_code"] == "InvalidRouterInterfaceId.NotFound"


def test_throttling_is_retried_after_the_servers_retry_after(rig):
    rig.emu.faults({"action": "DescribeVpcs", "effect": "throttle", "first": 2, "retry_after_ms": 1000})
    cloud = rig.cloud("preflight")
    assert describe_vpcs(cloud)["Vpcs"]["Vpc"]
    assert outcomes(rig, "DescribeVpcs") == [("retry", "Throttling.User"), ("retry", "Throttling.User"), ("ok", "")]
    assert len(rig.emu.journal(action="DescribeVpcs")) == 3
    assert len(rig.clock.sleeps) == 2 and min(rig.clock.sleeps) >= 1.0  # the fault's retry-after is 1000 ms


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "Throttling.User"), (403, "Throttling"), (429, "Throttling"), (503, "ServiceUnavailable")],
)
def test_throttling_without_a_retry_after_header_is_retried_with_backoff(rig, status, code):
    """The documented shapes: no retry-after header, HTTP 400/403/429 or 503 (the tea SDK then raises a
    ClientException or ServerException, not a ThrottlingException): still retried, by code."""
    rig.emu.faults({"action": "DescribeVpcs", "effect": "throttle", "first": 2, "status": status})
    cloud = rig.cloud("preflight")
    assert describe_vpcs(cloud)["Vpcs"]["Vpc"]
    assert outcomes(rig, "DescribeVpcs") == [("retry", code), ("retry", code), ("ok", "")]
    assert len(rig.clock.sleeps) == 2 and all(s > 0 for s in rig.clock.sleeps)


def test_retries_are_bounded(rig):
    rig.emu.faults({"action": "DescribeVpcs", "effect": "throttle"})
    cloud = rig.cloud("preflight", retry=RetryPolicy(max_attempts=4))
    with pytest.raises(CloudError) as e:
        describe_vpcs(cloud)
    assert e.value.code == "Throttling.User" and e.value.throttled
    assert len(rig.emu.journal(action="DescribeVpcs")) == 4
    assert [o for o, _ in outcomes(rig, "DescribeVpcs")] == ["retry", "retry", "retry", "error"]


def test_retries_stop_after_the_time_budget(rig):
    rig.emu.faults({"action": "DescribeVpcs", "effect": "throttle"})
    cloud = rig.cloud("preflight", retry=RetryPolicy(max_attempts=100, max_elapsed=5.0))
    with pytest.raises(CloudError):
        describe_vpcs(cloud)
    assert 5.0 <= sum(rig.clock.sleeps) < 5.0 + 10.0
    assert len(rig.emu.journal(action="DescribeVpcs")) < 10


def test_a_lost_answer_to_a_read_is_retried(rig):
    rig.emu.faults({"action": "DescribeVpcs", "effect": "drop", "nth": 1})
    assert describe_vpcs(rig.cloud("preflight"))["Vpcs"]["Vpc"]
    assert outcomes(rig, "DescribeVpcs") == [("retry", "TransportError"), ("ok", "")]


def test_a_lost_answer_to_a_write_with_a_client_token_returns_the_first_result(rig):
    rig.emu.faults({"action": "CreateRouterInterface", "effect": "fail_after_commit", "nth": 1})
    cloud = rig.cloud("initiator")
    req = vpc.CreateRouterInterfaceRequest(
        region_id="cn-qingdao",
        role="InitiatingSide",
        router_type="VRouter",
        router_id="vrt-m5e1tutorialvrt1qd00001",
        spec="Mini.2",
        opposite_region_id="cn-beijing",
        client_token="vpclink-test-token-1",
    )
    ri = cloud.call("initiator", "vpc", "CreateRouterInterface", req, mutating=True)["RouterInterfaceId"]
    assert [r["RouterInterfaceId"] for r in rig.resources("account-a", "router_interface")] == [ri]
    assert [o for o, _ in outcomes(rig, "CreateRouterInterface")] == ["retry", "ok"]


def test_a_lost_answer_to_a_write_without_a_token_is_not_repeated(rig):
    rig.emu.faults({"action": "DeactivateRouterInterface", "effect": "drop"})
    cloud = rig.cloud("teardown")
    req = vpc.DeactivateRouterInterfaceRequest(region_id="cn-qingdao", router_interface_id="ri-doesnotexist00000001")
    with pytest.raises(CloudError) as e:
        cloud.call("initiator", "vpc", "DeactivateRouterInterface", req, mutating=True)
    assert e.value.code == "TransportError" and e.value.ambiguous and e.value.request_id is None
    assert len(rig.emu.journal(action="DeactivateRouterInterface")) == 1


def test_read_only_refuses_writes_before_sending(rig):
    cloud = rig.cloud("initiator")
    with cloud.read_only(), pytest.raises(MutationRefused):
        cloud.call(
            "initiator",
            "vpc",
            "DeactivateRouterInterface",
            vpc.DeactivateRouterInterfaceRequest(region_id="cn-qingdao", router_interface_id="ri-x1234567"),
            mutating=True,
        )
    assert rig.emu.journal() == [] and rig.ledger.entries == []
    assert describe_vpcs(cloud)  # reads still work, and writes after the block
    with pytest.raises(CloudError):
        cloud.call(
            "initiator",
            "vpc",
            "DeactivateRouterInterface",
            vpc.DeactivateRouterInterfaceRequest(region_id="cn-qingdao", router_interface_id="ri-x1234567"),
            mutating=True,
        )


def test_a_phase_acts_only_with_the_sides_it_was_given(rig):
    cloud = rig.cloud("initiator", sides=("initiator",))
    with pytest.raises(ValueError, match="only initiator credentials"):
        describe_vpcs(cloud, "acceptor")


def test_an_unknown_action_is_a_clear_error(rig):
    with pytest.raises(ValueError, match="has no action DescribeNothing"):
        rig.cloud("preflight").call("initiator", "vpc", "DescribeNothing", None, mutating=False)


def test_no_secret_in_errors_ledger_or_logs(rig, caplog):
    caplog.set_level(logging.DEBUG)
    rig.emu.faults(
        {
            "action": "DescribeVpcs",
            "effect": "fail_after_commit",
            "code": "InternalError",
            "status": 500,
            "nth": [1, 2],
        },
        {"action": "ConnectRouterInterface", "effect": "drop", "nth": 1},
        {"action": "CreateRouteEntry", "effect": "error", "code": "QuotaExceeded", "account": "account-b"},
    )
    messages = []
    for phase in ("preflight", "initiator", "acceptor", "connect", "routes", "security_groups", "verify", "teardown"):
        try:
            rig.apply(phase)
        except Exception as e:  # record whatever surfaced
            messages.append(repr(e) + str(e))
    bad = Cloud(
        rig.params,
        endpoint="127.0.0.1:1",
        profiles_file=str(rig.profiles_file),
        ledger=rig.ledger,
        phase="preflight",
        clock=EmulatorClock(rig.emu),
        retry=RetryPolicy(max_attempts=2),
    )
    with pytest.raises(CloudError) as e:
        describe_vpcs(bad)
    assert e.value.code == "EndpointUnreachable"  # connection refused: nothing was sent
    messages.append(str(e.value))
    assert any("QuotaExceeded" in m for m in messages)
    text = "\n".join(messages) + rig.ledger.path.read_text() + caplog.text
    for secret in rig.secrets():
        assert secret not in text


def test_the_ledger_keeps_what_a_mutating_call_sent_with_secret_looking_values_masked(rig):
    """As SSM Automation records each step's resolved inputs: a change's parameters, under the API's
    names. A value that looks like a key (pasted into a description, say) is never written."""
    rig.run_all(phases=("preflight", "initiator"))
    create = next(e for e in rig.ledger.entries if e["action"] == "CreateRouterInterface")
    sent = create["request"]
    assert sent["Role"] == "InitiatingSide" and sent["Spec"] == "Mini.2" and sent["RegionId"] == "cn-qingdao"
    assert sent["RouterId"] == "vrt-m5e1tutorialvrt1qd00001" and sent["ClientToken"].startswith("vpclink-")
    assert all("request" not in e for e in rig.ledger.entries if not e["mutating"])  # reads stay short

    key_id, secret = "LTAI5tPlantedKey0123456789", "Zq8rT2mWv9XkP4sLn7YdB3cHf6Jg1Ea"
    ri = rig.outputs["initiator_router_interface_id"]
    cloud = rig.cloud("initiator", sides=("initiator",))
    request = vpc.ModifyRouterInterfaceAttributeRequest(
        region_id="cn-qingdao", router_interface_id=ri, name=key_id, description=f"token {secret} here"
    )
    try:
        cloud.call("initiator", "vpc", "ModifyRouterInterfaceAttribute", request, mutating=True, idempotent=True)
    except CloudError:
        pass  # accepted or refused, the call is in the ledger either way
    line = json.loads(rig.ledger.path.read_text().splitlines()[-1])
    assert line["action"] == "ModifyRouterInterfaceAttribute" and line["request"]["RouterInterfaceId"] == ri
    assert line["request"]["Name"] == "LTAI****" and "not shown" in line["request"]["Description"]
    text = rig.ledger.path.read_text()
    assert key_id not in text and secret not in text


def test_without_an_endpoint_the_sdk_picks_the_real_endpoints(rig):
    cloud = Cloud(rig.params, endpoint=None, profiles_file=str(rig.profiles_file), ledger=None, phase="preflight")
    vpc_client = cloud._client("initiator", "vpc")
    ecs_client = cloud._client("acceptor", "ecs")
    assert (vpc_client._endpoint, ecs_client._endpoint) == (
        "vpc.cn-qingdao.aliyuncs.com",
        "ecs.cn-beijing.aliyuncs.com",
    )
    assert vpc_client._protocol != "http"
    emulated = rig.cloud("preflight")._client("initiator", "vpc")
    assert (emulated._endpoint, emulated._protocol) == (rig.emu.endpoint, "http")


def test_profiles_file_is_private_and_checked(tmp_path):
    path = write_profiles(
        tmp_path / "p" / "config.json", [AkProfile("one", "AKID1", "SECRET1"), AkProfile("two", "AKID2", "SECRET2")]
    )
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert check_profile("two", path, field="acceptor.profile") == path
    cred = credential_client("two", path, field="acceptor.profile").get_credential()
    assert (cred.access_key_id, cred.access_key_secret) == ("AKID2", "SECRET2")  # the SDK reads what was written
    assert "SECRET1" not in repr(AkProfile("one", "AKID1", "SECRET1"))
    with pytest.raises(ProfileError) as e:
        check_profile("three", path, field="initiator.profile")
    assert e.value.field == "initiator.profile" and "one, two" in str(e.value) and "SECRET" not in str(e.value)
    with pytest.raises(ProfileError, match="does not exist"):
        check_profile("one", tmp_path / "missing.json", field="initiator.profile")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ProfileError, match="not valid JSON"):
        check_profile("one", tmp_path / "bad.json", field="initiator.profile")


def test_the_ledger_file_survives_a_torn_line(tmp_path):
    ledger = Ledger(tmp_path / "ledger.jsonl")
    ledger.record(
        phase="p",
        side="initiator",
        account_uid=A_UID,
        region="cn-qingdao",
        action="DescribeVpcs",
        request_id="R1",
        outcome="ok",
        error_code=None,
        duration_ms=1.23,
        mutating=False,
    )
    with ledger.path.open("a") as f:
        f.write('{"time": "2026-')  # a run killed mid-write
    assert [e["request_id"] for e in Ledger.read(ledger.path)] == ["R1"]
    with pytest.raises(ValueError, match="outcome"):
        ledger.record(
            phase="p",
            side="initiator",
            account_uid=A_UID,
            region="r",
            action="a",
            request_id=None,
            outcome="maybe",
            error_code=None,
            duration_ms=0,
            mutating=False,
        )


def test_retry_delays_grow_with_jitter_and_respect_retry_after():
    policy = RetryPolicy(first_delay=0.5, max_delay=4.0)
    assert [policy.delay(n, None, rng=lambda: 1.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert [policy.delay(n, None, rng=lambda: 0.0) for n in range(1, 4)] == [0.25, 0.5, 1.0]
    assert policy.delay(1, 3000, rng=lambda: 1.0) == 3.0
