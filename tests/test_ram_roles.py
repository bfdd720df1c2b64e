"""A central account with RAM roles (issue 12 item 6): each side's credential profile is of mode
``RamRoleArn``, the AccessKey of a central account's RAM user (neither A's nor B's) plus the ARN of a
role in the side's own account. The runbook assumes the role at the emulator's STS (the credentials
library's ``sts_endpoint``), acts in the member account as the role session, and its ledger names the
role beside the account of every call. All calls go through the official SDKs and
``alibabacloud-credentials``; nothing here speaks HTTP by hand."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_credentials.provider import RamRoleArnCredentialsProvider
from alibabacloud_credentials.provider.cli_profile import CLIProfileCredentialsProvider
from alibabacloud_vpc20160428 import models as vpc_models
from alicloud_emulator.world import default_world, with_timing
from emulator.conftest import Emu, start_emulator
from phase_support import MUTATING, Rig, own_state  # noqa: F401  (autouse: private vpclink state)
from test_fleet_e2e import _vpc
from vpclink import params as P
from vpclink.cloud import Cloud, CloudError
from vpclink.fleet import load_fleet
from vpclink.fleet.world import world_for_fleet
from vpclink.profiles import ProfileError, check_profile, credential_client, role_arn
from vpclink.record.ledger import Ledger

CENTRAL = {
    "name": "central",
    "uid": "1000200030004000",
    "access_key_id": "LTAI5tEmuCentralNetOps1",
    "access_key_secret": "emuSecretCentralNetOps7Hq2Wm9Zx4Lp6Rt",
    "ram_user": "netops",
}
ROLE = "vpclink-operator"
EXAMPLE = Path(__file__).resolve().parent.parent / "params" / "example.yaml"
# The products whose calls must be the member account's role session, never the central key.
MEMBER_PRODUCTS = ("Vpc", "Ecs")


def with_central(world: dict[str, Any], members: list[str]) -> dict[str, Any]:
    """``world`` plus the central account, and in each member account a role it trusts."""
    world = copy.deepcopy(world)
    for account in world["accounts"]:
        if account["name"] in members:
            account["roles"] = [{"name": ROLE, "trusted": [f"acs:ram::{CENTRAL['uid']}:root"]}]
    world["accounts"].append(dict(CENTRAL))
    return world


def arn(uid: str) -> str:
    return f"acs:ram::{uid}:role/{ROLE}"


def write_role_profiles(path: Path, roles: dict[str, str], **extra: Any) -> Path:
    """The Alibaba Cloud CLI's config.json with one ``RamRoleArn`` profile per name -> role ARN, all with
    the central account's key (written here, not by vpclink, to check vpclink against the format)."""
    path.write_text(
        json.dumps(
            {
                "current": next(iter(roles)),
                "profiles": [
                    {
                        "name": name,
                        "mode": "RamRoleArn",
                        "access_key_id": CENTRAL["access_key_id"],
                        "access_key_secret": CENTRAL["access_key_secret"],
                        "ram_role_arn": role,
                        "ram_session_name": f"vpclink-{name}",
                        "expired_seconds": 3600,
                        "region_id": "cn-hangzhou",
                        **extra,
                    }
                    for name, role in roles.items()
                ],
            }
        )
    )
    return path


def role_rig(emu: Emu, tmp_path: Path, params: P.LinkParams | None = None) -> Rig:
    """A phase rig whose profiles are RAM roles of the central account in the side's accounts."""
    rig = Rig(emu, tmp_path, params=params)
    uids = {a["name"]: a["uid"] for a in emu.control("accounts")["accounts"]}
    owners = {v["VpcId"]: name for name, held in emu.state().items() for v in held.get("vpc", [])}
    roles = {rig.params.side(r).profile: arn(uids[owners[rig.params.side(r).vpc_id]]) for r in P.ROLES}
    write_role_profiles(rig.profiles_file, roles)
    return rig


