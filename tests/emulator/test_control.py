"""The control API under ``/_emulator/``: health, reset, world, clock, state, accounts, journal,
and that it answers loopback clients only."""

from __future__ import annotations

import json

import pytest
import yaml
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.utils_models import Config
from alibabacloud_vpc20160428 import models as vpc_models
from alicloud_emulator import control as control_module
from alicloud_emulator.world import default_world, with_timing

from .conftest import start_emulator
from .support import call, connect_pair, control_status, create_initiator, interfaces, legacy_call, legacy_client

THIRD = {
    "name": "account-c",
    "uid": "1234567890123456",
    "access_key_id": "LTAI5tEmuAccountC0000001",
    "access_key_secret": "emuSecretC0000000000000000000000",
}


def _world_with_third_account() -> dict:
    world = default_world()
    world["accounts"].append(dict(THIRD))
    world["vpcs"].append(
        {
            "account": "account-c",
            "region": "cn-hangzhou",
            "name": "VPC3",
            "cidr": "10.0.0.0/16",
            "vswitches": [{"name": "VSW3", "zone": "cn-hangzhou-h", "cidr": "10.0.1.0/24"}],
        }
    )
    return world


def _timeless(state: dict) -> dict:
    """A state dump without its timestamps (a reset re-creates the world at the current time)."""
    return {
        acct: {
            t: [{k: v for k, v in r.items() if "Time" not in k and "Gmt" not in k} for r in rs]
            for t, rs in types.items()
        }
        for acct, types in state.items()
    }


def _secrets(emu) -> list[str]:
    return [a["access_key_secret"] for a in emu.control("accounts")["accounts"]]


def test_health_says_what_is_running_and_no_secret(emu):
    health = emu.control("health")
    assert health["status"] == "ok" and health["signatures"] == "enforced" and health["db"] == ":memory:"
    assert health["accounts"] == ["account-a", "account-b"]
    text = json.dumps(health)
    assert not any(s in text for s in _secrets(emu))


def test_accounts_hand_a_local_tool_working_keys(emu):
    for acct in emu.control("accounts")["accounts"]:
        cfg = emu.config(acct["name"], "cn-hangzhou")
        assert StsClient(cfg).get_caller_identity().body.account_id == acct["uid"]


def test_reset_goes_back_to_the_world_as_loaded(emu, a):
    before = emu.state()
    create_initiator(a.vpc)
    emu.faults({"action": "DescribeVpcs", "effect": "error", "code": "E"})
    assert len(interfaces(a.vpc, "cn-qingdao")) == 1
    assert emu.control("reset", {})["status"] == "reset"
    assert interfaces(a.vpc, "cn-qingdao") == {}
    assert emu.control("faults")["faults"] == []
    assert [e["action"] for e in emu.journal()] == ["DescribeRouterInterfaces"]  # the journal restarted too
    assert _timeless(emu.state()) == _timeless(before)
    assert a.sts.get_caller_identity().body.account_id == a.uid  # the same keys still work


def test_world_get_shows_the_world_without_its_accounts(emu):
    world = emu.control("world")
    assert "accounts" not in world and world["vpcs"][0]["name"] == "VPC1"
    assert world["timing"]["router_interface_connect"] == 0
    assert not any(s in json.dumps(world) for s in _secrets(emu))


def test_world_post_loads_another_world_from_a_json_body(emu):
    old_a = emu.account("account-a")
    assert emu.control("world", _world_with_third_account())["accounts"] == ["account-a", "account-b", "account-c"]
    c = emu.side("account-c", "cn-hangzhou")
    assert c.sts.get_caller_identity().body.account_id == THIRD["uid"]
    vpcs = c.vpc.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id="cn-hangzhou")).body.vpcs.vpc
    assert [v.vpc_name for v in vpcs] == ["VPC3"]
    assert emu.account("account-a") == old_a


def test_world_post_loads_a_file_by_path_and_old_keys_stop_working(emu, tmp_path):
    old_b = emu.account("account-b")
    world = {"accounts": [THIRD], "vpcs": []}
    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump(world))
    emu.control("world", {"path": str(path)})
    with pytest.raises(ClientException) as info:
        call(
            Config(
                access_key_id=old_b["access_key_id"],
                access_key_secret=old_b["access_key_secret"],
                region_id="cn-beijing",
                endpoint=emu.endpoint,
                protocol="http",
            ),
            "sts",
            "GetCallerIdentity",
        )
    assert info.value.code == "InvalidAccessKeyId.NotFound"
    assert [a["name"] for a in emu.control("accounts")["accounts"]] == ["account-c"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"accounts": []}, "accounts"),
        ({"accounts": [dict(THIRD, uid="12")]}, "accounts[0].uid"),
        (
            {"accounts": [THIRD], "vpcs": [{"account": "nobody", "region": "cn-hangzhou", "cidr": "10.0.0.0/8"}]},
            "vpcs[0].account",
        ),
        (
            {"accounts": [THIRD], "vpcs": [{"account": "account-c", "region": "cn-hangzhou", "cidr": "10.0.0.0/99"}]},
            "vpcs[0].cidr",
        ),
        ({"path": "/nonexistent/world.yaml"}, "/nonexistent/world.yaml"),
        (["not", "a", "world"], "mapping"),
    ],
)
def test_a_bad_world_is_refused_naming_the_field_and_the_old_world_stays(emu, a, body, field):
    create_initiator(a.vpc)
    status, reply = control_status(emu.endpoint, "world", body)
    assert status == 400 and field in reply["error"], reply
    assert len(interfaces(a.vpc, "cn-qingdao")) == 1


