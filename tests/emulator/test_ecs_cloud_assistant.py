"""Cloud Assistant through the official SDK: RunCommand, DescribeInvocations and
DescribeInvocationResults, their encodings and timing, per-instance failures, and a ping whose
outcome follows the emulated network (each missing piece breaks it)."""

from __future__ import annotations

import base64
import copy
import threading
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_vpc20160428 import models as vm
from alicloud_emulator.products import cloud_assistant
from alicloud_emulator.world import default_world, with_timing

from .conftest import Emu, Side, start_emulator
from .ecs_helpers import (
    A_CIDR,
    A_ECS,
    A_IP,
    A_SG,
    B_CIDR,
    B_ECS,
    B_IP,
    B_SG,
    B_VTB,
    allow_icmp,
    call,
    error_of,
    instant_world,
    link_through_vpc_api,
    one_region_world,
    ping,
    result,
    run,
    store_of,
    write_link,
)


def invocations(side: Side, **kw: Any) -> list[dict[str, Any]]:
    body = call(side.ecs, "describe_invocations", m.DescribeInvocationsRequest(region_id=side.region, **kw))
    return body["Invocations"]["Invocation"]


def results(side: Side, **kw: Any) -> dict[str, Any]:
    return call(
        side.ecs, "describe_invocation_results", m.DescribeInvocationResultsRequest(region_id=side.region, **kw)
    )["Invocation"]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# -- the API ----------------------------------------------------------------------------------------
def test_run_command_answers_ids_and_echo_prints(a: Side) -> None:
    body = call(
        a.ecs,
        "run_command",
        m.RunCommandRequest(
            region_id=a.region, type="RunShellScript", instance_id=[A_ECS], command_content="echo hello  'big world'"
        ),
    )
    assert body["CommandId"].startswith("c-") and body["InvokeId"].startswith("t-")
    r = result(a, body["InvokeId"])
    assert (r["InvocationStatus"], r["InvokeRecordStatus"], r["ExitCode"], r["ErrorCode"]) == (
        "Success",
        "Finished",
        0,
        "",
    )
    assert r["Output"] == "hello big world\n"
    assert (r["InstanceId"], r["CommandId"], r["Dropped"], r["Repeats"], r["Username"]) == (
        A_ECS,
        body["CommandId"],
        0,
        1,
        "root",
    )


def test_results_are_running_until_the_command_time_passes(slow_emu: Emu) -> None:
    a = slow_emu.side("account-a", "cn-qingdao")
    invoke_id = run(a, A_ECS, "echo done")
    r = result(a, invoke_id)
    assert (r["InvocationStatus"], r["InvokeRecordStatus"], r["Output"], r["FinishedTime"]) == (
        "Running",
        "Running",
        "",
        "",
    )
    assert "ExitCode" not in r, "a running command has no exit code yet"
    (inv,) = invocations(a, invoke_id=invoke_id)
    assert (inv["InvocationStatus"], inv["InvokeStatus"]) == ("Running", "Running")
    slow_emu.advance(2.5)
    assert result(a, invoke_id)["InvocationStatus"] == "Running"
    slow_emu.advance(0.6)  # the default world's timing.command is 3 s
    r = result(a, invoke_id)
    assert (r["InvocationStatus"], r["ExitCode"], r["Output"]) == ("Success", 0, "done\n")
    assert r["FinishedTime"] >= r["StartTime"]
    (inv,) = invocations(a, invoke_id=invoke_id)
    assert (inv["InvocationStatus"], inv["InvokeStatus"]) == ("Success", "Finished")


