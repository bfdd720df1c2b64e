"""Waiting links of a fleet poll by listing: after a wait's first look (by ID), its polls take the
status from the region's listing shared through the fleet's coordinator, trusted only to say "not
yet"; a state that ends the wait, or a resource the listing does not show, is read again by ID. A
single link (no coordinator) reads by ID every time."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from alicloud_emulator.world import default_world
from phase_support import (
    Rig,
    own_state,  # noqa: F401  (autouse: private vpclink state)
    start_emulator,
)
from vpclink.fleet import coordinator, quota
from vpclink.phases.lookup import shared_status_poll

UID, REGION = "1234567890123456", "cn-qingdao"
SETTLED = ("Active", "gone")


@dataclass
class Side:
    region: str = REGION


@dataclass
class Params:
    def side(self, role: str) -> Side:
        return Side()


@dataclass
class Cloud:
    uid: str | None = UID

    def known_account_uid(self, role: str) -> str | None:
        return self.uid


@dataclass
class Ctx:
    cloud: Cloud = field(default_factory=Cloud)
    params: Params = field(default_factory=Params)


@dataclass
class Api:
    """What the cloud answers: by ID (fresh) and in the region's listing (may lag)."""

    by_id_state: str = "Activating"
    listing: dict[str, str] = field(default_factory=dict)
    reads_by_id: int = 0
    listings: int = 0

    def by_id(self) -> str:
        self.reads_by_id += 1
        return self.by_id_state

    def region(self) -> dict[str, str]:
        self.listings += 1
        return dict(self.listing)


def poll(api: Api, ctx: Any | None = None) -> Any:
    return shared_status_poll(
        ctx or Ctx(),
        "initiator",
        "ri-1",
        SETTLED,
        by_id=api.by_id,
        action="DescribeRouterInterfaces",
        region=api.region,
    )


@pytest.fixture
def fleet(monkeypatch: pytest.MonkeyPatch) -> Any:
    with coordinator.serve(gather_s=0.0) as service:
        for name, value in service.env().items():
            monkeypatch.setenv(name, value)
        yield service


def test_in_a_fleet_a_listing_that_says_not_yet_replaces_the_describe(fleet: Any) -> None:
    api = Api(listing={"ri-1": "Activating", "ri-2": "Active"})
    read = poll(api)
    assert read() == "Activating" and (api.reads_by_id, api.listings) == (1, 0)  # the first look: by ID
    assert [read() for _ in range(3)] == ["Activating"] * 3
    assert (api.reads_by_id, api.listings) == (1, 3)
    assert fleet.stats()["listings"]["fetches"] == 3  # fetched through the coordinator


def test_a_listed_state_that_would_end_the_wait_is_read_again_by_id(fleet: Any) -> None:
    api = Api(listing={"ri-1": "Active"}, by_id_state="Deactivating")  # the listing lags behind
    read = poll(api)
    read()
    assert read() == "Deactivating" and api.reads_by_id == 2  # never ended on the listing's word
    api.by_id_state = "Active"
    assert read() == "Active" and api.reads_by_id == 3


@pytest.mark.parametrize("listing", [{}, {"ri-1": "Deleted"}])
def test_a_resource_the_listing_does_not_show_alive_is_read_by_id(fleet: Any, listing: dict[str, str]) -> None:
    api = Api(listing=listing)
    read = poll(api)
    read()
    assert read() == "Activating" and (api.reads_by_id, api.listings) == (2, 1)


def test_a_single_link_reads_by_id_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(quota.COORDINATOR_ENV, raising=False)
    api = Api(listing={"ri-1": "Activating"})
    read = poll(api)
    assert [read() for _ in range(3)] == ["Activating"] * 3
    assert (api.reads_by_id, api.listings) == (3, 0)


def test_an_account_not_known_yet_is_never_keyed_as_another_accounts_listing(fleet: Any) -> None:
    api = Api(listing={"ri-1": "Activating"})
    read = poll(api, Ctx(cloud=Cloud(uid=None)))
    [read() for _ in range(3)]
    assert (api.reads_by_id, api.listings) == (3, 0)


def build_and_connect(tmp_path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One link built and connected on the tutorial world, whose delays (2-4 s a step, virtual time)
    make the waits wait; its outputs and the DescribeRouterInterfaces calls the emulator received."""
    tmp_path.mkdir()
    emu = start_emulator(default_world())
    try:
        rig = Rig(emu, tmp_path)
        seq = rig.journal_seq()
        out = rig.run_all(phases=("preflight", "initiator", "acceptor", "connect"))
        return out, emu.journal(since=str(seq), action="DescribeRouterInterfaces")
    finally:
        emu.server.stop()


def listings(calls: list[dict[str, Any]]) -> int:
    return sum("Filter.1.Key" not in c["params"] for c in calls)


def test_a_fleet_link_waiting_on_the_emulator_polls_the_listing_and_ends_on_a_read_by_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(quota.COORDINATOR_ENV, raising=False)
    alone, alone_calls = build_and_connect(tmp_path / "alone")
    with coordinator.serve(gather_s=0.0) as service:
        for name, value in service.env().items():
            monkeypatch.setenv(name, value)
        in_fleet, fleet_calls = build_and_connect(tmp_path / "fleet")
        fetched = service.stats()["listings"]["fetches"]
    assert alone["connection_status"] == in_fleet["connection_status"] == "Active"
    assert listings(alone_calls) == 0  # a single link reads by ID
    assert listings(fleet_calls) == fetched > 0  # every listing went through the coordinator
    # the wait ended on the interface's own read, never on the listing's word
    last = max(i for i, c in enumerate(fleet_calls) if "Filter.1.Key" not in c["params"])
    assert any(c["params"].get("Filter.1.Key") == "RouterInterfaceId" for c in fleet_calls[last + 1 :])
