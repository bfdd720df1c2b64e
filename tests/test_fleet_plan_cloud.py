"""``vpclink plan FLEET`` checks the topology against the cloud: router interfaces that already exist on
a VPC's VRouter count towards its limit of 5, and custom route entries already in its route table
towards the table's 200. A hub that already holds 4 interfaces of someone else's cannot take the
fleet's 2 more, nor a table with 199 custom entries the fleet's 2 routes: exit 2 naming the VPC (and
table), the limit and the count, before any link is planned or run and with no mutating call (``run
FLEET`` checks the same). The fleet's own interfaces and routes (a plan after a run) are not counted."""

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


def hub_client(emu: Emulator, world: dict[str, Any]) -> VpcClient:
    """The official VPC client of the hub's account, as another team of that account holds it."""
    account = next(a for a in world["accounts"] if a["name"] == HUB["profile"])
    return VpcClient(
        Config(
            access_key_id=account["access_key_id"],
            access_key_secret=account["access_key_secret"],
            region_id=HUB["region"],
            endpoint=urlsplit(emu.url).netloc,
            protocol="http",
        )
    )


def hub_vpc(client: VpcClient) -> Any:
    return client.describe_vpcs(
        vpc_models.DescribeVpcsRequest(region_id=HUB["region"], vpc_id=HUB["vpc_id"])
    ).body.vpcs.vpc[0]


def hub_interfaces(emu: Emulator, world: dict[str, Any], names: list[str]) -> None:
    """Router interfaces on the hub's VRouter made outside the fleet, as another team would."""
    client = hub_client(emu, world)
    vrouter = hub_vpc(client).vrouter_id
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


def hub_routes(emu: Emulator, world: dict[str, Any], entries: list[tuple[str, str, str]]) -> str:
    """Custom route entries ``(destination, name, description)`` in the hub's route table, through the
    hub's ECS instance, as another team (or a run of the fleet's own link) would make them; the
    table's ID. Every asynchronous step of this world is immediate: each entry is Available before the next
    write, which the table would otherwise refuse (it serialises its writes)."""
    client = hub_client(emu, world)
    (table,) = [
        t.route_table_id
        for t in client.describe_route_table_list(
            vpc_models.DescribeRouteTableListRequest(
                region_id=HUB["region"], vpc_id=HUB["vpc_id"], route_table_type="System"
            )
        ).body.router_table_list.router_table_list_type
    ]
    for destination, name, description in entries:
        client.create_route_entry(
            vpc_models.CreateRouteEntryRequest(
                region_id=HUB["region"],
                route_table_id=table,
                destination_cidr_block=destination,
                next_hop_type="Instance",
                next_hop_id=HUB["instance_id"],
                route_entry_name=name,
                description=description,
            )
        )
    emu.control("clock", {"advance": 10})  # settled, and older than the lists' lag
    listed = client.describe_route_entry_list(
        vpc_models.DescribeRouteEntryListRequest(
            region_id=HUB["region"], route_table_id=table, route_entry_type="Custom", max_result=500
        )
    ).body.route_entrys.route_entry
    assert len(listed) == len(entries) and {e.status for e in listed} == {"Available"}
    return str(table)


def others(n: int) -> list[tuple[str, str, str]]:
    return [(f"172.16.{i}.0/24", f"other-team-{i}", "another team's route") for i in range(n)]


def test_route_entries_already_in_a_table_count_and_the_fleets_own_do_not(tmp_path: Path) -> None:
    emu, world, fleet_file = start(tmp_path)
    try:
        fleet = load_fleet(fleet_file)
        # hub-app's route on the hub (as a run of the fleet would leave it) and 2 of another team's
        own = ("10.11.0.0/16", "vpclink-hub-app", "vpclink link hub-app initiator side")
        table = hub_routes(emu, world, [own, *others(2)])
        seq = emu.last_seq()
        found = read_existing(fleet, lambda params: embedded.attach(emu.url, params))
        assert found.route_destinations == {"hub": ["172.16.0.0/24", "172.16.1.0/24"], "app": [], "data": []}
        assert found.route_tables["hub"] == table
        assert mutating(emu.journal(since=seq)) == []
    finally:
        emu.stop()


def test_plan_refuses_a_route_table_the_fleet_would_take_past_200_custom_entries(tmp_path: Path) -> None:
    emu, world, fleet_file = start(tmp_path)
    try:
        table = hub_routes(emu, world, others(199))  # the fleet's 2 links add one route each on the hub
        seq = emu.last_seq()
        code, out = vpclink("plan", str(fleet_file), "--emulator", emu.url, cwd=tmp_path)
        assert code == 2, out
        assert f"vpcs.hub: 201 custom route entries in this VPC's route table {table}" in out, out
        assert "(hub-app 1, hub-data 1), plus 199 custom entries that already exist" in out, out
        assert "at most 200 custom route entries" in out and "the table has room for 1 more" in out, out
        assert mutating(emu.journal(since=seq)) == []
        assert not (tmp_path / "runs").exists()  # refused before any link was planned
    finally:
        emu.stop()