def assert_acted_through_roles(emu: Emu, since: int, ledger: Ledger, expected: dict[str, tuple[str, str]]) -> None:
    """Every VPC/ECS call after journal entry ``since`` was a role session in a member account, and
    the ledger names, per side, the member account and the role; the central key only assumed roles."""
    entries = emu.control(f"journal?since={since}")["entries"]
    member = [e for e in entries if e.get("product") in MEMBER_PRODUCTS]
    assert member and any(e["action"] in MUTATING for e in member)
    by_account = {account: role for account, role in expected.values()}
    for e in member:
        assert e["account"] in by_account and e.get("role_arn") == by_account[e["account"]], e
        assert e.get("role_session", "").startswith("vpclink-"), e
    assumed = [e for e in entries if e["action"] == "AssumeRole"]
    assert assumed and all(e["account"] == "central" and "role_arn" not in e for e in assumed)
    assert {e["account"] for e in entries} <= {*by_account, "central"}
    assert not [e for e in entries if e["account"] == "central" and e["action"] != "AssumeRole"]
    assert ledger.entries
    uids = {a["name"]: a["uid"] for a in emu.control("accounts")["accounts"]}
    for line in ledger.entries:
        account, role = expected[line["side"]]
        assert (line["account_uid"], line["role"]) == (uids[account], role), line


@pytest.fixture
def role_emu() -> Any:
    e = start_emulator(with_central(with_timing(default_world(), scale=0), ["account-a", "account-b"]))
    yield e
    e.server.stop()


# -- one link ------------------------------------------------------------------------------------------------
def test_a_link_runs_with_both_sides_reached_through_ram_roles_of_a_central_account(role_emu, tmp_path):
    rig = role_rig(role_emu, tmp_path)
    uids = {a["name"]: a["uid"] for a in role_emu.control("accounts")["accounts"]}
    out = rig.run_all()
    assert out["verified"] is True
    assert (out["ping_initiator_to_acceptor"], out["ping_acceptor_to_initiator"]) == ("ok", "ok")
    state = role_emu.state()
    assert len(state["account-a"]["router_interface"]) == len(state["account-b"]["router_interface"]) == 1
    assert "central" not in state  # nothing was made in the central account
    expected = {
        "initiator": ("account-a", arn(uids["account-a"])),
        "acceptor": ("account-b", arn(uids["account-b"])),
    }
    assert_acted_through_roles(role_emu, 0, rig.ledger, expected)
    # the ledger file: the role beside the account on every line, no key of any kind
    text = (tmp_path / "ledger.jsonl").read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines == rig.ledger.entries and all("role" in line for line in lines)
    assert CENTRAL["access_key_secret"] not in text and CENTRAL["access_key_id"] not in text


def test_an_accesskey_profile_leaves_the_ledgers_role_null(rig):
    rig.run_all(phases=("preflight",))
    assert rig.ledger.entries and all(line["role"] is None for line in rig.ledger.entries)


# -- a fleet ---------------------------------------------------------------------------------------------
FLEET: dict[str, Any] = {
    "fleet": "roles-only",
    "vpcs": {
        "hub": _vpc("member-hub", "cn-hangzhou", "hubhub", "10.0.0.0/16"),
        "app": _vpc("member-app", "cn-hangzhou", "appapp", "10.11.0.0/16"),
        "data": _vpc("member-data", "cn-shanghai", "datada", "10.12.0.0/16"),
    },
    "defaults": {"bandwidth_mbps": 10, "security_groups": {"mode": "cidr", "rules": [{"protocol": "icmp"}]}},
    "links": [{"initiator": "hub", "acceptor": "app"}, {"initiator": "hub", "acceptor": "data"}],
}