def test_output_encoding(a: Side) -> None:
    invoke_id = run(a, A_ECS, "echo hi")
    assert results(a, invoke_id=invoke_id)["InvocationResults"]["InvocationResult"][0]["Output"] == b64("hi\n")
    plain = results(a, invoke_id=invoke_id, content_encoding="PlainText")
    assert plain["InvocationResults"]["InvocationResult"][0]["Output"] == "hi\n"
    (inv,) = invocations(a, invoke_id=invoke_id, include_output=True)
    assert inv["CommandContent"] == b64("echo hi") and inv["InvokeInstances"]["InvokeInstance"][0]["Output"] == b64(
        "hi\n"
    )
    (inv,) = invocations(a, invoke_id=invoke_id, include_output=True, content_encoding="PlainText")
    assert inv["CommandContent"] == "echo hi" and inv["InvokeInstances"]["InvokeInstance"][0]["Output"] == "hi\n"
    (inv,) = invocations(a, invoke_id=invoke_id)
    assert "Output" not in inv["InvokeInstances"]["InvokeInstance"][0], "Output only with IncludeOutput"
    # an encoding neither call knows is each call's documented default (RunCommand: PlainText)
    hex_results = results(a, invoke_id=invoke_id, content_encoding="hex")
    assert hex_results["InvocationResults"]["InvocationResult"][0]["Output"] == b64("hi\n")
    r = result(a, run(a, A_ECS, "echo plain", content_encoding="rot13"))
    assert r["Output"] == "plain\n"
    (inv,) = invocations(a, content_encoding="rot13", command_type="RunShellScript", invoke_id=invoke_id)
    assert inv["CommandContent"] == b64("echo hi")


def test_base64_command_content_and_parameters(a: Side) -> None:
    r = result(a, run(a, A_ECS, b64("echo from base64"), content_encoding="Base64"))
    assert r["Output"] == "from base64\n"
    r = result(a, run(a, A_ECS, "echo {{who}}", enable_parameter=True, parameters={"who": "peer"}))
    assert r["Output"] == "peer\n"
    e = error_of(
        a.ecs,
        "run_command",
        m.RunCommandRequest(
            region_id=a.region,
            type="RunShellScript",
            instance_id=[A_ECS],
            command_content="echo hi",
            content_encoding="Base64",
        ),
    )
    assert e.code == "CmdContent.DecodeError" and "PlainText" in e.data["Message"]


def test_commands_the_emulator_does_not_model_exit_127(a: Side) -> None:
    r = result(a, run(a, A_ECS, "echo before\nuname -a"))
    assert (r["InvocationStatus"], r["ExitCode"], r["ErrorCode"]) == ("Failed", 127, "ExitCodeNonzero")
    assert r["Output"] == "before\nsh: uname: command not modelled by the emulator (supported: ping, echo)\n"
    r = result(a, run(a, A_ECS, f"ping -c 1 {A_IP} | tail -1"))
    assert r["ExitCode"] == 127 and "not modelled by the emulator" in r["Output"]


