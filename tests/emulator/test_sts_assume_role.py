"""STS AssumeRole: a central account's RAM user assumes a role in each member account and acts
there, through the official SDK, ``alibabacloud_credentials`` and the legacy SDK; untrusted callers
and bad parameters are refused with the documented codes."""

from __future__ import annotations

import calendar
import json
import re
import time
from typing import Any

import pytest
from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_credentials.models import Config as CredentialConfig
from alibabacloud_credentials.provider import RamRoleArnCredentialsProvider
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.utils_models import Config
from alibabacloud_vpc20160428 import models as vpc_models
from alibabacloud_vpc20160428.client import Client as VpcClient
from alibabacloud_vpcpeer20220101 import models as peer_models
from alibabacloud_vpcpeer20220101.client import Client as PeerClient
from alicloud_emulator.world import WorldError, default_world, validate, with_timing
from aliyunsdkcore.auth.credentials import StsTokenCredential
from aliyunsdkcore.client import AcsClient

from .conftest import Emu, roundtrip, start_emulator
from .support import VRT_B, legacy_request, role_arn, sts_config

CENTRAL = {
    "name": "central",
    "uid": "1000200030004000",
    "access_key_id": "LTAI5tEmuCentralOps01",
    "access_key_secret": "emuSecretCentral7Hq2Wm9Zx4Lp6Rt8Yv",
    "ram_user": "netops",
}


def fleet_world() -> dict[str, Any]:
    """The tutorial world plus a central account whose RAM user the members trust, as a network team
    sets up its organisation: a role per member, one requiring an ExternalId, one trusting only a
    named user, and a chained role trusted by another role."""
    world = with_timing(default_world(), scale=0)
    a, b = world["accounts"]
    a["roles"] = [
        {"name": "fleet-operator", "trusted": ["central"], "max_session_duration": 43200},
        {"name": "audited", "trusted": [f"acs:ram::{CENTRAL['uid']}:root"], "external_id": "ticket-4711"},
        {"name": "netops-only", "trusted": [f"acs:ram::{CENTRAL['uid']}:user/netops"]},
        {"name": "chained", "trusted": [f"acs:ram::{a['uid']}:role/fleet-operator"]},
        {"name": "b-only", "trusted": ["account-b"]},
    ]
    b["roles"] = [{"name": "fleet-operator", "trusted": [f"acs:ram::{CENTRAL['uid']}:root"]}]
    world["accounts"].append(dict(CENTRAL))
    return world


@pytest.fixture
def fleet() -> Emu:
    e = start_emulator(fleet_world())
    yield e
    e.server.stop()


def central_sts(emu: Emu, **extra: Any) -> StsClient:
    return StsClient(emu.config("central", "cn-hangzhou", **extra))


def assume(sts: StsClient, arn: str, session: str = "vpclink", **fields: Any) -> Any:
    request = sts_models.AssumeRoleRequest(role_arn=arn, role_session_name=session, **fields)
    return sts.assume_role(request).body


def refused(fn: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientException) as info:
        fn()
    e = info.value
    return e.code, e.status_code, e.message


