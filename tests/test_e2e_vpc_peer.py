"""End to end with ``backend: vpc_peer``, as a user runs it: ``vpclink plan`` on a fresh cloud, ``vpclink
run``, a second run, and ``vpclink teardown``, all over one records directory and the embedded
emulator (its state private to this module, its asynchronous steps immediate). Twice: across regions
(the tutorial's VPCs, ``params/example-peering.yaml``, with a bandwidth) and within one region (free,
no bandwidth).

The emulator's journal is the cloud's side of the story: exactly one ``CreateVpcPeerConnection`` and
one ``AcceptVpcPeerConnection`` for the link, routes with ``NextHopType=VpcPeer``, no router interface.
"""

from __future__ import annotations

import contextlib
import io
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from runbook_support import ROOT, Emulator, mutating, succeeded, without_history
from vpclink import embedded, phases
from vpclink.cli import main
from vpclink.params import load
from vpclink.record.run import RunState

PEERING = ROOT / "params" / "example-peering.yaml"
SAME_REGION = ROOT / "params" / "same-region.yaml"


def vpclink(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(list(argv))
    return code, out.getvalue()


def same_region_peering(path: Path) -> Path:
    """``params/same-region.yaml`` as a peering: no bandwidth, no Spec, rules by CIDR."""
    doc = yaml.safe_load(SAME_REGION.read_text())
    doc.update(link="hangzhou-peering", backend="vpc_peer")
    doc.pop("bandwidth_mbps")
    doc.pop("spec")
    doc["security_groups"]["mode"] = "cidr"
    path.write_text(yaml.safe_dump(doc))
    return path


class Link:
    """One link file, its records directory and the embedded emulator's state between commands."""

    def __init__(self, params: Path, records: Path, state_dir: Path):
        self.params, self.records, self.state_dir = params, records, state_dir

    @contextlib.contextmanager
    def env(self) -> Any:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("VPCLINK_STATE_DIR", str(self.state_dir))
            yield

    def cli(self, *argv: str) -> tuple[int, str]:
        with self.env():
            return vpclink(*argv)

    @contextlib.contextmanager
    def cloud(self) -> Any:
        with self.env():
            emu = Emulator(db=str(embedded.state_dir() / embedded.STATE_DB))
        try:
            yield emu
        finally:
            emu.stop()

    def runs(self) -> list[Path]:
        return sorted(p for p in self.records.iterdir() if p.is_dir() and not p.name.startswith("."))


@pytest.fixture(scope="module", params=["cross-region", "same-region"])
def link(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Link:
    params = (
        PEERING
        if request.param == "cross-region"
        else same_region_peering(tmp_path_factory.mktemp("params") / "peering.yaml")
    )
    lk = Link(params, tmp_path_factory.mktemp("records"), tmp_path_factory.mktemp("vpclink-state"))
    with lk.env():
        embedded.start(load(params), lk.records, timing_scale=0, read_lag=3.0).close()  # the default lag
    return lk


@pytest.fixture(scope="module")
def initial(link: Link) -> dict[str, Any]:
    with link.cloud() as cloud:
        return {"state": cloud.state(), "seq": cloud.last_seq()}


@pytest.fixture(scope="module")
def fresh_plan(link: Link, initial: dict[str, Any]) -> tuple[int, str]:
    """``vpclink plan`` before anything exists: what each phase would do, no mutating call."""
    code, out = link.cli("plan", str(link.params), "--records", str(link.records))
    with link.cloud() as cloud:
        assert mutating(cloud.journal(since=initial["seq"])) == []
    return code, out


@pytest.fixture(scope="module")
def first_run(link: Link, fresh_plan: tuple[int, str]) -> tuple[int, str, Path]:
    before = set(link.runs())
    code, out = link.cli("run", str(link.params), "--records", str(link.records))
    runs = [r for r in link.runs() if r not in before]
    assert len(runs) == 1, out
    return code, out, runs[0]


def peerings(state: dict[str, Any]) -> Counter:
    """Live peering connections per account (as requester), and routes by next-hop type."""
    c: Counter = Counter()
    for account, types in state.items():
        for p in types.get("vpc_peer", []):
            c[("vpc_peer", account, p.get("Status"))] += 1
        for r in types.get("route_entry", []):
            if r.get("Type") == "Custom":
                c[("route", account, r.get("NextHopType"))] += 1
        c[("router_interface", account)] += len(types.get("router_interface", []))
    return c


def test_plan_on_a_fresh_cloud_names_the_peering_steps(fresh_plan: tuple[int, str]) -> None:
    code, out = fresh_plan
    assert code == 0, out
    assert "CreateVpcPeerConnection" in out and "AcceptVpcPeerConnection" in out
    assert "RouterInterface" not in out.replace("router_interface", "")


def test_the_run_verifies_through_one_activated_peering(link: Link, first_run: tuple[int, str, Path]) -> None:
    code, out, run_dir = first_run
    assert code == 0, out
    assert "result: verified" in out
    state = RunState.load(run_dir)
    assert [p.name for p in state.phases] == list(phases.RUN)
    assert all(p.status == "ok" for p in state.phases), [(p.name, p.status) for p in state.phases]
    pcc = state.outputs["initiator_peer_connection_id"]
    assert pcc.startswith("pcc-") and state.outputs["connection_status"] == "Activated"
    assert state.outputs["initiator_router_interface_id"] == "" and state.outputs["verified"] is True
    # later phases took the peering's ID as an input
    assert state.phase("routes").inputs["initiator_peer_connection_id"] == pcc
    with link.cloud() as cloud:
        counts = peerings(cloud.state())
        calls = succeeded(mutating(cloud.journal()))
    assert sum(v for k, v in counts.items() if k[0] == "vpc_peer") == 1, counts
    assert sum(v for k, v in counts.items() if k[0] == "router_interface") == 0, counts
    routes = {k: v for k, v in counts.items() if k[0] == "route"}
    assert len(routes) == 2 and set(routes.values()) == {1}, routes  # one route in each account
    assert {k[2] for k in routes} == {"VpcPeer"}, routes
    actions = Counter(e["action"] for e in calls)
    assert actions["CreateVpcPeerConnection"] == 1 and actions["AcceptVpcPeerConnection"] == 1, actions
    assert not any("RouterInterface" in a for a in actions), actions


def test_the_request_carries_a_bandwidth_only_across_regions(link: Link, first_run: tuple[int, str, Path]) -> None:
    params = load(link.params)
    with link.cloud() as cloud:
        (create,) = [e for e in succeeded(cloud.journal()) if e["action"] == "CreateVpcPeerConnection"]
        (peering,) = [p for t in cloud.state().values() for p in t.get("vpc_peer", [])]
    sent = create.get("params") or create.get("parameters") or {}
    if params.same_region:
        assert "Bandwidth" not in sent and int(peering["Bandwidth"]) == -1
    else:
        assert int(peering["Bandwidth"]) == params.bandwidth_mbps


def test_a_second_run_converges_with_no_second_peering(link: Link, first_run: tuple[int, str, Path]) -> None:
    with link.cloud() as cloud:
        before, seq = cloud.state(), cloud.last_seq()
    code, out = link.cli("run", str(link.params), "--records", str(link.records))
    assert code == 0, out
    with link.cloud() as cloud:
        after = cloud.state()
        changes = succeeded(mutating(cloud.journal(since=seq)))
    assert without_history(after) == without_history(before)
    assert {e["action"] for e in changes} == {"RunCommand"}, changes  # only the ping test acts again


def test_teardown_leaves_both_accounts_as_they_were_and_converges(
    link: Link, first_run: tuple[int, str, Path], initial: dict[str, Any]
) -> None:
    _, _, run_dir = first_run
    code, out = link.cli("teardown", str(run_dir), "--records", str(link.records))
    assert code == 0, out
    with link.cloud() as cloud:
        assert without_history(cloud.state()) == without_history(initial["state"])
        actions = [e["action"] for e in succeeded(mutating(cloud.journal(since=initial["seq"])))]
        seq = cloud.last_seq()
    assert actions.count("DeleteVpcPeerConnection") == 1, actions
    # routes before the peering: the API refuses to delete a peering that routes point at
    assert max(i for i, a in enumerate(actions) if a == "DeleteRouteEntry") < actions.index("DeleteVpcPeerConnection")
    code, out = link.cli("teardown", str(link.params), "--records", str(link.records))
    assert code == 0, out
    with link.cloud() as cloud:
        assert succeeded(mutating(cloud.journal(since=seq))) == []
        assert without_history(cloud.state()) == without_history(initial["state"])
