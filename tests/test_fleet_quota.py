"""API quotas held by the client for a whole fleet: the limiter's window (on a clock the test moves),
the coordinator that shares it, and processes that share one quota through it, counted by calls
admitted, never by time."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from vpclink.fleet import coordinator, load_fleet, quota

ROOT = Path(__file__).resolve().parents[1]

LONG = 3600.0  # a window no test outlives: what is admitted is counted, not timed


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limiter_admits_at_most_the_quota_in_a_window_answered_calls_included() -> None:
    clock = Clock()
    limiter = quota.Limiter({"CreateRouteEntry": quota.Limit(3, 60.0, "test")}, clock=clock, margin_s=0.25)
    key = ("1234567890123456", "cn-hangzhou", "CreateRouteEntry")
    tickets = [limiter.try_acquire(key)[0] for _ in range(3)]
    assert all(tickets)
    ticket, wait = limiter.try_acquire(key)
    assert ticket is None and wait > 0
    for t in tickets:
        assert t is not None
        limiter.release(t)
    assert limiter.try_acquire(key)[0] is None  # an answered call still counts for its window
    clock.now += 60.0 + 0.25
    assert limiter.try_acquire(key)[0] is not None
    # other keys (another account, region or action) have their own quota
    assert limiter.try_acquire(("1234567890123456", "cn-shanghai", "CreateRouteEntry"))[0] is not None
    (row,) = [r for r in limiter.stats() if r["region"] == "cn-hangzhou"]
    assert row["admitted"] == 4 and row["most_in_window"] == 3 and row["limit"] == 3


def test_a_call_whose_process_died_frees_its_slot_after_its_lease() -> None:
    clock = Clock()
    limiter = quota.Limiter({"*": quota.Limit(1, 60.0, "test")}, clock=clock, lease_s=30.0, margin_s=0.0)
    key = ("", "cn-hangzhou", "DescribeVpcs")
    assert limiter.try_acquire(key)[0] is not None  # never released
    clock.now += 30.0 + 60.0
    assert limiter.try_acquire(key)[0] is not None


def test_limits_come_from_the_table_with_their_source_unless_overridden() -> None:
    default = quota.limit_of("CreateRouterInterface", "vpc")
    assert default.calls == 300 and default.window_s == 60.0 and default.source.startswith("https://")
    overrides = quota.parse_overrides({"CreateRouterInterface": 10, "ecs.*": {"calls": 5, "window_s": 30}})
    assert quota.limit_of("CreateRouterInterface", "vpc", overrides).calls == 10
    assert quota.limit_of("AuthorizeSecurityGroup", "ecs", overrides).window_s == 30.0
    assert quota.limit_of("DescribeVpcs", "vpc", overrides).calls == 300


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ({"CreateRouteEntry": 0}, "quotas.CreateRouteEntry"),
        ({"nope.CreateRouteEntry": 5}, "quotas.nope.CreateRouteEntry"),
        ({"CreateRouteEntry": {"calls": 5, "window": 1}}, "quotas.CreateRouteEntry"),
        ({"CreateRouteEntry": {"calls": 5, "window_s": 0}}, "quotas.CreateRouteEntry.window_s"),
        ([1, 2], "quotas"),
    ],
)
def test_a_bad_quota_override_is_refused_naming_the_field(value: object, named: str) -> None:
    with pytest.raises(quota.QuotaError) as e:
        quota.parse_overrides(value)
    assert named in str(e.value)


def test_without_a_coordinator_the_guard_only_makes_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(quota.COORDINATOR_ENV, raising=False)
    with quota.guard("1", "cn-hangzhou", "CreateRouteEntry", route_table_id="vtb-1"):
        pass


def test_the_coordinator_refuses_a_request_without_its_token() -> None:
    with coordinator.serve() as service:
        c = quota.Client(service.url, "not-the-token")
        with pytest.raises(quota.CoordinatorUnavailable) as e:
            c.post("/quota/acquire", {"key": ["", "cn-hangzhou", "DescribeVpcs"]})
        assert "403" in str(e.value) and "not-the-token" not in str(e.value)


def test_the_coordinator_sends_its_answers_without_waiting_for_the_clients_ack(monkeypatch) -> None:
    # Every API call of a fleet's link asks the coordinator twice over one kept-alive connection; with
    # Nagle's algorithm on, each answer's body waited for the delayed ACK of its headers (40 ms).
    options: list[int] = []
    setup = coordinator._Handler.setup

    def recording(handler: coordinator._Handler) -> None:
        setup(handler)
        options.append(handler.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(coordinator._Handler, "setup", recording)
    with coordinator.serve() as service:
        c = quota.Client(service.url, service.env()[quota.TOKEN_ENV])
        assert "quotas" in c.post("/stats", {}) and "quotas" in c.post("/stats", {})
    assert len(options) == 1 and options[0] != 0  # one connection, kept alive, with TCP_NODELAY


# Each process asks the coordinator for ``TRIES`` slots of one (account, region, action) and prints
# how many it got; a request without room is answered "not yet" after hold_s.
_ASKER = textwrap.dedent(
    """
    from vpclink.fleet import quota
    c = quota.client()
    got = 0
    for _ in range({tries}):
        if c.post("/quota/acquire", {{"key": ["1234567890123456", "cn-hangzhou", "CreateRouteEntry"]}}).get("ticket"):
            got += 1
    with quota.guard("1234567890123456", "cn-hangzhou", "DescribeVpcs", product="vpc"):
        pass
    print(got)
    """
)


def test_one_quota_is_held_across_processes() -> None:
    quota_calls, processes, tries = 5, 3, 4
    overrides = {"CreateRouteEntry": quota.Limit(quota_calls, LONG, "test")}
    with coordinator.serve(overrides=overrides, hold_s=0.05) as service:
        env = {**os.environ, **service.env()}
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _ASKER.format(tries=tries)], env=env, stdout=subprocess.PIPE, text=True
            )
            for _ in range(processes)
        ]
        got = [int(p.communicate(timeout=120)[0].strip()) for p in procs]
        assert all(p.returncode == 0 for p in procs)
        stats = {row["action"]: row for row in service.stats()["quotas"]}
    assert sum(got) == quota_calls  # not per process: 3 x 4 asked, 5 admitted in all
    assert stats["CreateRouteEntry"]["admitted"] == quota_calls
    assert stats["CreateRouteEntry"]["most_in_window"] == quota_calls
    assert stats["DescribeVpcs"]["admitted"] == processes  # every guarded call went through the coordinator


def test_route_writes_to_one_table_are_serialized_across_the_fleet() -> None:
    with coordinator.serve(hold_s=0.05) as service:
        c = quota.Client(service.url, service.env()[quota.TOKEN_ENV])
        name = "route-writes/1/cn-hangzhou/vtb-1"
        assert c.post("/lock/acquire", {"name": name, "owner": "link-1", "lease_s": LONG})["held"]
        assert not c.post("/lock/acquire", {"name": name, "owner": "link-2", "lease_s": LONG})["held"]
        other = "route-writes/1/cn-hangzhou/vtb-2"
        assert c.post("/lock/acquire", {"name": other, "owner": "link-2", "lease_s": LONG})["held"]
        c.post("/lock/release", {"name": name, "owner": "link-1"})
        assert c.post("/lock/acquire", {"name": name, "owner": "link-2", "lease_s": LONG})["held"]


def test_an_action_named_without_its_product_takes_its_products_row() -> None:
    assert quota.limit_of("DescribeInstances").calls == 1000  # ECS, from a ledger line
    assert quota.limit_of("GetCallerIdentity").window_s == 1.0  # STS: per second
    assert quota.limit_of("DescribeVpcs").calls == 300


def test_a_fleet_file_may_override_the_quotas_its_clients_hold_to(tmp_path: Path) -> None:
    text = (ROOT / "tests" / "data" / "bad_fleets" / "quota-override-zero.yaml").read_text()
    path = tmp_path / "fleet.yaml"
    path.write_text(text.replace("CreateRouteEntry: 0", "CreateRouteEntry: 50\n  ecs.*: {calls: 10, window_s: 30}"))
    quotas = load_fleet(path).quotas
    assert quota.limit_of("CreateRouteEntry", "vpc", quotas).calls == 50
    assert quota.limit_of("AuthorizeSecurityGroup", "ecs", quotas).window_s == 30.0
    assert "quotas.CreateRouteEntry of the fleet file" in quota.limit_of("CreateRouteEntry", "vpc", quotas).source