@pytest.mark.parametrize(
    "request_fields, code, field",
    [
        ({"instance_id": [A_ECS], "command_content": "echo"}, "MissingParameter", "Type"),
        (
            {"type": "RunPython", "instance_id": [A_ECS], "command_content": "echo"},
            "InvalidCmdType.NotFound",
            "type",
        ),
        (
            {
                "type": "RunShellScript",
                "instance_id": [f"i-m5e1tutorialecs{n:07d}" for n in range(101)],
                "command_content": "echo",
            },
            "InstanceIds.ExceedLimit",
            "InstanceId",
        ),
        ({"type": "RunShellScript", "instance_id": [A_ECS]}, "MissingParameter", "CommandContent"),
        ({"type": "RunShellScript", "command_content": "echo"}, "MissingParameter", "InstanceId"),
        (
            {"type": "RunShellScript", "instance_id": [A_ECS], "command_content": "echo", "timeout": 5},
            "InvalidParameter",
            "Timeout",
        ),
        (
            {
                "type": "RunShellScript",
                "instance_id": [A_ECS],
                "command_content": "echo",
                "repeat_mode": "Period",
                "frequency": "rate(5m)",
            },
            "InvalidParameter",
            "RepeatMode",
        ),
        (
            {"type": "RunShellScript", "instance_id": [A_ECS], "command_content": "x" * 20000},
            "CmdContent.ExceedLimit",
            "CommandContent",
        ),
        (
            {"type": "RunShellScript", "instance_id": [A_ECS], "command_content": "echo", "name": "n" * 129},
            "CmdName.ExceedLimit",
            "Name",
        ),
        (
            {"type": "RunShellScript", "instance_id": [A_ECS], "command_content": "echo", "working_dir": "/" * 201},
            "InvalidParameter.WorkingDir",
            "WorkingDir",
        ),
        (
            {"type": "RunShellScript", "instance_id": [A_ECS], "command_content": "echo", "termination_mode": "Kill"},
            "InvalidTerminationMode.NotFound",
            "TerminationMode",
        ),
        (
            {
                "type": "RunShellScript",
                "instance_id": [A_ECS],
                "command_content": "echo",
                "tag": [m.RunCommandRequestTag(key=f"k{n}", value="v") for n in range(21)],
            },
            "NumberExceed.Tags",
            "Tag.N",
        ),
        (
            {
                "type": "RunShellScript",
                "command_content": "echo",
                "resource_tag": [m.RunCommandRequestResourceTag(key=f"k{n}", value="v") for n in range(11)],
            },
            "NumberExceed.ResourceTags",
            "ResourceTag.N",
        ),
        (
            {
                "type": "RunShellScript",
                "instance_id": [A_ECS],
                "command_content": "echo",
                "resource_tag": [m.RunCommandRequestResourceTag(key="env", value="prod")],
            },
            "InvalidResourceTag.ConflictWithInstanceIds",
            "ResourceTag",
        ),
        (
            {
                "type": "RunShellScript",
                "command_content": "echo",
                "resource_tag": [m.RunCommandRequestResourceTag(key="env", value="prod")],
            },
            "InvalidResourceTag.InstanceNotFound",
            "ResourceTag",
        ),
        (
            {
                "type": "RunShellScript",
                "instance_id": [A_ECS],
                "command_content": "echo",
                "tag": [m.RunCommandRequestTag(value="v")],
            },
            "MissingParameter.TagKey",
            "Tag.1.Key",
        ),
    ],
)
def test_run_command_validation(a: Side, request_fields: dict[str, Any], code: str, field: str) -> None:
    e = error_of(a.ecs, "run_command", m.RunCommandRequest(region_id=a.region, **request_fields))
    assert e.code == code and field in e.data["Message"], e.message
    assert invocations(a) == [], "a refused RunCommand leaves no invocation behind"


def test_an_unknown_command_type_is_the_documented_404(a: Side) -> None:
    e = error_of(
        a.ecs,
        "run_command",
        m.RunCommandRequest(region_id=a.region, type="RunPython", instance_id=[A_ECS], command_content="echo"),
    )
    assert (e.code, e.status_code) == ("InvalidCmdType.NotFound", 404)
    assert all(t in e.data["Message"] for t in ("RunShellScript", "RunBatScript", "RunPowerShellScript"))


def test_invocations_carry_their_tags_and_the_describes_filter_on_them(a: Side) -> None:
    tagged = run(a, A_ECS, "echo tagged", tag=[m.RunCommandRequestTag(key="link", value="l1")])
    plain = run(a, A_ECS, "echo plain")
    (inv,) = invocations(a, tag=[m.DescribeInvocationsRequestTag(key="link", value="l1")])
    assert inv["InvokeId"] == tagged and inv["Tags"] == {"Tag": [{"TagKey": "link", "TagValue": "l1"}]}
    assert [i["InvokeId"] for i in invocations(a)] == [plain, tagged]
    by_key = results(a, tag=[m.DescribeInvocationResultsRequestTag(key="link")])["InvocationResults"]
    assert [r["InvokeId"] for r in by_key["InvocationResult"]] == [tagged]
    assert invocations(a, tag=[m.DescribeInvocationsRequestTag(key="link", value="other")]) == []
    e = error_of(
        a.ecs,
        "describe_invocations",
        m.DescribeInvocationsRequest(
            region_id=a.region, tag=[m.DescribeInvocationsRequestTag(key=f"k{n}") for n in range(21)]
        ),
    )
    assert e.code == "NumberExceed.Tags" and "Tag.N" in e.data["Message"]


def test_instances_of_other_accounts_cannot_be_targeted(a: Side, b: Side) -> None:
    for side, iid in ((b, A_ECS), (a, "i-doesnotexist00000000")):
        e = error_of(
            side.ecs,
            "run_command",
            m.RunCommandRequest(
                region_id=side.region, type="RunShellScript", instance_id=[iid], command_content="echo"
            ),
        )
        assert (e.code, e.status_code) == ("InvalidInstance.NotFound", 404) and iid in e.data["Message"]
    invoke_id = run(a, A_ECS, "echo mine")
    assert results(b, invoke_id=invoke_id)["InvocationResults"]["InvocationResult"] == []
    assert invocations(b) == []