# -- across accounts --------------------------------------------------------------------------------------
def test_a_central_account_assumes_a_role_in_each_member_and_acts_there(fleet):
    members = {"account-a": ("cn-qingdao", "vpc-m5e1tutorialvpc1qd00001"), "account-b": ("cn-beijing", None)}
    sessions = {}
    for name, (region, vpc_id) in members.items():
        uid = fleet.account(name)["uid"]
        body = assume(central_sts(fleet), role_arn(uid, "fleet-operator"), session=f"fleet-{name}")
        sessions[name] = body
        cfg = sts_config(fleet.endpoint, body.credentials, region)
        who = StsClient(cfg).get_caller_identity().body
        assert (who.account_id, who.identity_type) == (uid, "AssumedRoleUser")
        assert who.arn == f"acs:ram::{uid}:role/fleet-operator/fleet-{name}" == body.assumed_role_user.arn
        assert who.principal_id == body.assumed_role_user.assumed_role_id == f"{who.role_id}:fleet-{name}"
        assert who.user_id is None and re.fullmatch(r"\d{18}", who.role_id)
        vpcs = VpcClient(cfg).describe_vpcs(vpc_models.DescribeVpcsRequest(region_id=region)).body.vpcs.vpc
        assert [v.vpc_id for v in vpcs] == [vpc_id or fleet.state()[name]["vpc"][0]["VpcId"]]
    # a write through the role lands in the member account, not the central one
    cfg_b = sts_config(fleet.endpoint, sessions["account-b"].credentials, "cn-beijing")
    ri = (
        VpcClient(cfg_b)
        .create_router_interface(
            vpc_models.CreateRouterInterfaceRequest(
                region_id="cn-beijing",
                role="AcceptingSide",
                router_type="VRouter",
                router_id=VRT_B,
                spec="Negative",
                opposite_region_id="cn-qingdao",
            )
        )
        .body.router_interface_id
    )
    state = fleet.state()
    assert [r["RouterInterfaceId"] for r in state["account-b"]["router_interface"]] == [ri]
    assert "central" not in state
    # the journal: the AssumeRole as the central account, then each call as the member and its role
    create = fleet.journal(action="CreateRouterInterface")[-1]
    assert (create["account"], create["role_arn"], create["role_session"]) == (
        "account-b",
        role_arn(fleet.account("account-b")["uid"], "fleet-operator"),
        "fleet-account-b",
    )
    assumed = fleet.journal(action="AssumeRole")
    assert [e["account"] for e in assumed] == ["central", "central"] and all("role_arn" not in e for e in assumed)
    assert [e["role_session"] for e in fleet.journal(role_arn=create["role_arn"])] == ["fleet-account-b"] * 3
    text = json.dumps(fleet.journal())
    for body in sessions.values():
        assert body.credentials.access_key_secret not in text and body.credentials.security_token not in text


def test_the_response_is_what_the_sdk_and_the_credentials_library_read(fleet):
    before = time.time()
    raw = assume(central_sts(fleet), role_arn(fleet.account("account-a")["uid"], "fleet-operator"), "s-1")
    body = raw.to_map()
    roundtrip(sts_models.AssumeRoleResponseBody, body)
    creds = body["Credentials"]
    assert re.fullmatch(r"STS\.[A-Za-z0-9]{25}", creds["AccessKeyId"]) and len(creds["AccessKeySecret"]) == 40
    assert creds["SecurityToken"].startswith("CAIS") and len(creds["SecurityToken"]) > 300
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", creds["Expiration"])  # no fraction: parsed strictly
    expires = calendar.timegm(time.strptime(creds["Expiration"], "%Y-%m-%dT%H:%M:%SZ"))
    assert before + 3600 - 1 <= expires <= time.time() + 3600  # the default, on the real clock
    assert re.fullmatch(r"\d{18}:s-1", body["AssumedRoleUser"]["AssumedRoleId"])


def test_a_session_may_last_up_to_the_roles_maximum(fleet):
    uid = fleet.account("account-a")["uid"]
    long = assume(central_sts(fleet), role_arn(uid, "fleet-operator"), duration_seconds=43200)
    expires = calendar.timegm(time.strptime(long.credentials.expiration, "%Y-%m-%dT%H:%M:%SZ"))
    assert expires >= time.time() + 43200 - 5
    code, status, message = refused(
        lambda: assume(central_sts(fleet), role_arn(uid, "audited"), duration_seconds=3601, external_id="ticket-4711")
    )
    assert (code, status) == ("InvalidParameter.DurationSeconds", 400) and "15min/1hr" in message


@pytest.mark.parametrize("style", ["v3", "v2", "legacy"])
def test_temporary_credentials_sign_in_every_style(fleet, style):
    uid = fleet.account("account-a")["uid"]
    creds = assume(central_sts(fleet), role_arn(uid, "fleet-operator"), f"style-{style}").credentials
    if style == "legacy":
        client = AcsClient(
            region_id="cn-qingdao",
            credential=StsTokenCredential(creds.access_key_id, creds.access_key_secret, creds.security_token),
            auto_retry=False,
        )
        body = json.loads(
            client.do_action_with_exception(
                legacy_request(fleet.endpoint, "ecs", "DescribeInstances", {"RegionId": "cn-qingdao"})
            )
        )
        assert [i["InstanceId"] for i in body["Instances"]["Instance"]] == ["i-m5e1tutorialecs1qd00001"]
        who = json.loads(client.do_action_with_exception(legacy_request(fleet.endpoint, "sts", "GetCallerIdentity")))
        assert who["Arn"].endswith(f":role/fleet-operator/style-{style}")
        return
    extra = {"signature_algorithm": "v2"} if style == "v2" else {}
    cfg = sts_config(fleet.endpoint, creds, "cn-qingdao", **extra)
    assert StsClient(cfg).get_caller_identity().body.account_id == uid
    instances = EcsClient(cfg).describe_instances(ecs_models.DescribeInstancesRequest(region_id="cn-qingdao"))
    assert [i.instance_id for i in instances.body.instances.instance] == ["i-m5e1tutorialecs1qd00001"]


