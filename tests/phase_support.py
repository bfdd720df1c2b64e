"""Helpers for the phase and cloud tests: an emulator, a profiles file made from its accounts, a
clock that moves the emulator's virtual time instead of sleeping, and ways to count resources and
mutating calls."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from alicloud_emulator.dispatch import PRODUCTS
from vpclink import params as P
from vpclink.cloud import Cloud
from vpclink.phases import ORDER, RUN, get
from vpclink.phases.base import PhaseContext
from vpclink.record.ledger import Ledger
from vpclink.retries import RetryPolicy
from vpclink.waits import Progress, WaitEvent

sys.path.insert(0, str(Path(__file__).parent))
from emulator.conftest import Emu, start_emulator

EXAMPLE = Path(__file__).resolve().parent.parent / "params" / "example.yaml"
PROFILES = {"vpclink-a": "account-a", "vpclink-b": "account-b"}
MUTATING = {action for _, _, actions in PRODUCTS.values() for action, spec in actions.items() if spec.mutating}


@pytest.fixture(autouse=True)
def own_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """vpclink's per-user state (locks, the register, the embedded emulator) private to one test, so
    that tests running at once never share a lock or a noted ID. Import it into a test module to
    make it apply there (``from phase_support import own_state``)."""
    state = tmp_path_factory.mktemp("vpclink-state")
    monkeypatch.setenv("VPCLINK_STATE_DIR", str(state))
    return state


class EmulatorClock:
    """Sleeping moves the emulator's virtual time (and this clock) instead of waiting."""

    def __init__(self, emu: Emu):
        self.emu = emu
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if seconds > 0:
            self.emu.advance(seconds)
            self.t += seconds


class Rig:
    """One emulator, the example parameters and everything a phase context needs."""

    def __init__(
        self, emu: Emu, tmp_path: Path, params: P.LinkParams | None = None, profiles: dict[str, str] | None = None
    ):
        self.emu = emu
        self.params = params or P.load(str(EXAMPLE))
        accounts = {a["name"]: a for a in emu.control("accounts")["accounts"]}
        self.accounts = accounts
        # The Alibaba Cloud CLI's format, written here rather than by vpclink.profiles.write_profiles
        # so that the reading side is checked against the format itself.
        self.profiles_file = tmp_path / "config.json"
        self.profiles_file.write_text(
            json.dumps(
                {
                    "current": "vpclink-a",
                    "profiles": [
                        {
                            "name": name,
                            "mode": "AK",
                            "access_key_id": accounts[acct]["access_key_id"],
                            "access_key_secret": accounts[acct]["access_key_secret"],
                            "region_id": "cn-hangzhou",
                        }
                        for name, acct in (profiles or PROFILES).items()
                    ],
                }
            )
        )
        self.ledger = Ledger(tmp_path / "ledger.jsonl")
        self.events: list[WaitEvent] = []
        self.clock = EmulatorClock(emu)
        self.outputs: dict[str, Any] = {}
        # The world's VPCs were there long before the runbook looked: older than any read lag.
        lag = emu.control("behaviour")["behaviour"]["read_lag"]["seconds"]
        if lag:
            emu.advance(lag)

    def secrets(self) -> list[str]:
        return [v for a in self.accounts.values() for v in (a["access_key_id"], a["access_key_secret"])]

    def cloud(self, phase: str, sides: tuple[str, ...] | None = None, **kw: Any) -> Cloud:
        kw.setdefault("retry", RetryPolicy(max_attempts=6))
        return Cloud(
            self.params,
            endpoint=self.emu.endpoint,
            profiles_file=str(self.profiles_file),
            ledger=self.ledger,
            phase=phase,
            sides=sides or (get(phase).sides if phase in ORDER else P.ROLES),
            clock=self.clock,
            **kw,
        )

    def ctx(self, phase: str, inputs: dict[str, Any] | None = None, run_id: str = "run-1", **kw: Any) -> PhaseContext:
        return PhaseContext(
            self.params,
            self.cloud(phase, **kw),
            dict(self.outputs if inputs is None else inputs),
            run_id,
            phase,
            Progress("silent", on_event=self.events.append),
        )

    def apply(self, phase: str, run_id: str = "run-1", **kw: Any) -> dict[str, Any]:
        out = get(phase).apply(self.ctx(phase, run_id=run_id, **kw))
        self.outputs.update(out)
        return out

    def run_all(self, run_id: str = "run-1", phases: tuple[str, ...] = RUN) -> dict[str, Any]:
        for phase in phases:
            self.apply(phase, run_id)
        return self.outputs

    # -- what the emulator holds ----------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return self.emu.state()

    def resources(self, account: str, type_: str) -> list[dict[str, Any]]:
        return self.state().get(account, {}).get(type_, [])

    def rules(self, account: str) -> list[dict[str, Any]]:
        return [r for g in self.resources(account, "security_group") for r in g.get("Rules", [])]

    def inventory(self) -> dict[str, Any]:
        """What the link consists of, per account, without times: to compare states."""
        out: dict[str, Any] = {}
        for account in ("account-a", "account-b"):
            out[account] = {
                "router_interfaces": sorted(
                    (r["RouterInterfaceId"], r["Status"])
                    for r in self.resources(account, "router_interface")
                    if r.get("Status") != "Deleted"
                ),
                "routes": sorted(
                    (r["RouteTableId"], r["DestinationCidrBlock"], r.get("NextHopId", ""), r["Status"])
                    for r in self.resources(account, "route_entry")
                ),
                "rules": sorted(
                    (
                        r["SecurityGroupRuleId"],
                        r["IpProtocol"],
                        r["PortRange"],
                        r.get("SourceCidrIp", ""),
                        r.get("SourceGroupId", ""),
                    )
                    for r in self.rules(account)
                ),
            }
        return out

    def journal_seq(self) -> int:
        entries = self.emu.journal()
        return entries[-1]["seq"] if entries else 0

    def mutations_since(self, seq: int, ok_only: bool = False) -> list[dict[str, Any]]:
        return [
            e
            for e in self.emu.control(f"journal?since={seq}")["entries"]
            if e["action"] in MUTATING and (not ok_only or e.get("status") == 200)
        ]


def replaced(model: Any, **changes: Any) -> Any:
    """A copy of a parameter model with ``changes`` (a dataclass or a pydantic model)."""
    if hasattr(model, "model_copy"):
        return model.model_copy(update=changes)
    return dataclasses.replace(model, **changes)


def replace_side(params: P.LinkParams, role: str, **changes: Any) -> P.LinkParams:
    return replaced(params, **{role: replaced(params.side(role), **changes)})


__all__ = [
    "EXAMPLE",
    "MUTATING",
    "Emu",
    "EmulatorClock",
    "Rig",
    "own_state",
    "replace_side",
    "replaced",
    "start_emulator",
]
