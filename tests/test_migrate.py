"""``vpclink.migrate`` on the emulator (virtual time, lists lagging as the cloud's do): a link built
from router interfaces moves to a VPC peering with each route changed in place, one side at a time,
and back; a migration stopped between the two route moves converges when run again, with one peering
and no second route; a failure before the first move leaves the old link as it was; bad input is
refused before any mutating call, naming the field."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from adversarial_support import lagging_emulator
from phase_support import (
    Rig,
    own_state,  # noqa: F401  (autouse: private vpclink state)
)
from vpclink import migrate
from vpclink.cloud import CloudError
from vpclink.migrate import engine
from vpclink.phases.base import PhaseError


@pytest.fixture
def rig(tmp_path: Path):
    r = Rig(lagging_emulator(3.0), tmp_path)  # lists lag 3 s, the embedded default: never kinder than the cloud
    r.run_all()
    assert r.outputs["verified"] is True
    yield r
    r.emu.server.stop()


def flat(routes_by_account: dict[str, list[tuple[str, str, str]]]) -> list[tuple[str, str, str]]:
    return [r for account in sorted(routes_by_account) for r in routes_by_account[account]]


def routes(rig: Rig) -> dict[str, list[tuple[str, str, str]]]:
    return {
        account: sorted(
            (r["RouteEntryId"], r["DestinationCidrBlock"], r.get("NextHopType", ""))
            for r in rig.resources(account, "route_entry")
            if r["Type"] == "Custom"
        )
        for account in ("account-a", "account-b")
    }


def live(rig: Rig, type_: str, account: str = "account-a") -> list[dict[str, Any]]:
    return [x for x in rig.resources(account, type_) if x.get("Status") not in ("Deleting", "Deleted")]


def lost_seconds(rig: Rig, since: float) -> dict[str, float]:
    """How long each side's pings could not cross since ``since`` (the emulator's reachability timeline)."""
    ips = {
        i["InstanceId"]: i["PrivateIpAddress"]
        for account in ("account-a", "account-b")
        for i in rig.resources(account, "instance")
    }
    pairs = {
        "initiator": (rig.params.initiator.instance_id, ips[str(rig.params.acceptor.instance_id)]),
        "acceptor": (rig.params.acceptor.instance_id, ips[str(rig.params.initiator.instance_id)]),
    }
    return {
        role: rig.emu.control(f"reachability?instance={inst}&ip={ip}&since={since}")["lost_s"]
        for role, (inst, ip) in pairs.items()
    }


def now(rig: Rig) -> float:
    return float(rig.emu.control("clock")["epoch"])


def test_router_interfaces_to_a_peering_in_place_and_back(rig: Rig) -> None:
    before = routes(rig)
    began, seq = now(rig), rig.journal_seq()
    ctx = rig.ctx("migrate")
    out = migrate.migrate(ctx, "vpc_peer")

    [pcc] = live(rig, "vpc_peer")
    assert pcc["Status"] == "Activated" and out["initiator_peer_connection_id"] == pcc["InstanceId"]
    assert live(rig, "router_interface") == [] and live(rig, "router_interface", "account-b") == []
    # the same entries, repointed: in place, never deleted and created again
    after = routes(rig)
    assert [(i, d) for i, d, _ in flat(after)] == [(i, d) for i, d, _ in flat(before)]
    assert {t for _, _, t in flat(after)} == {"VpcPeer"}
    actions = [e["action"] for e in rig.mutations_since(seq, ok_only=True)]
    assert actions.count("ModifyRouteEntry") == 2
    assert "DeleteRouteEntry" not in actions and "CreateRouteEntry" not in actions
    # the record shows each move and its ping, the initiator's side first
    moves = [(o.side, o.outcome) for o in ctx.outcomes if o.action == "ModifyRouteEntry"]
    assert moves == [("initiator", "changed"), ("acceptor", "changed")]
    assert [o.action for o in ctx.outcomes].count("RunCommand") == 4
    assert lost_seconds(rig, began) == {"initiator": 0, "acceptor": 0}

    # and back, from the parameters as the peering now stands, once the lists' lag has passed (at once,
    # within it: test_there_and_back_at_once_within_the_read_lag)
    rig.emu.advance(4)
    back = rig.ctx("migrate")
    back = dataclasses.replace(back, params=dataclasses.replace(rig.params, backend="vpc_peer"))
    migrate.migrate(back, "router_interface")
    assert live(rig, "vpc_peer") == []
    assert [x["Status"] for x in live(rig, "router_interface")] == ["Active"]
    assert {t for _, _, t in flat(routes(rig))} == {"RouterInterface"}
    assert [(i, d) for i, d, _ in flat(routes(rig))] == [(i, d) for i, d, _ in flat(before)]


def test_stopped_between_the_route_moves_a_rerun_converges(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    real_ping = engine._ping

    def stop_after_first_move(ctx: Any, after: str) -> None:
        real_ping(ctx, after)
        raise KeyboardInterrupt("killed after " + after)

    monkeypatch.setattr(engine, "_ping", stop_after_first_move)
    with pytest.raises(KeyboardInterrupt):
        migrate.migrate(rig.ctx("migrate"), "vpc_peer")
    half = routes(rig)
    assert [t for _, _, t in half["account-a"]] == ["VpcPeer"] and [t for _, _, t in half["account-b"]] == [
        "RouterInterface"
    ]
    monkeypatch.setattr(engine, "_ping", real_ping)
    seq = rig.journal_seq()
    ctx = rig.ctx("migrate", run_id="run-2")
    migrate.migrate(ctx, "vpc_peer")
    assert len(live(rig, "vpc_peer")) == 1
    assert [(len(v), {t for _, _, t in v}) for v in routes(rig).values()] == [(1, {"VpcPeer"})] * 2
    actions = [e["action"] for e in rig.mutations_since(seq, ok_only=True)]
    assert "CreateVpcPeerConnection" not in actions and actions.count("ModifyRouteEntry") == 1
    assert [o.outcome for o in ctx.outcomes if o.action == "ModifyRouteEntry"] == ["already there", "changed"]
    # a third run finds everything done and changes nothing
    seq = rig.journal_seq()
    migrate.migrate(rig.ctx("migrate", run_id="run-3"), "vpc_peer")
    assert {e["action"] for e in rig.mutations_since(seq, ok_only=True)} <= {"RunCommand"}


def test_a_failure_before_the_first_move_leaves_the_old_link_untouched(rig: Rig) -> None:
    before = routes(rig)
    ris = [(x["RouterInterfaceId"], x["Status"]) for x in live(rig, "router_interface")]
    rig.emu.faults({"action": "AcceptVpcPeerConnection", "effect": "error", "code": "Forbidden", "status": 403})
    with pytest.raises(CloudError) as failed:
        migrate.migrate(rig.ctx("migrate"), "vpc_peer")
    assert failed.value.code == "Forbidden" and failed.value.request_id
    assert routes(rig) == before
    assert [(x["RouterInterfaceId"], x["Status"]) for x in live(rig, "router_interface")] == ris


@pytest.mark.parametrize(
    ("to", "change", "field"),
    [
        ("peering", {}, "--to"),
        ("router_interface", {}, "--to"),
        ("router_interface", {"backend": "vpc_peer", "bandwidth_mbps": None}, "bandwidth_mbps"),
        ("vpc_peer", {"routes": {"initiator": (), "acceptor": ()}}, "routes"),
    ],
)
def test_bad_input_is_refused_before_any_mutating_call(rig: Rig, to: str, change: dict, field: str) -> None:
    seq = rig.journal_seq()
    ctx = rig.ctx("migrate")
    ctx = dataclasses.replace(ctx, params=dataclasses.replace(rig.params, **change))
    with pytest.raises(migrate.MigrateInputError, match=f"^{field}: "):
        migrate.migrate(ctx, to)
    with pytest.raises(migrate.MigrateInputError, match=f"^{field}: "):
        migrate.plan(ctx, to)
    assert rig.mutations_since(seq) == []


def test_plan_shows_the_steps_and_makes_no_mutating_call(rig: Rig) -> None:
    seq = rig.journal_seq()
    steps = migrate.plan(rig.ctx("migrate"), "vpc_peer")
    assert rig.mutations_since(seq) == []
    actions = [s.action for s in steps]
    assert "CreateVpcPeerConnection" in actions and actions.count("ModifyRouteEntry") == 2
    assert actions.count("DeleteRouterInterface") == 2
    assert all(s.intent in ("modify",) for s in steps if s.action == "ModifyRouteEntry")


def test_there_and_back_at_once_within_the_read_lag(rig: Rig) -> None:
    """Back to router interfaces right after moving to the peering, no time passing in between: the
    lists still show the interfaces the first migration deleted, as they were (Active), and their
    create tokens still answer with them; the way back builds one new interface per side all the same,
    and the same route entries point at them."""
    before = routes(rig)
    old = {x["RouterInterfaceId"] for a in ("account-a", "account-b") for x in live(rig, "router_interface", a)}
    migrate.migrate(rig.ctx("migrate"), "vpc_peer")
    back = rig.ctx("migrate", run_id="run-2")
    back = dataclasses.replace(back, params=dataclasses.replace(rig.params, backend="vpc_peer"))
    out = migrate.migrate(back, "router_interface")

    assert live(rig, "vpc_peer") == []
    for account, role in (("account-a", "initiator"), ("account-b", "acceptor")):
        [ri] = live(rig, "router_interface", account)
        assert ri["Status"] == "Active" and ri["RouterInterfaceId"] not in old
        assert out[f"{role}_router_interface_id"] == ri["RouterInterfaceId"]
        custom = [r for r in rig.resources(account, "route_entry") if r["Type"] == "Custom"]
        assert {(r["NextHopType"], r["NextHopId"]) for r in custom} == {("RouterInterface", ri["RouterInterfaceId"])}
    assert [(i, d) for i, d, _ in flat(routes(rig))] == [(i, d) for i, d, _ in flat(before)]  # in place
    pings = [o.detail for o in back.outcomes if o.action == "RunCommand"]
    assert pings == ["ok"] * 4  # both ways after each side's move


def test_a_move_whose_ping_fails_goes_back_in_place_and_a_rerun_finishes(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, seq = routes(rig), rig.journal_seq()
    real_ping = engine._ping
    said: list[str] = []

    def no_reply_over_the_new_hop(ctx: Any, after: str) -> None:
        said.append(after)
        if after == "moving the initiator side's route":  # as if the new hop carried nothing
            raise PhaseError(f"the ping after {after} failed (ping_initiator_to_acceptor)")
        real_ping(ctx, after)

    monkeypatch.setattr(engine, "_ping", no_reply_over_the_new_hop)
    with pytest.raises(PhaseError) as failed:
        migrate.migrate(rig.ctx("migrate"), "vpc_peer")
    message = str(failed.value)
    assert "ping_initiator_to_acceptor" in message and "back on the router interface ri-" in message
    assert "traffic crosses as before" in message and "run migrate again" in message
    assert said == ["moving the initiator side's route", "moving the initiator side's route back"]
    # the old link carries traffic as before: the same entries, through the router interfaces, both still there
    assert routes(rig) == before
    assert [len(live(rig, "router_interface", a)) for a in ("account-a", "account-b")] == [1, 1]
    assert len(live(rig, "vpc_peer")) == 1  # kept for the next attempt
    actions = [e["action"] for e in rig.mutations_since(seq, ok_only=True)]
    assert actions.count("ModifyRouteEntry") == 2 and "DeleteRouterInterface" not in actions  # there and back

    monkeypatch.setattr(engine, "_ping", real_ping)
    migrate.migrate(rig.ctx("migrate", run_id="run-2"), "vpc_peer")
    assert [(len(v), {t for _, _, t in v}) for v in routes(rig).values()] == [(1, {"VpcPeer"})] * 2
    assert len(live(rig, "vpc_peer")) == 1
    assert [live(rig, "router_interface", a) for a in ("account-a", "account-b")] == [[], []]