# -- RamRoleArn through alibabacloud-credentials ---------------------------------------------------------------
def test_the_credentials_provider_assumes_the_role_over_plain_http_when_pointed_at_the_emulator(fleet):
    """What a vpclink client does for a CLI ``RamRoleArn`` profile: the provider, built in code with
    ``sts_endpoint='http://host:port'``, sends its own GET AssumeRole signed HMAC-SHA1 (its Host
    header is then the URL itself), and the SDK clients sign with what it returns."""
    central = fleet.account("central")
    uid = fleet.account("account-b")["uid"]
    provider = RamRoleArnCredentialsProvider(
        access_key_id=central["access_key_id"],
        access_key_secret=central["access_key_secret"],
        role_arn=role_arn(uid, "fleet-operator"),
        role_session_name="vpclink-fleet",
        duration_seconds=3600,
        sts_endpoint=f"http://{fleet.endpoint}",
    )
    cfg = Config(credential=CredentialClient(provider=provider), region_id="cn-beijing", endpoint=fleet.endpoint)
    cfg.protocol = "http"
    who = StsClient(cfg).get_caller_identity().body
    assert (who.account_id, who.arn) == (uid, f"acs:ram::{uid}:role/fleet-operator/vpclink-fleet")
    VpcClient(cfg).describe_vpcs(vpc_models.DescribeVpcsRequest(region_id="cn-beijing"))
    assert [e["account"] for e in fleet.journal(action="AssumeRole")] == ["central"]  # one, cached for the rest
    assert [e["role_session"] for e in fleet.journal(account="account-b")] == ["vpclink-fleet"] * 2


def test_the_credentials_config_route_takes_the_sts_endpoint_too(fleet):
    central = fleet.account("central")
    uid = fleet.account("account-a")["uid"]
    credential = CredentialClient(
        CredentialConfig(
            type="ram_role_arn",
            access_key_id=central["access_key_id"],
            access_key_secret=central["access_key_secret"],
            role_arn=role_arn(uid, "audited"),
            role_session_name="cfg",
            external_id="ticket-4711",
            sts_endpoint=f"http://{fleet.endpoint}",
        )
    )
    cfg = Config(credential=credential, region_id="cn-qingdao", endpoint=fleet.endpoint, protocol="http")
    assert StsClient(cfg).get_caller_identity().body.arn == f"acs:ram::{uid}:role/audited/cfg"


@pytest.mark.parametrize("duration, assume_roles", [(900, 3), (3600, 1)])
def test_a_900_second_session_makes_the_provider_assume_again_for_every_call(fleet, duration, assume_roles):
    """The provider refreshes 15 minutes before ``Expiration``: with 900 s that is at once, so every
    call costs an AssumeRole too (counted against STS's 100/s per account)."""
    central = fleet.account("central")
    provider = RamRoleArnCredentialsProvider(
        access_key_id=central["access_key_id"],
        access_key_secret=central["access_key_secret"],
        role_arn=role_arn(fleet.account("account-a")["uid"], "fleet-operator"),
        role_session_name="trap",
        duration_seconds=duration,
        sts_endpoint=f"http://{fleet.endpoint}",
    )
    sts = StsClient(Config(credential=CredentialClient(provider=provider), endpoint=fleet.endpoint, protocol="http"))
    for _ in range(3):
        sts.get_caller_identity()
    assert len(fleet.journal(action="AssumeRole")) == assume_roles