def test_unknown_invoke_id_has_no_results(a: Side) -> None:
    body = results(a, invoke_id="t-doesnotexist00000000")
    assert (body["InvocationResults"]["InvocationResult"], body["TotalCount"]) == ([], 0)


@pytest.fixture
def mixed() -> Emu:
    """VPC1 with a second, Stopped instance and a third whose Cloud Assistant is not running."""
    world = with_timing(copy.deepcopy(default_world()), scale=0)
    vpc1 = world["vpcs"][0]
    for n, extra in ((3, {"status": "Stopped"}), (4, {"cloud_assistant": False})):
        vpc1["instances"].append(
            dict(
                {
                    "id": f"i-m5e1tutorialecs{n}qd00001",
                    "name": f"ECS{n}",
                    "private_ip": f"192.168.1.1{n}",
                    "vswitch": vpc1["vswitches"][0]["id"],
                    "security_groups": [A_SG],
                },
                **extra,
            )
        )
    e = start_emulator(world)
    yield e
    e.server.stop()


def test_per_instance_failures_do_not_fail_the_call(mixed: Emu) -> None:
    a = mixed.side("account-a", "cn-qingdao")
    targets = [A_ECS, "i-m5e1tutorialecs3qd00001", "i-m5e1tutorialecs4qd00001"]
    invoke_id = call(
        a.ecs,
        "run_command",
        m.RunCommandRequest(region_id=a.region, type="RunShellScript", instance_id=targets, command_content="echo ok"),
    )["InvokeId"]
    by_id = {r["InstanceId"]: r for r in results(a, invoke_id=invoke_id)["InvocationResults"]["InvocationResult"]}
    assert (by_id[A_ECS]["InvocationStatus"], by_id[A_ECS]["ExitCode"]) == ("Success", 0)
    stopped, offline = by_id["i-m5e1tutorialecs3qd00001"], by_id["i-m5e1tutorialecs4qd00001"]
    assert (stopped["InvocationStatus"], stopped["InvokeRecordStatus"], stopped["ErrorCode"]) == (
        "Aborted",
        "Failed",
        "InstanceNotRunning",
    )
    assert stopped["ErrorInfo"] == "the instance is not running when create task"
    assert (offline["InvocationStatus"], offline["ErrorCode"]) == ("Aborted", "ClientNotRunning")
    assert "ExitCode" not in stopped and "ExitCode" not in offline, "no process ran, so there is no exit code"
    (inv,) = invocations(a, invoke_id=invoke_id)
    assert (inv["InvocationStatus"], inv["InvokeStatus"]) == ("PartialFailed", "PartialFinished")
    only = results(a, invoke_id=invoke_id, instance_id=A_ECS)["InvocationResults"]["InvocationResult"]
    assert [r["InstanceId"] for r in only] == [A_ECS]
    failed = results(a, invoke_id=invoke_id, invoke_record_status="Failed")["InvocationResults"]["InvocationResult"]
    assert {r["InstanceId"] for r in failed} == set(targets[1:])
    page = results(a, invoke_id=invoke_id, max_results=2)
    assert len(page["InvocationResults"]["InvocationResult"]) == 2 and page["NextToken"]
    rest = results(a, invoke_id=invoke_id, max_results=2, next_token=page["NextToken"])
    assert len(rest["InvocationResults"]["InvocationResult"]) == 1 and rest["NextToken"] == ""


def test_windows_script_on_linux_is_not_applicable(a: Side) -> None:
    r = result(a, run(a, A_ECS, "echo hi", type="RunBatScript"))
    assert (r["InvocationStatus"], r["ErrorCode"]) == ("Invalid", "CommandNotApplicable")


def test_endless_ping_times_out(a: Side) -> None:
    r = result(a, run(a, A_ECS, f"ping {A_IP}", timeout=30))
    assert (r["InvocationStatus"], r["ErrorCode"], r["InvokeRecordStatus"]) == ("Timeout", "ExecutionTimeout", "Failed")
    assert "ExitCode" not in r


