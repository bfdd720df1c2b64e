"""``alicloud-emulator serve --db FILE`` as its own process: an acknowledged write survives
``kill -9``, and a restart in the middle of a transition resumes it on the virtual clock."""

from __future__ import annotations

import sqlite3

import pytest
import yaml
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_vpc20160428.client import Client as VpcClient
from alicloud_emulator.world import default_world

from .support import SG_A, EmulatorProcess, connect_pair, create_initiator, interfaces


@pytest.fixture
def workdir(tmp_path):
    return tmp_path


def _ports(ecs: EcsClient) -> list[str]:
    body = ecs.describe_security_group_attribute(
        ecs_models.DescribeSecurityGroupAttributeRequest(region_id="cn-qingdao", security_group_id=SG_A)
    ).body
    return sorted(p.port_range for p in body.permissions.permission)


def _authorize(ecs: EcsClient, port: int) -> None:
    ecs.authorize_security_group(
        ecs_models.AuthorizeSecurityGroupRequest(
            region_id="cn-qingdao",
            security_group_id=SG_A,
            permissions=[
                ecs_models.AuthorizeSecurityGroupRequestPermissions(
                    ip_protocol="TCP", port_range=f"{port}/{port}", source_cidr_ip="172.16.0.0/16"
                )
            ],
        )
    )


def test_acknowledged_writes_survive_kill_9(workdir):
    db = workdir / "state.db"
    first = EmulatorProcess(workdir, db).start()
    try:
        vpc = VpcClient(first.config("account-a", "cn-qingdao"))
        ecs = EcsClient(first.config("account-a", "cn-qingdao"))
        ri = create_initiator(vpc, client_token="durable-token")
        for port in range(8000, 8030):
            _authorize(ecs, port)
        first.control("clock", {"advance": 1000})
        first.control("faults", [{"action": "DescribeVpcs", "effect": "error", "code": "Kept", "times": 1}])
        before = first.control("clock")["epoch"]
    finally:
        first.kill()  # right after the last acknowledgement: no shutdown code runs
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    second = EmulatorProcess(workdir, db).start()
    try:
        vpc = VpcClient(second.config("account-a", "cn-qingdao"))
        ecs = EcsClient(second.config("account-a", "cn-qingdao"))
        assert list(interfaces(vpc, "cn-qingdao")) == [ri]
        assert _ports(ecs) == [f"{p}/{p}" for p in range(8000, 8030)]
        assert create_initiator(vpc, client_token="durable-token") == ri  # the token is durable too
        assert second.control("clock")["epoch"] >= before  # the virtual clock kept its advance
        assert [f["rule"]["code"] for f in second.control("faults")["faults"]] == ["Kept"]
        assert len(second.control("journal")["entries"]) >= 32
    finally:
        second.kill()


def test_a_restart_mid_transition_resumes_it(workdir):
    world = default_world()
    world["timing"]["router_interface_connect"] = 30  # long enough that a slow restart is still mid-way
    world_file = workdir / "world.yaml"
    world_file.write_text(yaml.safe_dump(world))
    db = workdir / "state.db"
    first = EmulatorProcess(workdir, db, world_file).start()
    try:
        vpc_a = VpcClient(first.config("account-a", "cn-qingdao"))
        vpc_b = VpcClient(first.config("account-b", "cn-beijing"))
        uid_a, uid_b = first.account("account-a")["uid"], first.account("account-b")["uid"]
        ri_a, ri_b = connect_pair(vpc_a, vpc_b, uid_a, uid_b)
        assert interfaces(vpc_a, "cn-qingdao")[ri_a].status == "Connecting"
    finally:
        first.kill()

    second = EmulatorProcess(workdir, db, world_file).start()  # --world does not replace kept state
    try:
        vpc_a = VpcClient(second.config("account-a", "cn-qingdao"))
        vpc_b = VpcClient(second.config("account-b", "cn-beijing"))
        assert interfaces(vpc_a, "cn-qingdao")[ri_a].status == "Connecting"
        assert interfaces(vpc_b, "cn-beijing")[ri_b].status == "AcceptingConnecting"
        second.control("clock", {"advance": 31})
        assert interfaces(vpc_a, "cn-qingdao")[ri_a].status == "Active"
        assert interfaces(vpc_b, "cn-beijing")[ri_b].status == "Active"
    finally:
        second.kill()


def test_reset_flag_loads_the_world_again_over_kept_state(workdir):
    db = workdir / "state.db"
    first = EmulatorProcess(workdir, db).start()
    try:
        create_initiator(VpcClient(first.config("account-a", "cn-qingdao")))
    finally:
        assert first.stop() == 0, first.output
    second = EmulatorProcess(workdir, db, None, "--reset").start()
    try:
        assert interfaces(VpcClient(second.config("account-a", "cn-qingdao")), "cn-qingdao") == {}
    finally:
        assert second.stop() == 0, second.output