def test_a_role_session_may_assume_a_role_that_trusts_its_role(fleet):
    uid = fleet.account("account-a")["uid"]
    first = assume(central_sts(fleet), role_arn(uid, "fleet-operator"), "hop-1")
    sts = StsClient(sts_config(fleet.endpoint, first.credentials, "cn-qingdao"))
    second = assume(sts, role_arn(uid, "chained"), "hop-2")
    who = StsClient(sts_config(fleet.endpoint, second.credentials, "cn-qingdao")).get_caller_identity().body
    assert who.arn == f"acs:ram::{uid}:role/chained/hop-2"
    # the central user itself is not trusted by the chained role
    code, status, _ = refused(lambda: assume(central_sts(fleet), role_arn(uid, "chained")))
    assert (code, status) == ("NoPermission", 403)


# -- refusals -------------------------------------------------------------------------------------------
def test_an_untrusted_caller_is_refused(fleet):
    a, b = fleet.account("account-a"), fleet.account("account-b")
    sts_a = StsClient(fleet.config("account-a", "cn-qingdao"))
    cases = [
        (sts_a, role_arn(a["uid"], "b-only"), {}),  # the role's own account is not trusted
        (sts_a, role_arn(b["uid"], "fleet-operator"), {}),  # trusts the central account only
        (central_sts(fleet), role_arn(a["uid"], "audited"), {}),  # no ExternalId
        (central_sts(fleet), role_arn(a["uid"], "audited"), {"external_id": "ticket-0000"}),  # another one
    ]
    for sts, arn, fields in cases:
        code, status, message = refused(lambda sts=sts, arn=arn, fields=fields: assume(sts, arn, **fields))
        assert (code, status) == ("NoPermission", 403)
        assert "You are not authorized to do this action. You should be authorized by RAM." in message
    assert assume(StsClient(fleet.config("account-b", "cn-beijing")), role_arn(a["uid"], "b-only"))
    refusals = [e for e in fleet.journal(action="AssumeRole") if e["status"] == 403]
    assert [(e["account"], e["error_code"]) for e in refusals] == [("account-a", "NoPermission")] * 2 + [
        ("central", "NoPermission")
    ] * 2


def test_only_the_named_user_may_assume_a_role_that_names_one(fleet):
    uid = fleet.account("account-a")["uid"]
    assert assume(central_sts(fleet), role_arn(uid, "netops-only")).assumed_role_user.arn.endswith(
        "netops-only/vpclink"
    )
    world = fleet_world()
    world["accounts"][2]["ram_user"] = "someone-else"
    with pytest.raises(WorldError, match=r"accounts\[0\]\.roles\[2\]\.trusted\[0\]: .*RAM user"):
        validate(world)


def test_an_accounts_own_root_key_cannot_assume_a_role():
    world = fleet_world()
    world["accounts"][2]["key_kind"] = "root"
    del world["accounts"][2]["ram_user"]
    world["accounts"][0]["roles"] = [r for r in world["accounts"][0]["roles"] if r["name"] != "netops-only"]
    emu = start_emulator(world)
    try:
        uid = emu.account("account-a")["uid"]
        code, status, message = refused(lambda: assume(central_sts(emu), role_arn(uid, "fleet-operator")))
        assert (code, status) == ("NoPermission", 403) and "AccessKey" in message
    finally:
        emu.server.stop()


BAD = [
    ({"role_arn": "acs:ram::1637243907412983:role"}, "InvalidParameter.RoleArn", 400),
    ({"role_arn": "arn:ram::1637243907412983:role/fleet-operator"}, "InvalidParameter.RoleArn", 400),
    ({"role_arn": "acs:ram::163724390741298:role/fleet-operator"}, "InvalidParameter.RoleArn", 400),
    ({"role_arn": "acs:ram::1637243907412983:role/no-such-role"}, "EntityNotExist.Role", 404),
    ({"role_arn": "acs:ram::9999888877776666:role/fleet-operator"}, "EntityNotExist.Role", 404),
    ({"role_session_name": "x"}, "InvalidParameter.RoleSessionName", 400),
    ({"role_session_name": "x" * 65}, "InvalidParameter.RoleSessionName", 400),
    ({"role_session_name": "bad name"}, "InvalidParameter.RoleSessionName", 400),
    ({"role_session_name": "bad/name"}, "InvalidParameter.RoleSessionName", 400),
    ({"duration_seconds": 899}, "InvalidParameter.DurationSeconds", 400),
    ({"duration_seconds": 43201}, "InvalidParameter.DurationSeconds", 400),
    ({"policy": "{" + "x" * 2048 + "}"}, "InvalidParameter.PolicySize", 400),
    ({"policy": "not json"}, "InvalidParameter.PolicyGrammar", 400),
    ({"policy": '{"Version":"1"}'}, "InvalidParameter.PolicyGrammar", 400),
    (
        {"policy": '{"Version":"1","Statement":[{"Effect":"Maybe","Action":"vpc:*"}]}'},
        "InvalidParameter.PolicyGrammar",
        400,
    ),
    ({"external_id": "x"}, "InvalidParameter.ExternalId", 400),
    ({"external_id": "bad id"}, "InvalidParameter.ExternalId", 400),
    ({"role_arn": None}, "MissingParameter", 400),
    ({"role_session_name": None}, "MissingParameter", 400),
]