def test_a_fleet_whose_member_accounts_are_reached_only_through_ram_roles(tmp_path):
    """Three member accounts, one profile each of mode RamRoleArn from one central account: every link
    of the fleet verifies, and every VPC/ECS call was the role session in its member account."""
    import yaml

    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(yaml.safe_dump(FLEET, sort_keys=False))
    fleet = load_fleet(fleet_file)
    world = world_for_fleet(fleet)
    members = [a["name"] for a in world["accounts"]]
    emu = start_emulator(with_central(with_timing(world, scale=0), members))
    try:
        accounts = {a["name"]: a for a in emu.control("accounts")["accounts"]}
        owner = {v["VpcId"]: name for name, held in emu.state().items() for v in held.get("vpc", [])}
        profile_account = {vpc["profile"]: owner[vpc["vpc_id"]] for vpc in FLEET["vpcs"].values()}
        assert len(set(profile_account.values())) == 3 and "central" not in profile_account.values()
        profiles = write_role_profiles(
            tmp_path / "config.json", {p: arn(accounts[a]["uid"]) for p, a in profile_account.items()}
        )
        for link in fleet.links:
            since = emu.control("journal")["entries"][-1]["seq"] if emu.control("journal")["entries"] else 0
            link_dir = tmp_path / link.name
            link_dir.mkdir()
            rig = Rig(emu, link_dir, params=link.params, profiles=profile_account)
            rig.profiles_file.write_text(profiles.read_text())
            out = rig.run_all(run_id=f"fleet-{link.name}")
            assert out["verified"] is True, (link.name, out)
            expected = {
                r: (
                    profile_account[link.params.side(r).profile],
                    arn(accounts[profile_account[link.params.side(r).profile]]["uid"]),
                )
                for r in P.ROLES
            }
            assert_acted_through_roles(emu, since, rig.ledger, expected)
    finally:
        emu.server.stop()


# -- refusals --------------------------------------------------------------------------------------------
def test_a_role_session_ended_mid_run_is_refused_by_its_code_with_no_key(role_emu, tmp_path):
    """The emulator's own refusals of wrong and expired tokens are tested through the SDK in
    ``tests/emulator/test_sts_tokens.py``; here the runbook meets one: a role session ended at the
    emulator while the credentials library still holds it is refused ``InvalidSecurityToken.Expired``,
    which vpclink reports and records with the side, the account and the role, and no key."""
    rig = role_rig(role_emu, tmp_path)
    cloud = rig.cloud("preflight")
    request = vpc_models.DescribeVpcsRequest(region_id=rig.params.initiator.region)
    assert cloud.call("initiator", "vpc", "DescribeVpcs", request, mutating=False)["TotalCount"] == 1
    assert role_emu.control("credentials", {"expire": "all"})["expired_now"] >= 1
    with pytest.raises(CloudError) as info:
        cloud.call("initiator", "vpc", "DescribeVpcs", request, mutating=False)
    assert info.value.code == "InvalidSecurityToken.Expired" and info.value.status == 400
    last = cloud.ledger.entries[-1]
    uid = role_emu.account("account-a")["uid"]
    assert (last["error_code"], last["account_uid"], last["role"]) == ("InvalidSecurityToken.Expired", uid, arn(uid))
    text = str(info.value) + json.dumps(cloud.ledger.entries)
    assert CENTRAL["access_key_secret"] not in text and CENTRAL["access_key_id"] not in text


def test_an_assume_role_refusal_reaches_the_ledger_by_its_code_and_no_key(role_emu, tmp_path):
    """A role that does not exist: STS's refusal of the AssumeRole is the side's API error, by its code
    (the credentials library reports it as a CredentialException holding the error body)."""
    params = P.load(str(EXAMPLE))
    profiles = write_role_profiles(
        tmp_path / "config.json",
        {"vpclink-a": arn("1234123412341234"), "vpclink-b": arn(role_emu.account("account-b")["uid"])},
    )
    cloud = Cloud(params, endpoint=role_emu.endpoint, profiles_file=str(profiles), ledger=Ledger(), phase="preflight")
    with pytest.raises(CloudError) as info:
        cloud.identity("initiator")
    # STS's own answer, not an unknown outcome: not retried, its code and request ID kept
    assert (info.value.code, info.value.status, info.value.ambiguous) == ("EntityNotExist.Role", 404, False)
    assert arn("1234123412341234") in str(info.value) and info.value.request_id
    (line,) = cloud.ledger.entries
    assert (line["action"], line["error_code"], line["role"]) == (
        "GetCallerIdentity",
        "EntityNotExist.Role",
        arn("1234123412341234"),
    )
    text = str(info.value) + json.dumps(cloud.ledger.entries)
    assert CENTRAL["access_key_secret"] not in text and CENTRAL["access_key_id"] not in text


