"""Several clients at once, as several notebook kernels are: threads and processes, each with its
own SDK client, creating and describing on one emulator. No error, no lost or doubled write."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpc20160428.client import Client as VpcClient
from alibabacloud_vpcpeer20220101 import models as pm
from alibabacloud_vpcpeer20220101.client import Client as PeerClient

from .conftest import start_emulator
from .support import SG_A, EmulatorProcess, create_initiator, hammer, interfaces
from .vpcpeer_helpers import peer_world

CALLS = 12


def _check_rules(ecs: EcsClient, workers: int) -> None:
    body = ecs.describe_security_group_attribute(
        ecs_models.DescribeSecurityGroupAttributeRequest(region_id="cn-qingdao", security_group_id=SG_A)
    ).body
    rules = body.permissions.permission
    ports = sorted(r.port_range for r in rules)
    expected = sorted(f"{p}/{p}" for w in range(workers) for p in range(10000 + w * 1000, 10000 + w * 1000 + CALLS))
    assert ports == expected, "a rule was lost or written twice"
    ids = [r.security_group_rule_id for r in rules]
    assert len(set(ids)) == len(ids) and all(ids)


def test_threads_hammering_one_emulator(emu):
    a = emu.account("account-a")
    workers = 6
    with ThreadPoolExecutor(workers) as pool:
        results = list(
            pool.map(
                lambda w: hammer(emu.endpoint, a["access_key_id"], a["access_key_secret"], w, CALLS), range(workers)
            )
        )
    assert [r["errors"] for r in results] == [[]] * workers
    _check_rules(EcsClient(emu.config("account-a", "cn-qingdao")), workers)
    assert len(emu.journal(action="AuthorizeSecurityGroup")) == workers * CALLS


def test_processes_hammering_one_emulator_with_a_database(tmp_path):
    """One process per notebook kernel. The forkserver starts them without the parent's threads
    and with the SDK already imported once."""
    server = EmulatorProcess(tmp_path, tmp_path / "shared.db").start()
    try:
        a = server.account("account-a")
        workers = 3
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([hammer.__module__])
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = [
                pool.submit(hammer, server.endpoint, a["access_key_id"], a["access_key_secret"], w, CALLS)
                for w in range(workers)
            ]
            results = [f.result(timeout=120) for f in futures]
        assert [r["errors"] for r in results] == [[]] * workers
        assert sum(r["describes"] for r in results) == workers * CALLS * 2
        _check_rules(EcsClient(server.config("account-a", "cn-qingdao")), workers)
    finally:
        server.kill()


def test_racing_creates_respect_the_per_router_limit_exactly(emu):
    """Eight clients race to create router interfaces on one router, which takes five: the check
    and the insert are one transaction, so exactly five succeed and every ID is distinct."""

    def attempt(i: int) -> str:
        try:
            return create_initiator(VpcClient(emu.config("account-a", "cn-qingdao")), name=f"race-{i}")
        except ClientException as e:
            return e.code

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    created = [o for o in outcomes if o.startswith("ri-")]
    assert len(created) == 5 and len(set(created)) == 5
    assert sorted(set(outcomes) - set(created)) == ["LimitationExceed.InterfaceNumberOnRouter"]
    assert set(interfaces(VpcClient(emu.config("account-a", "cn-qingdao")), "cn-qingdao")) == set(created)


def test_racing_peering_creates_on_one_vpc_let_exactly_one_through():
    """Eight clients race to peer VPC1 with eight VPCs while each peering takes 2 virtual seconds
    to create: the first one in is ``Creating``, and every other create on VPC1 meanwhile is
    ``Conflict.Operation`` (no concurrent create on one VPC)."""
    emu = start_emulator(peer_world(scale=None, more_vpcs_of_a=8))
    try:
        uid = int(emu.account("account-a")["uid"])

        def attempt(i: int) -> str:
            client = PeerClient(emu.config("account-a", "cn-qingdao"))
            try:
                return client.create_vpc_peer_connection(
                    pm.CreateVpcPeerConnectionRequest(
                        region_id="cn-qingdao",
                        vpc_id="vpc-m5e1tutorialvpc1qd00001",
                        accepting_ali_uid=uid,
                        accepting_region_id="cn-qingdao",
                        accepting_vpc_id=f"vpc-m5e9extra{i:04d}",
                    )
                ).body.instance_id
            except ClientException as e:
                return e.code

        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(attempt, range(8)))
        created = [o for o in outcomes if o.startswith("pcc-")]
        assert len(created) == 1 and sorted(set(outcomes) - set(created)) == ["Conflict.Operation"]
        listed = PeerClient(emu.config("account-a", "cn-qingdao")).list_vpc_peer_connections(
            pm.ListVpcPeerConnectionsRequest()
        )
        assert [c.instance_id for c in listed.body.vpc_peer_connects] == created
    finally:
        emu.server.stop()
