"""``vpclink plan FLEET`` checks the topology against the cloud: router interfaces that already exist on
a VPC's VRouter count towards its limit of 5. A hub that already holds 4 interfaces of someone else's
cannot take the fleet's 2 more: exit 2 naming the VPC, the limit and the count, before any link is
planned or run and with no mutating call (``run FLEET`` checks the same). The fleet's own interfaces
(a plan after a run) are not counted."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from alibabacloud_tea_openapi.utils_models import Config
from alibabacloud_vpc20160428 import models as vpc_models
from alibabacloud_vpc20160428.client import Client as VpcClient
from alicloud_emulator.world import with_timing
from runbook_support import Emulator, mutating
from test_fleet_e2e import FLEET, vpclink
from vpclink import embedded
from vpclink.fleet import load_fleet
from vpclink.fleet.existing import read_existing
from vpclink.fleet.world import world_for_fleet

HUB = FLEET["vpcs"]["hub"]


def start(tmp_path: Path) -> tuple[Emulator, dict[str, Any], Path]:
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(yaml.safe_dump(FLEET, sort_keys=False))
    world = with_timing(world_for_fleet(load_fleet(fleet_file)), scale=0)
    emu = Emulator(world=world)
    return emu, world, fleet_file


def hub_interfaces(emu: Emulator, world: dict[str, Any], names: list[str]) -> None:
    """Router interfaces on the hub's VRouter made outside the fleet, as another team would."""
    account = next(a for a in world["accounts"] if a["name"] == HUB["profile"])
    client = VpcClient(
        Config(
            access_key_id=account["access_key_id"],
            access_key_secret=account["access_key_secret"],
            region_id=HUB["region"],
            endpoint=urlsplit(emu.url).netloc,
            protocol="http",
        )
    )
    vrouter = (
        client.describe_vpcs(vpc_models.DescribeVpcsRequest(region_id=HUB["region"], vpc_id=HUB["vpc_id"]))
        .body.vpcs.vpc[0]
        .vrouter_id
    )
    for name in names:
        client.create_router_interface(
            vpc_models.CreateRouterInterfaceRequest(
                region_id=HUB["region"],
                role="InitiatingSide",
                router_type="VRouter",
                router_id=vrouter,
                spec="Mini.2",
                opposite_region_id="cn-beijing",
                name=name,
            )
        )
    emu.control("clock", {"advance": 10})  # older than the lists' lag


def test_interfaces_already_on_the_hub_count_and_the_fleets_own_do_not(tmp_path: Path) -> None:
    emu, world, fleet_file = start(tmp_path)
    try:
        fleet = load_fleet(fleet_file)
        # the fleet's own interface on the hub (as a run of hub-app would leave it) and 2 of another team's
        hub_interfaces(emu, world, ["vpclink-hub-app-initiator", "other-team-1", "other-team-2"])
        seq = emu.last_seq()
        found = read_existing(fleet, lambda params: embedded.attach(emu.url, params))
        assert found.router_interfaces == {"hub": 2, "app": 0, "data": 0}
        assert mutating(emu.journal(since=seq)) == []
    finally:
        emu.stop()


@pytest.mark.parametrize("command", ["plan", "run"])
def test_plan_and_run_refuse_a_hub_the_fleet_would_take_past_5_interfaces(command: str, tmp_path: Path) -> None:
    emu, world, fleet_file = start(tmp_path)
    try:
        hub_interfaces(emu, world, [f"other-team-{n}" for n in range(4)])
        seq = emu.last_seq()
        code, out = vpclink(command, str(fleet_file), "--emulator", emu.url, cwd=tmp_path)
        assert code == 2, out
        assert "vpcs.hub" in out and "6 router interfaces" in out and "at most 5" in out, out
        assert "plus 4 router interface(s) that already exist" in out, out
        assert "hub-app" in out and "hub-data" in out, out
        assert mutating(emu.journal(since=seq)) == []
        assert not (tmp_path / "runs").exists()  # refused before any link was planned or run
    finally:
        emu.stop()