def test_a_wrong_central_secret_is_refused_by_its_code_with_no_key_anywhere(role_emu, tmp_path, caplog):
    """STS refuses the AssumeRole signed with a wrong secret (``SignatureDoesNotMatch``, not retried);
    vpclink's error, its ledger and the credentials library's own log lines hold no key."""
    uids = {n: role_emu.account(n)["uid"] for n in ("account-a", "account-b")}
    profiles = write_role_profiles(
        tmp_path / "config.json",
        {"vpclink-a": arn(uids["account-a"]), "vpclink-b": arn(uids["account-b"])},
        access_key_secret="notTheCentralSecret0000000000000000000",
    )
    params = P.load(str(EXAMPLE))
    cloud = Cloud(params, endpoint=role_emu.endpoint, profiles_file=str(profiles), ledger=Ledger(), phase="p")
    with pytest.raises(CloudError) as info:
        cloud.identity("initiator")
    assert (info.value.code, info.value.ambiguous) == ("SignatureDoesNotMatch", False)
    assert "SignatureDoesNotMatch" in caplog.text  # the library logged STS's answer
    for text in (str(info.value), caplog.text, json.dumps(cloud.ledger.entries)):
        assert CENTRAL["access_key_id"] not in text and "notTheCentralSecret" not in text


def test_the_credentials_librarys_log_lines_have_the_profiles_keys_masked(tmp_path, caplog):
    """The cloud's ``SignatureDoesNotMatch`` repeats the string to sign, AccessKeyId included, and the
    credentials library logs a refused AssumeRole's answer to stderr: vpclink masks the keys of every
    profile it built credentials for in that logger's lines."""
    import logging

    profiles = write_role_profiles(tmp_path / "config.json", {"vpclink-a": arn("1637243907412983")})
    credential_client("vpclink-a", profiles, field="initiator.profile", sts_endpoint="http://127.0.0.1:9")
    logging.getLogger("credentials").warning(
        "error refreshing credentials: server string to sign is:GET&%%2F&AccessKeyId%%3D%s%%26Action",
        CENTRAL["access_key_id"],
    )
    assert "AccessKeyId%3D***%26Action" in caplog.text and CENTRAL["access_key_id"] not in caplog.text


def test_the_real_cloud_keeps_the_libraries_own_sts_endpoint(tmp_path):
    """No endpoint (``--target alibabacloud``): the profile is read by the library's CLI provider,
    which sends AssumeRole to sts.aliyuncs.com itself; vpclink sets nothing."""
    profiles = write_role_profiles(tmp_path / "config.json", {"vpclink-a": arn("1637243907412983")})
    provider = credential_client("vpclink-a", profiles, field="initiator.profile").cloud_credential.provider
    assert isinstance(provider, CLIProfileCredentialsProvider)
    inner = provider._get_credentials_provider(json.loads(profiles.read_text()), "vpclink-a")  # what it will use
    assert isinstance(inner, RamRoleArnCredentialsProvider) and inner._sts_endpoint == "sts.aliyuncs.com"
    # against an emulator, the same provider class from the same fields, sent to the emulator
    provider = credential_client(
        "vpclink-a", profiles, field="initiator.profile", sts_endpoint="http://127.0.0.1:9"
    ).cloud_credential.provider
    assert isinstance(provider, RamRoleArnCredentialsProvider) and provider._sts_endpoint == "http://127.0.0.1:9"
    assert (provider._role_arn, provider._role_session_name) == (arn("1637243907412983"), "vpclink-vpclink-a")
    assert role_arn("vpclink-a", profiles, field="initiator.profile") == arn("1637243907412983")


