"""Helpers for the runbook's end-to-end tests: an emulator in this process and ways to count what
the runbook left in each account."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alicloud_emulator.server import make_server
from alicloud_emulator.world import default_world, with_timing
from emulator.control_client import control

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "params" / "example.yaml"
NOTEBOOKS = ROOT / "notebooks"
BAD_PARAMS = ROOT / "tests" / "data" / "bad_params"

# The API actions that change nothing (everything else mutates).
READ_PREFIXES = ("Describe", "Get", "List")

# The example's accounts in the built-in world, and the resource types the runbook changes.
ACCOUNTS = ("account-a", "account-b")


class Emulator:
    """An emulator served from a thread of the test process (loopback, any free port)."""

    def __init__(self, world: dict[str, Any] | None = None, db: str | None = None):
        self.server = make_server(db=db, world=world if world is not None else with_timing(default_world(), scale=0))
        self.server.start()
        self.url = self.server.url

    def control(self, path: str, body: Any = None, method: str | None = None) -> Any:
        return control(self.url, path, body, method)

    def journal(self, since: int = 0) -> list[dict[str, Any]]:
        return self.control(f"journal?since={since}")["entries"]

    def last_seq(self) -> int:
        entries = self.journal()
        return entries[-1]["seq"] if entries else 0

    def state(self) -> dict[str, Any]:
        return self.control("state")["accounts"]

    def faults(self, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.control("faults", rules)["faults"]

    def secrets(self) -> list[str]:
        return [v for a in self.control("accounts")["accounts"] for v in (a["access_key_id"], a["access_key_secret"])]

    def stop(self) -> None:
        self.server.stop()
        self.server.app.store.close()


def mutating(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if not e["action"].startswith(READ_PREFIXES)]


def succeeded(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if e.get("status") == 200]


def link_resources(state: dict[str, Any]) -> dict[str, Counter]:
    """Per account: router interfaces, custom routes by (table, destination, next hop), rules by content."""
    out: dict[str, Counter] = {}
    for account, types in state.items():
        c: Counter = Counter()
        for ri in types.get("router_interface", []):
            c[("router_interface", ri.get("Role"))] += 1
        for r in types.get("route_entry", []):
            if r.get("Type") == "Custom":
                c[("route", r.get("RouteTableId"), r.get("DestinationCidrBlock"), r.get("NextHopId"))] += 1
        for g in types.get("security_group", []):
            for rule in g.get("Rules", []):
                c[
                    (
                        "rule",
                        g["SecurityGroupId"],
                        rule.get("Direction"),
                        rule.get("IpProtocol"),
                        rule.get("PortRange"),
                        rule.get("SourceCidrIp"),
                        rule.get("SourceGroupId"),
                        rule.get("Policy"),
                    )
                ] += 1
        out[account] = c
    return out


def assert_one_link(state: dict[str, Any], *, routes_per_side: int = 1, rules_per_side: int = 2) -> None:
    """Exactly one router interface per side, one route per destination, no duplicate rule."""
    counts = link_resources(state)
    for account, role in (("account-a", "InitiatingSide"), ("account-b", "AcceptingSide")):
        c = counts.get(account, Counter())
        interfaces = {k: v for k, v in c.items() if k[0] == "router_interface"}
        assert interfaces == {("router_interface", role): 1}, f"{account}: router interfaces {interfaces}"
        routes = {k: v for k, v in c.items() if k[0] == "route"}
        assert len(routes) == routes_per_side and set(routes.values()) == {1}, f"{account}: routes {routes}"
        rules = {k: v for k, v in c.items() if k[0] == "rule"}
        assert len(rules) == rules_per_side and set(rules.values()) == {1}, f"{account}: rules {rules}"


def without_history(state: dict[str, Any]) -> dict[str, Any]:
    """The accounts' resources without Cloud Assistant history (the cloud keeps invocations too)."""
    return {
        a: {t: items for t, items in types.items() if t not in ("invocation", "command")} for a, types in state.items()
    }


def side_profiles(emu: Emulator, path: Path, roles: tuple[str, ...]) -> Path:
    """A credential profiles file holding only the profiles of ``roles`` (the example's names), as an
    operator who holds only that account would have."""
    from vpclink.profiles import AkProfile, write_profiles

    accounts = {a["name"]: a for a in emu.control("accounts")["accounts"]}
    names = {
        "initiator": ("vpclink-a", "account-a", "cn-qingdao"),
        "acceptor": ("vpclink-b", "account-b", "cn-beijing"),
    }
    profiles = []
    for role in roles:
        profile, account, region = names[role]
        a = accounts[account]
        profiles.append(AkProfile(profile, a["access_key_id"], a["access_key_secret"], region))
    return write_profiles(path, profiles)


def run_cells(phase: Any) -> None:
    """The cells of a phase notebook, in order, on a ``vpclink.notebook.Phase`` (no kernel needed)."""
    phase.show_setting()
    phase.use_peer(phase.ask_peer())
    phase.plan()
    phase.apply()
    phase.verify()
    phase.outputs()
    phase.export_card()
    phase.ledger()
    phase.check()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
