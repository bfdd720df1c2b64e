"""Quotas held across processes: two emulator processes serving one ``--db`` (as a fleet's workers
may reach either) admit no more calls of one (account, region, action) together than its quota."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import yaml
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpc20160428 import models as vpc_models
from alibabacloud_vpc20160428.client import Client as VpcClient

from .support import EmulatorProcess
from .test_quotas import quota_world

LIMIT = 15


def test_two_processes_sharing_a_database_never_exceed_the_quota_together(tmp_path):
    world = tmp_path / "world.yaml"
    world.write_text(yaml.safe_dump(quota_world({"DescribeRouterInterfaces": LIMIT})))
    db = tmp_path / "shared.db"
    first = EmulatorProcess(tmp_path, db, world).start()
    second = EmulatorProcess(tmp_path, db, world).start()  # the world is in the database already: kept
    try:
        servers = [first, second]

        def attempt(i: int) -> str:
            server = servers[i % 2]
            vpc = VpcClient(server.config("account-a", "cn-qingdao"))
            try:
                vpc.describe_router_interfaces(vpc_models.DescribeRouterInterfacesRequest(region_id="cn-qingdao"))
                return "ok"
            except ClientException as e:
                return e.code

        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(attempt, range(4 * LIMIT)))
        assert outcomes.count("ok") == LIMIT, outcomes
        assert outcomes.count("Throttling.User") == 3 * LIMIT
        for server in servers:  # each process reads the one count
            (count,) = server.control("quotas")["counts"]
            assert (count["action"], count["calls"], count["limit"]) == ("DescribeRouterInterfaces", LIMIT, LIMIT)
    finally:
        first.kill()
        second.kill()