def test_ping_of_a_host_name_cannot_resolve(a: Side) -> None:
    r = result(a, run(a, A_ECS, "ping -c 2 ecs2.internal"))
    assert (r["InvocationStatus"], r["ExitCode"]) == ("Failed", 2)
    assert r["Output"] == "ping: ecs2.internal: Name or service not known\n"


def test_output_beyond_24_kb_is_dropped(a: Side) -> None:
    r = result(a, run(a, A_ECS, f"ping -c 500 -i 0.01 {A_IP}"))
    assert r["InvocationStatus"] == "Success"
    assert len(r["Output"].encode()) == 24 * 1024 and r["Dropped"] > 0
    assert "500 received" not in r["Output"], "the statistics at the end were cut off"


def test_invocations_newest_first_and_filtered(a: Side) -> None:
    first, second = run(a, A_ECS, "echo 1", name="one"), run(a, A_ECS, "nope", name="two")
    assert [i["InvokeId"] for i in invocations(a)] == [second, first]
    assert [i["InvokeId"] for i in invocations(a, command_name="one")] == [first]
    assert [i["InvokeId"] for i in invocations(a, invoke_status="Failed")] == [second]
    assert [i["InvokeId"] for i in invocations(a, instance_id="i-other")] == []


# -- ping through the emulated network -----------------------------------------------------------------
def assert_replies(r: dict[str, Any], ip: str) -> None:
    assert (r["InvocationStatus"], r["ExitCode"], r["ErrorCode"]) == ("Success", 0, ""), r["Output"]
    assert r["Output"].startswith(
        f"PING {ip} ({ip}) 56(84) bytes of data.\n64 bytes from {ip}: icmp_seq=1 ttl=64 time="
    )
    assert "4 packets transmitted, 4 received, 0% packet loss" in r["Output"] and "rtt min/avg/max/mdev" in r["Output"]


def assert_lost(r: dict[str, Any], ip: str) -> None:
    assert (r["InvocationStatus"], r["ExitCode"], r["ErrorCode"], r["InvokeRecordStatus"]) == (
        "Failed",
        1,
        "ExitCodeNonzero",
        "Finished",
    ), r["Output"]
    assert r["ErrorInfo"] == "the command execution exit code is not zero"
    assert "4 packets transmitted, 0 received, 100% packet loss" in r["Output"] and "bytes from" not in r["Output"]


def peered(emu: Emu, a: Side, b: Side, **link: Any) -> None:
    """VPC1 and VPC2 connected (as the VPC product records it) and each group letting the other
    VPC's ICMP in, unless ``link`` says otherwise."""
    rules = link.pop("rules", ("a", "b"))
    write_link(store_of(emu), a.uid, b.uid, **link)
    if "a" in rules:
        allow_icmp(a, A_SG, B_CIDR)
    if "b" in rules:
        allow_icmp(b, B_SG, A_CIDR)


def test_ping_replies_when_everything_is_in_place(emu: Emu, a: Side, b: Side) -> None:
    peered(emu, a, b)
    assert_replies(ping(a, A_ECS, B_IP), B_IP)
    assert_replies(ping(b, B_ECS, A_IP), A_IP)


def test_ping_fails_before_the_link_exists(a: Side) -> None:
    assert_lost(ping(a, A_ECS, B_IP), B_IP)


@pytest.mark.parametrize(
    "link",
    [
        {"route_a": False},  # no route on A
        {"route_b": False},  # no route back on B
        {"a_status": "Connecting", "b_status": "AcceptingConnecting"},  # interfaces not Active yet
        {"b_status": "Inactive"},  # the peer end deactivated
        {"rules": ("a",)},  # no ICMP ingress on the destination
    ],
)
def test_each_missing_piece_loses_every_packet(emu: Emu, a: Side, b: Side, link: dict[str, Any]) -> None:
    peered(emu, a, b, **link)
    assert_lost(ping(a, A_ECS, B_IP), B_IP)


def test_ping_of_an_address_no_instance_holds(emu: Emu, a: Side, b: Side) -> None:
    peered(emu, a, b)
    assert_lost(ping(a, A_ECS, "172.16.1.99"), "172.16.1.99")


