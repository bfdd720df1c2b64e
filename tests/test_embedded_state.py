"""The embedded emulator's state lives in the per-user state directory, never in a records directory
(issue 8.6/8.11): private (0700, database 0600), shared by every records directory of the user, so two
operators rehearsing with two records folders meet in one emulator (issue 10.5) and a second link's
parameters extend the world instead of making a colliding one; generated IDs never collide between
worlds; `vpclink emulator reset` starts it over."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from phase_support import (
    EXAMPLE,
    own_state,  # noqa: F401  (autouse: private vpclink state)
)
from vpclink import embedded, locks
from vpclink import params as P
from vpclink.cloud import Cloud
from vpclink.phases import get
from vpclink.phases.base import PhaseContext
from vpclink.waits import Progress

SAME_REGION = EXAMPLE.parent / "same-region.yaml"


def _apply(target, params: P.LinkParams, phase: str, inputs: dict | None = None, side=None) -> dict:
    declared = get(phase)
    sides = declared.sides if side is None else tuple(s for s in declared.sides if s == side)
    cloud = Cloud(
        params, endpoint=target.endpoint, profiles_file=target.profiles_file, ledger=None, phase=phase, sides=sides
    )
    ctx = PhaseContext(params, cloud, dict(inputs or {}), "run-1", phase, Progress("silent"), side=side, read_lag=0)
    return get(phase).apply(ctx)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_state_is_private_and_outside_every_records_directory(tmp_path: Path) -> None:
    home = Path(os.environ["VPCLINK_STATE_DIR"])
    records = tmp_path / "records"
    with embedded.start(P.load(str(EXAMPLE)), records, timing_scale=0):
        pass
    directory = embedded.state_dir()
    assert directory == home / "emulator"
    assert _mode(home) == 0o700 and _mode(directory) == 0o700
    files = [p for p in directory.iterdir() if p.name.startswith(embedded.STATE_DB)]
    assert files and all(_mode(p) == 0o600 for p in files)
    assert not records.exists() or not any(records.rglob("*.db*"))


def test_the_state_directory_follows_xdg_state_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VPCLINK_STATE_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert locks.state_home() == tmp_path / "xdg" / "vpclink"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/path")  # the XDG spec: relative values are ignored
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert locks.state_home() == tmp_path / "home" / ".local" / "state" / "vpclink"


def test_two_records_directories_share_one_emulator(tmp_path: Path) -> None:
    params = P.load(str(EXAMPLE))
    with embedded.start(params, tmp_path / "records-1", timing_scale=0) as first:
        pre = _apply(first, params, "preflight")
        made = _apply(first, params, "initiator", pre)["initiator_router_interface_id"]
    with embedded.start(params, tmp_path / "records-2", timing_scale=0) as second:
        pre = _apply(second, params, "preflight")
        again = _apply(second, params, "initiator", pre)["initiator_router_interface_id"]
    assert again == made  # the second records folder found the first's interface: one cloud


def test_two_operators_with_two_records_folders_meet_in_one_emulator(tmp_path: Path) -> None:
    """Both sides' commands run at the same time, each with its own records folder and only its own
    side's profile: each finds the other's VPC and interface."""
    params = P.load(str(EXAMPLE))
    with (
        embedded.start(params, tmp_path / "initiator-records", timing_scale=0, side="initiator") as a,
        embedded.start(params, tmp_path / "acceptor-records", timing_scale=0, side="acceptor") as b,
    ):
        assert a.endpoint != b.endpoint  # two servers, one state
        pre_a = _apply(a, params, "preflight", side="initiator")
        ri_a = _apply(a, params, "initiator", pre_a, side="initiator")["initiator_router_interface_id"]
        pre_b = _apply(b, params, "preflight", side="acceptor")
        peer = {
            "initiator_router_interface_id": ri_a,
            "initiator_vrouter_id": pre_a["initiator_vrouter_id"],
            "initiator_account_uid": pre_a["initiator_account_uid"],
        }
        ri_b = _apply(b, params, "acceptor", {**pre_b, **peer}, side="acceptor")["acceptor_router_interface_id"]
        state = embedded._control(a.control_url, "state")["accounts"]
        b_side = [r for r in state["account-b"]["router_interface"] if r["RouterInterfaceId"] == ri_b]
        assert b_side and b_side[0]["OppositeInterfaceId"] == ri_a


def test_a_second_links_parameters_extend_the_world_and_keep_what_exists(tmp_path: Path) -> None:
    example, other = P.load(str(EXAMPLE)), P.load(str(SAME_REGION))
    with embedded.start(example, tmp_path / "r", timing_scale=0) as first:
        made = _apply(first, example, "initiator", _apply(first, example, "preflight"))
    with embedded.start(other, tmp_path / "r", timing_scale=0) as second:
        state = embedded._control(second.control_url, "state")["accounts"]
        vpcs = {v["VpcId"] for account in state.values() for v in account.get("vpc", [])}
        assert {
            example.initiator.vpc_id,
            example.acceptor.vpc_id,
            other.initiator.vpc_id,
            other.acceptor.vpc_id,
        } <= vpcs
        kept = [r["RouterInterfaceId"] for r in state["account-a"]["router_interface"]]
        assert kept == [made["initiator_router_interface_id"]]
        # the other link runs in the same accounts (its parameters name the same UIDs)
        pre = _apply(second, other, "preflight")
        assert pre["initiator_account_uid"] == "1637243907412983"
        ri = _apply(second, other, "initiator", pre)["initiator_router_interface_id"]
        assert ri != made["initiator_router_interface_id"]


def test_generated_ids_never_collide_between_worlds() -> None:
    params = P.load(str(EXAMPLE))
    seeds = {embedded.world_for(params)["seed"] for _ in range(5)}
    assert len(seeds) == 5


def test_reset_starts_the_shared_emulator_over(tmp_path: Path) -> None:
    params = P.load(str(EXAMPLE))
    with embedded.start(params, tmp_path / "r", timing_scale=0) as t:
        _apply(t, params, "initiator", _apply(t, params, "preflight"))
    assert embedded.reset() is True
    assert embedded.reset() is False
    with embedded.start(params, tmp_path / "r", timing_scale=0) as t:
        state = embedded._control(t.control_url, "state")["accounts"]
        assert state["account-a"].get("router_interface", []) == []


def test_the_embedded_world_lags_its_lists_and_says_so(tmp_path: Path) -> None:
    params = P.load(str(EXAMPLE))
    with embedded.start(params, tmp_path / "r", timing_scale=0) as t:
        behaviour = embedded._control(t.control_url, "behaviour")["behaviour"]
        assert behaviour["read_lag"] == {"seconds": embedded.READ_LAG, "applies_to": "lists"}
        assert t.read_lag is not None and t.read_lag >= embedded.READ_LAG
        # the world's VPCs are older than the lag: discovery finds them at once
        assert _apply(t, params, "preflight")["initiator_vrouter_id"]


def test_a_state_directory_of_another_user_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to create a directory owned by another user")
    other = tmp_path / "theirs"
    other.mkdir()
    os.chown(other, 12345, 12345)
    monkeypatch.setenv("VPCLINK_STATE_DIR", str(other))
    with pytest.raises(PermissionError, match="another user"):
        locks.state_home()