@pytest.mark.parametrize("change, code, status", BAD)
def test_bad_parameters_are_refused_with_the_documented_codes(fleet, change, code, status):
    fields = {
        "role_arn": role_arn(fleet.account("account-a")["uid"], "fleet-operator"),
        "role_session_name": "ok-session",
    }
    fields.update(change)
    before = fleet.control("credentials")["credentials"]
    got = refused(lambda: central_sts(fleet).assume_role(sts_models.AssumeRoleRequest(**fields)))
    assert got[:2] == (code, status), got
    if code == "MissingParameter":
        assert next(k for k, v in change.items() if v is None).title().replace("_", "") in got[2]
    assert fleet.control("credentials")["credentials"] == before  # nothing issued


def test_a_good_policy_and_session_name_with_every_allowed_character_pass(fleet):
    policy = json.dumps(
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "vpc:Describe*", "Resource": "*"}]}
    )
    body = assume(
        central_sts(fleet),
        role_arn(fleet.account("account-a")["uid"], "fleet-operator"),
        session="a.b@c-d_e",
        policy=policy.replace(" ", ""),
        duration_seconds=900,
    )
    assert body.assumed_role_user.arn.endswith("/a.b@c-d_e")


# -- the world file ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change, says",
    [
        (
            lambda w: w["accounts"][0]["roles"][0].update(trusted=["nobody"]),
            r"accounts\[0\]\.roles\[0\]\.trusted\[0\]: 'nobody'",
        ),
        (
            lambda w: w["accounts"][0]["roles"][0].update(trusted=["acs:ram::1111222233334444:root"]),
            "not an account of this world",
        ),
        (lambda w: w["accounts"][0]["roles"][0].update(trusted=[]), r"accounts\[0\]\.roles\[0\]\.trusted"),
        (lambda w: w["accounts"][0]["roles"][0].update(name="bad name"), r"accounts\[0\]\.roles\[0\]\.name"),
        (lambda w: w["accounts"][0]["roles"][0].update(max_session_duration=900), "max_session_duration"),
        (lambda w: w["accounts"][0]["roles"][0].update(max_session_duration=43201), "max_session_duration"),
        (lambda w: w["accounts"][0]["roles"].append({"name": "FLEET-operator", "trusted": ["central"]}), "used twice"),
        (lambda w: w["accounts"][0].update(key_kind="admin"), r"accounts\[0\]\.key_kind"),
        (lambda w: w["accounts"][0].update(key_kind="root", ram_user="x"), r"accounts\[0\]\.ram_user"),
        (lambda w: w["accounts"][0]["roles"][0].update(trust=["central"]), "did you mean trusted"),
        (
            lambda w: w["accounts"][0]["roles"][3].update(trusted=["acs:ram::1637243907412983:role/missing"]),
            "does not have",
        ),
    ],
)
def test_a_bad_role_in_the_world_file_is_refused_naming_the_field(change, says):
    world = fleet_world()
    change(world)
    with pytest.raises(WorldError, match=says):
        validate(world)


def test_temporary_credentials_act_on_vpcpeer_too(fleet):
    uid = fleet.account("account-b")["uid"]
    creds = assume(central_sts(fleet), role_arn(uid, "fleet-operator"), "peering").credentials
    peer = PeerClient(sts_config(fleet.endpoint, creds, "cn-beijing"))
    body = peer.list_vpc_peer_connections(peer_models.ListVpcPeerConnectionsRequest(region_id="cn-beijing")).body
    assert body.vpc_peer_connects == []
    (entry,) = fleet.journal(action="ListVpcPeerConnections")
    assert (entry["account"], entry["role_session"], entry["status"]) == ("account-b", "peering", 200)