@pytest.mark.parametrize("stopped", [B_ECS, A_ECS])
def test_ping_with_an_instance_not_running(stopped: str) -> None:
    emu = start_emulator(instant_world(**{stopped: {"status": "Stopped"}}))
    try:
        a, b = emu.side("account-a", "cn-qingdao"), emu.side("account-b", "cn-beijing")
        peered(emu, a, b)
        r = ping(a, A_ECS, B_IP)
        if stopped == B_ECS:
            assert_lost(r, B_IP)
        else:  # the source cannot even start the command
            assert (r["InvocationStatus"], r["ErrorCode"], r["Output"]) == ("Aborted", "InstanceNotRunning", "")
    finally:
        emu.server.stop()


def test_ping_outcome_is_decided_when_the_command_is_sent(slow_emu: Emu) -> None:
    a, b = slow_emu.side("account-a", "cn-qingdao"), slow_emu.side("account-b", "cn-beijing")
    invoke_id = run(a, A_ECS, f"ping -c 4 -W 2 {B_IP}")
    peered(slow_emu, a, b)  # completed while the ping is running: too late for it
    slow_emu.advance(3)
    assert_lost(result(a, invoke_id), B_IP)
    later = run(a, A_ECS, f"ping -c 4 -W 2 {B_IP}")
    slow_emu.advance(3)
    assert_replies(result(a, later), B_IP)


def test_why_a_ping_failed_is_in_the_state_dump_only(emu: Emu, a: Side, b: Side) -> None:
    peered(emu, a, b, route_b=False)
    r = ping(a, A_ECS, B_IP)
    assert "EmulatorReason" not in r
    (inv,) = emu.state()["account-a"]["invocation"]
    assert "no return route" in inv["Results"][0]["EmulatorReason"]


def test_tutorial_same_region_path_with_security_group_references() -> None:
    """The tutorial's same-region variant: each side authorizes the peer's group with the peer's
    account ID instead of a CIDR, and the ping follows those rules."""
    emu = start_emulator(dict(one_region_world(), behaviour={"security_group_reference": "tutorial"}))
    try:
        a, b = emu.side("account-a", "cn-qingdao"), emu.side("account-b", "cn-qingdao")
        write_link(store_of(emu), a.uid, b.uid, b_region="cn-qingdao")
        for side, sg, peer_sg, peer in ((a, A_SG, B_SG, b), (b, B_SG, A_SG, a)):
            side.ecs.authorize_security_group(
                m.AuthorizeSecurityGroupRequest(
                    region_id=side.region,
                    security_group_id=sg,
                    permissions=[
                        m.AuthorizeSecurityGroupRequestPermissions(
                            ip_protocol="ICMP",
                            port_range="-1/-1",
                            source_group_id=peer_sg,
                            source_group_owner_id=int(peer.uid),
                        )
                    ],
                )
            )
        assert_replies(ping(a, A_ECS, B_IP), B_IP)
        assert_replies(ping(b, B_ECS, A_IP), A_IP)
        b.ecs.revoke_security_group(
            m.RevokeSecurityGroupRequest(
                region_id=b.region,
                security_group_id=B_SG,
                permissions=[
                    m.RevokeSecurityGroupRequestPermissions(
                        ip_protocol="ICMP", port_range="-1/-1", source_group_id=A_SG, source_group_owner_id=int(a.uid)
                    )
                ],
            )
        )
        assert_lost(ping(a, A_ECS, B_IP), B_IP)
    finally:
        emu.server.stop()