# -- the profile's own fields ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"ram_role_arn": None}, "has no ram_role_arn: give the ARN of the role to assume, acs:ram::"),
        ({"ram_role_arn": ""}, "has no ram_role_arn"),
        ({"ram_role_arn": "arn:aws:iam::1:role/x"}, "ram_role_arn is not a RAM role's ARN; valid: acs:ram::"),
        ({"expired_seconds": 60}, "expired_seconds must be a whole number of seconds from 900"),
        ({"expired_seconds": 0}, "expired_seconds must be a whole number of seconds from 900"),
        ({"expired_seconds": 43201}, "(at most 43200; STS AssumeRole DurationSeconds)"),
        ({"expired_seconds": "3600"}, "expired_seconds must be a whole number"),
        ({"access_key_secret": None}, "has no access_key_secret"),
        ({"ram_session_name": "a b"}, "ram_session_name must be 2-64"),
    ],
)
def test_a_role_profile_missing_what_assume_role_needs_is_refused_naming_the_field(tmp_path, change, says):
    profiles = write_role_profiles(tmp_path / "config.json", {"vpclink-a": arn("1637243907412983")}, **change)
    data = json.loads(profiles.read_text())
    data["profiles"][0] = {k: v for k, v in data["profiles"][0].items() if v is not None}
    profiles.write_text(json.dumps(data))
    with pytest.raises(ProfileError) as info:
        check_profile("vpclink-a", profiles, field="initiator.profile")
    message = str(info.value)
    assert message.startswith("initiator.profile: profile 'vpclink-a' (mode RamRoleArn)") and says in message
    assert CENTRAL["access_key_secret"] not in message and CENTRAL["access_key_id"] not in message


# -- vpclink check ------------------------------------------------------------------------------------------
def test_check_names_a_role_profile_without_its_role_and_what_is_valid(tmp_path, capsys, monkeypatch):
    from vpclink.cli import main

    profiles = write_role_profiles(
        tmp_path / "config.json",
        {"vpclink-a": arn("1637243907412983"), "vpclink-b": arn("1589430122237715")},
    )
    assert main(["check", str(EXAMPLE), "--profiles", str(profiles)]) == 0
    data = json.loads(profiles.read_text())
    del data["profiles"][1]["ram_role_arn"]
    profiles.write_text(json.dumps(data))
    assert main(["check", str(EXAMPLE)]) == 0  # the emulator's runs never read the user's profiles
    capsys.readouterr()
    assert main(["check", str(EXAMPLE), "--profiles", str(profiles)]) == 2
    err = capsys.readouterr().err
    assert "acceptor.profile: profile 'vpclink-b' (mode RamRoleArn)" in err
    assert "has no ram_role_arn: give the ARN of the role to assume, acs:ram::<16-digit account UID>:role/" in err
    assert "initiator.profile" not in err and CENTRAL["access_key_secret"] not in err
    # --target alibabacloud: the profiles of the Alibaba Cloud CLI's own file, as a real run reads them
    home = tmp_path / "home"
    (home / ".aliyun").mkdir(parents=True)
    (home / ".aliyun" / "config.json").write_text(profiles.read_text())
    monkeypatch.setenv("HOME", str(home))
    assert main(["check", str(EXAMPLE), "--target", "alibabacloud"]) == 2
    assert "acceptor.profile: profile 'vpclink-b' (mode RamRoleArn)" in capsys.readouterr().err


def test_check_of_a_fleet_names_the_vpcs_profile_field(tmp_path, capsys):
    import yaml
    from vpclink.cli import main

    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(yaml.safe_dump(FLEET, sort_keys=False))
    profiles = write_role_profiles(
        tmp_path / "config.json", {p: arn("1637243907412983") for p in ("member-hub", "member-app", "member-data")}
    )
    assert main(["check", str(fleet_file), "--profiles", str(profiles)]) == 0
    data = json.loads(profiles.read_text())
    data["profiles"][2]["ram_role_arn"] = "vpclink-operator"
    profiles.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["check", str(fleet_file), "--profiles", str(profiles)]) == 2
    err = capsys.readouterr().err
    assert "vpcs.data.profile: profile 'member-data' (mode RamRoleArn)" in err
    assert "ram_role_arn is not a RAM role's ARN; valid: acs:ram::<16-digit account UID>:role/<role name>" in err
