"""Reachability through a VPC peering connection: a Cloud Assistant ping crosses an Activated peering
when both route tables point at it; the more specific route wins over a router interface; and the
reachability timeline (``reachability_timeline.py``, ``GET /_emulator/reachability``) measures, on
the virtual clock, how long a route change loses traffic."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from alibabacloud_vpc20160428 import models as m
from alibabacloud_vpcpeer20220101 import models as pm
from alicloud_emulator.control_reachability import reachability
from alicloud_emulator.reachability_timeline import timeline, verdict_at
from alicloud_emulator.wire import Request

from .conftest import Emu, Side, start_emulator
from .ecs_helpers import allow_icmp, ping
from .vpc_helpers import add_route, configured_pair, connect
from .vpcpeer_helpers import (
    BJ,
    CIDR1,
    CIDR2,
    ECS1,
    ECS2,
    IP1,
    IP2,
    QD,
    SG1,
    SG2,
    VTB1,
    VTB2,
    A,
    B,
    create,
    peer_client,
    peer_world,
    peered,
)


@pytest.fixture
def emu() -> Emu:
    e = start_emulator(peer_world())
    yield e
    e.server.stop()


@pytest.fixture
def slow() -> Emu:
    e = start_emulator(peer_world(scale=None))
    yield e
    e.server.stop()


def sides(emu: Emu) -> tuple[Side, Side]:
    a, b = emu.side(A, QD), emu.side(B, BJ)
    allow_icmp(a, SG1, CIDR2)
    allow_icmp(b, SG2, CIDR1)
    return a, b


def now(emu: Emu) -> float:
    return float(emu.control("clock")["epoch"])


def store(emu: Emu):
    return emu.server.app.store


def test_a_ping_crosses_an_activated_peering_both_ways(emu: Emu) -> None:
    a, b = sides(emu)
    pcc = create(peer_client(emu, A), accepting_uid=emu.account(B)["uid"])
    assert ping(a, ECS1, IP2)["InvocationStatus"] == "Failed", "no route yet"
    peer_client(emu, B).accept_vpc_peer_connection(pm.AcceptVpcPeerConnectionRequest(instance_id=pcc))
    add_route(a, VTB1, CIDR2, pcc, "VpcPeer")
    r = ping(a, ECS1, IP2)
    assert r["InvocationStatus"] == "Failed" and "100% packet loss" in r["Output"], "B has no route back yet"
    add_route(b, VTB2, CIDR1, pcc, "VpcPeer")
    for side, src, dst in ((a, ECS1, IP2), (b, ECS2, IP1)):
        r = ping(side, src, dst)
        assert (r["InvocationStatus"], r["ExitCode"]) == ("Success", 0) and " 0% packet loss" in r["Output"]
    v = verdict_at(store(emu), ECS1, IP2, now(emu))
    assert (v.reachable, v.via, v.back_via) == (True, f"VpcPeer {pcc}", f"VpcPeer {pcc}")
    assert "VPC peering connection" in v.reason
    peer_client(emu, A).delete_vpc_peer_connection(pm.DeleteVpcPeerConnectionRequest(instance_id=pcc, force=True))
    assert ping(a, ECS1, IP2)["InvocationStatus"] == "Failed"


def test_security_groups_still_decide(emu: Emu) -> None:
    a, b = emu.side(A, QD), emu.side(B, BJ)
    pcc = peered(emu)
    add_route(a, VTB1, CIDR2, pcc, "VpcPeer")
    add_route(b, VTB2, CIDR1, pcc, "VpcPeer")
    v = verdict_at(store(emu), ECS1, IP2, now(emu))
    assert (v.reachable, v.failed) == (False, "ingress") and SG2 in v.reason
    allow_icmp(b, SG2, CIDR1)
    assert verdict_at(store(emu), ECS1, IP2, now(emu)).reachable


def test_the_more_specific_route_wins_over_a_router_interface(emu: Emu) -> None:
    a, b = sides(emu)
    ri_a, ri_b = configured_pair(a, b)
    connect(a, ri_a)
    pcc = peered(emu)
    add_route(a, VTB1, CIDR2, ri_a)
    add_route(b, VTB2, CIDR1, ri_b)
    assert verdict_at(store(emu), ECS1, IP2, now(emu)).via == f"RouterInterface {ri_a}"
    add_route(a, VTB1, "172.16.1.0/24", pcc, "VpcPeer")
    v = verdict_at(store(emu), ECS1, IP2, now(emu))
    assert (v.reachable, v.via, v.back_via) == (True, f"VpcPeer {pcc}", f"RouterInterface {ri_b}")
    assert ping(a, ECS1, IP2)["ExitCode"] == 0


def test_a_moment_ahead_reads_the_transitions_already_scheduled(slow: Emu) -> None:
    a, b = sides(slow)
    pcc = create(peer_client(slow, A), accepting_uid=slow.account(B)["uid"])
    slow.advance(2)
    peer_client(slow, B).accept_vpc_peer_connection(pm.AcceptVpcPeerConnectionRequest(instance_id=pcc))
    slow.advance(2)
    add_route(a, VTB1, CIDR2, pcc, "VpcPeer")
    add_route(b, VTB2, CIDR1, pcc, "VpcPeer")
    t = now(slow)
    assert not verdict_at(store(slow), ECS1, IP2, t).reachable, "both routes are Pending"
    assert verdict_at(store(slow), ECS1, IP2, t + 2.5).reachable, "Available 2 s later"


def test_the_timeline_measures_the_loss_of_each_way_of_moving_a_route(slow: Emu) -> None:
    """A moves its route in place (ModifyRouteEntry: Modifying for 1 s); B deletes and re-creates
    (Deleting 1 s, then Pending 2 s). The loss of each side is exactly that, and no more."""
    a, b = sides(slow)
    ri_a, ri_b = configured_pair(a, b)
    connect(a, ri_a)
    slow.advance(4)
    pcc = create(peer_client(slow, A), accepting_uid=slow.account(B)["uid"])
    slow.advance(2)
    peer_client(slow, B).accept_vpc_peer_connection(pm.AcceptVpcPeerConnectionRequest(instance_id=pcc))
    slow.advance(2)
    rte_a = add_route(a, VTB1, CIDR2, ri_a)
    rte_b = add_route(b, VTB2, CIDR1, ri_b)
    slow.advance(2)
    start = now(slow)
    a.vpc.modify_route_entry(
        m.ModifyRouteEntryRequest(region_id=QD, route_entry_id=rte_a, new_next_hop_type="VpcPeer", new_next_hop_id=pcc)
    )
    slow.advance(10)
    middle = now(slow)
    b.vpc.delete_route_entry(m.DeleteRouteEntryRequest(region_id=BJ, route_entry_id=rte_b))
    slow.advance(1)
    add_route(b, VTB2, CIDR1, pcc, "VpcPeer")
    slow.advance(10)
    end = now(slow)
    first = timeline(store(slow), ECS1, IP2, start, middle)
    assert first.exact and [s.reachable for s in first.stretches] == [True, False, True]
    assert first.lost_s == pytest.approx(1.0, abs=0.01) and first.stretches[1].failed == "forward"
    assert (first.stretches[0].via, first.stretches[2].via) == (f"RouterInterface {ri_a}", f"VpcPeer {pcc}")
    second = timeline(store(slow), ECS2, IP1, middle, end)
    assert [s.reachable for s in second.stretches] == [True, False, True]
    assert second.lost_s == pytest.approx(3.0, abs=0.05) and second.longest_loss_s == second.lost_s
    assert second.stretches[-1].via == f"VpcPeer {pcc}"
    whole = timeline(store(slow), ECS1, IP2, start, end)
    assert whole.lost_s == pytest.approx(4.0, abs=0.05), "A's ping needs B's return route too"


def control(emu: Emu, **query: object) -> tuple[int, dict]:
    req = Request.parse("GET", "/_emulator/reachability?" + urlencode(query), {"host": emu.endpoint}, b"")
    reply = reachability(emu.server.app, req)
    return reply.status, json.loads(reply.body)


def test_the_control_route_answers_a_moment_and_a_span(emu: Emu) -> None:
    a, b = sides(emu)
    pcc = peered(emu)
    before = now(emu)
    add_route(a, VTB1, CIDR2, pcc, "VpcPeer")
    add_route(b, VTB2, CIDR1, pcc, "VpcPeer")
    emu.advance(5)
    status, body = control(emu, instance=ECS1, ip=IP2)
    assert status == 200 and body["verdict"] == {
        "reachable": True,
        "reason": body["verdict"]["reason"],
        "via": f"VpcPeer {pcc}",
        "back_via": f"VpcPeer {pcc}",
        "failed": "",
    }
    status, body = control(emu, instance=ECS1, ip=IP2, at=before)
    assert body["verdict"]["reachable"] is False and body["verdict"]["failed"] == "forward"
    status, body = control(emu, instance=ECS1, ip=IP2, since=before)
    assert status == 200 and [(s["reachable"], s["failed"]) for s in body["stretches"]] == [
        (False, "forward"),  # no route on A's side yet
        (False, "return"),  # A's route, not yet B's
        (True, ""),
    ]
    lost = body["stretches"][0]["seconds"] + body["stretches"][1]["seconds"]
    assert body["lost_s"] == pytest.approx(lost, abs=1e-5) and body["exact"] is True  # each rounded to a microsecond
    for query, code in (
        ({"ip": IP2}, 400),
        ({"instance": ECS1, "ip": IP2, "at": "soon"}, 400),
        ({"instance": ECS1, "ip": IP2, "at": 1, "since": 1}, 400),
        ({"instance": ECS1, "ip": IP2, "until": 5}, 400),
        ({"instance": ECS1, "ip": IP2, "flavour": "x"}, 400),
        ({"instance": "i-doesnotexist000000", "ip": IP2}, 404),
    ):
        status, body = control(emu, **query)
        assert status == code and body["error"], query