def test_ping_follows_the_vpc_products_own_records(emu: Emu, a: Side, b: Side) -> None:
    """The whole runbook through both official SDKs: the VPC product's records are what the ping
    model reads, so deactivating the link or deleting a route breaks the ping again."""
    ri_a, ri_b = link_through_vpc_api(a, b)
    assert_lost(ping(a, A_ECS, B_IP), B_IP)  # connected and routed, but no ICMP rule yet
    allow_icmp(b, B_SG, A_CIDR)
    allow_icmp(a, A_SG, B_CIDR)
    assert_replies(ping(a, A_ECS, B_IP), B_IP)
    assert_replies(ping(b, B_ECS, A_IP), A_IP)
    (route,) = b.vpc.describe_route_entry_list(
        vm.DescribeRouteEntryListRequest(region_id=b.region, route_table_id=B_VTB, route_entry_type="Custom")
    ).body.route_entrys.route_entry
    b.vpc.delete_route_entry(vm.DeleteRouteEntryRequest(region_id=b.region, route_entry_id=route.route_entry_id))
    assert_lost(ping(a, A_ECS, B_IP), B_IP)
    b.vpc.create_route_entry(
        vm.CreateRouteEntryRequest(
            region_id=b.region,
            route_table_id=B_VTB,
            destination_cidr_block=A_CIDR,
            next_hop_type="RouterInterface",
            next_hop_id=ri_b,
        )
    )
    assert_replies(ping(a, A_ECS, B_IP), B_IP)
    a.vpc.deactivate_router_interface(vm.DeactivateRouterInterfaceRequest(region_id=a.region, router_interface_id=ri_a))
    assert_lost(ping(a, A_ECS, B_IP), B_IP)


# -- cost: bounded, and paid outside the store's lock ---------------------------------------------------
COSTLY = f"ping -c 3000000 -i 0.002 {A_IP}"


def test_a_huge_ping_keeps_24_kb_and_counts_the_rest(a: Side) -> None:
    r = result(a, run(a, A_ECS, COSTLY, timeout=86400))
    assert (r["InvocationStatus"], r["ExitCode"]) == ("Success", 0)
    assert len(r["Output"].encode()) == 24 * 1024 and r["Output"].startswith(f"PING {A_IP}")
    assert r["Dropped"] > 3_000_000 * 50, "every reply line beyond 24 KB is counted, none kept"
    timed_out = result(a, run(a, A_ECS, COSTLY))  # the default 60 s timeout kills it first
    assert (timed_out["InvocationStatus"], timed_out["ErrorCode"]) == ("Timeout", "ExecutionTimeout")
    assert len(timed_out["Output"].encode()) == 24 * 1024 and timed_out["Dropped"] < r["Dropped"]


def test_a_costly_command_holds_no_lock_another_account_needs(emu: Emu, a: Side, b: Side, monkeypatch) -> None:
    """While A's command is simulated, B's reads and writes are served. The simulation is held
    until B is done: were it inside the store's lock, B could never finish and this would fail."""
    simulating, others_done = threading.Event(), threading.Event()
    original = cloud_assistant.simulate

    def gated(command):
        simulating.set()
        if not others_done.wait(60):
            raise AssertionError("another account's calls waited for this command")
        return original(command)

    monkeypatch.setattr(cloud_assistant, "simulate", gated)
    script = "\n".join([COSTLY] * 200)
    outcome: dict[str, Any] = {}

    def costly() -> None:
        try:
            outcome["invoke"] = run(a, A_ECS, script, timeout=86400)
        except Exception as e:  # reported by the assertion below
            outcome["error"] = e

    thread = threading.Thread(target=costly)
    thread.start()
    try:
        assert simulating.wait(60)
        for port in (22, 80, 443):
            b.ecs.authorize_security_group(
                m.AuthorizeSecurityGroupRequest(
                    region_id=b.region,
                    security_group_id=B_SG,
                    permissions=[
                        m.AuthorizeSecurityGroupRequestPermissions(
                            ip_protocol="TCP", port_range=f"{port}/{port}", source_cidr_ip=A_CIDR
                        )
                    ],
                )
            )
            b.vpc.describe_vpcs(vm.DescribeVpcsRequest(region_id=b.region))
    finally:
        others_done.set()
        thread.join(120)
    assert "invoke" in outcome, outcome.get("error")
    entries = emu.journal()
    run_seq = next(e["seq"] for e in entries if e["action"] == "RunCommand")
    b_calls = [e for e in entries if e.get("account") == "account-b"]
    assert len(b_calls) == 6 and all(e["seq"] < run_seq for e in b_calls)
    r = result(a, outcome["invoke"])  # 200 pings of 6000 s each: killed at the 86400 s timeout
    assert r["InvocationStatus"] == "Timeout" and len(r["Output"].encode()) == 24 * 1024