@pytest.fixture
def long_connect():
    """Connecting takes a virtual minute: wide margins, whatever the machine's load."""
    e = start_emulator(with_timing(default_world(), scale=0, router_interface_connect=60))
    yield e
    e.server.stop()


def test_clock_advances_and_transitions_settle_when_read(long_connect):
    emu = long_connect
    a, b = emu.side("account-a", "cn-qingdao"), emu.side("account-b", "cn-beijing")
    t0 = emu.control("clock")["epoch"]
    ri_a, ri_b = connect_pair(a.vpc, b.vpc, a.uid, b.uid)
    assert interfaces(a.vpc, "cn-qingdao")[ri_a].status == "Connecting"
    after = emu.control("clock", {"advance": 30})["epoch"]
    assert after - t0 >= 30
    assert interfaces(a.vpc, "cn-qingdao")[ri_a].status == "Connecting"
    emu.advance(31)
    assert interfaces(a.vpc, "cn-qingdao")[ri_a].status == "Active"
    assert interfaces(b.vpc, "cn-beijing")[ri_b].status == "Active"  # both ends, one transition


def test_clock_refuses_to_go_back(emu):
    status, reply = control_status(emu.endpoint, "clock", {"advance": -5})
    assert status == 400 and "forward" in reply["error"]


def test_state_is_a_dump_per_account(emu, a):
    ri = create_initiator(a.vpc)
    state = emu.state()
    assert set(state) == {"account-a", "account-b"}
    assert [v["VpcName"] for v in state["account-a"]["vpc"]] == ["VPC1"]
    assert [v["VpcName"] for v in state["account-b"]["vpc"]] == ["VPC2"]
    assert [r["RouterInterfaceId"] for r in state["account-a"]["router_interface"]] == [ri]
    assert "router_interface" not in state["account-b"]
    text = json.dumps(state)
    assert not any(s in text for s in _secrets(emu)) and '"_' not in text  # no bookkeeping keys


def test_journal_records_each_request_without_secrets(emu, a):
    acct = emu.account("account-a")
    a.sts.get_caller_identity()
    call(emu.config("account-a", "cn-qingdao", signature_algorithm="v2"), "sts", "GetCallerIdentity", {"Note": "v2"})
    legacy_call(legacy_client(acct, "cn-qingdao"), emu.endpoint, "sts", "GetCallerIdentity", {"Note": "legacy"})
    with pytest.raises(ClientException):
        a.vpc.describe_vpcs(vpc_models.DescribeVpcsRequest())
    with pytest.raises(ClientException):
        call(
            Config(
                access_key_id=acct["access_key_id"],
                access_key_secret="wrong",
                region_id="cn-qingdao",
                endpoint=emu.endpoint,
                protocol="http",
                signature_algorithm="v2",
            ),
            "sts",
            "GetCallerIdentity",
        )
    entries = emu.journal()
    assert len(entries) == 5
    for e in entries:
        assert {"time", "action", "params", "status", "error_code", "request_id", "duration_ms"} <= set(e)
    assert [(e["action"], e["status"], e["error_code"]) for e in entries] == [
        ("GetCallerIdentity", 200, None),
        ("GetCallerIdentity", 200, None),
        ("GetCallerIdentity", 200, None),
        ("DescribeVpcs", 400, "MissingParameter"),
        ("GetCallerIdentity", 400, "SignatureDoesNotMatch"),
    ]
    assert [e.get("account") for e in entries] == ["account-a"] * 4 + [None]
    assert entries[1]["params"]["Note"] == "v2" and entries[2]["params"]["Note"] == "legacy"
    text = json.dumps(entries)
    for secret in _secrets(emu):
        assert secret not in text
    assert '"Signature"' not in text and "ACS3-HMAC-SHA256" not in text  # neither style's signature
    assert "AccessKeySecret" not in text and "wrong" not in text
    assert all(not k.startswith("Signature") for e in entries for k in e["params"])


def test_journal_filters_and_since(emu, a, b):
    a.sts.get_caller_identity()
    b.sts.get_caller_identity()
    a.vpc.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id="cn-qingdao"))
    assert [e["action"] for e in emu.journal(account="account-a")] == ["GetCallerIdentity", "DescribeVpcs"]
    assert [e["account"] for e in emu.journal(action="GetCallerIdentity")] == ["account-a", "account-b"]
    first = emu.journal()[0]["seq"]
    assert [e["action"] for e in emu.journal(since=str(first))] == ["GetCallerIdentity", "DescribeVpcs"]


def test_unknown_control_path_lists_the_known_ones(emu):
    status, reply = control_status(emu.endpoint, "nonsense")
    assert status == 404
    for known in ("health", "reset", "world", "faults", "clock", "journal", "state", "accounts"):
        assert f"/_emulator/{known}" in reply["error"]


def test_control_api_answers_loopback_clients_only(emu, a, monkeypatch):
    assert control_module.is_loopback("127.0.0.1") and control_module.is_loopback("::1")
    assert control_module.is_loopback("::ffff:127.0.0.1") and control_module.is_loopback("127.0.0.2")
    for other in ("10.0.0.5", "192.168.1.10", "8.8.8.8", "::ffff:10.0.0.5", "fe80::1", "", "localhost"):
        assert not control_module.is_loopback(other)
    monkeypatch.setattr(control_module, "is_loopback", lambda address: False)
    status, reply = control_status(emu.endpoint, "accounts")
    assert status == 403 and "loopback" in reply["error"] and "accounts" not in reply
    assert a.sts.get_caller_identity().body.account_id == a.uid  # the APIs themselves are signed, so served
