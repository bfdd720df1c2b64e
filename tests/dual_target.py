"""Dual-target end-to-end tests: the same test against the emulator and, when real accounts are given,
against Alibaba Cloud (issue 7.3).

``dual_target`` is a fixture parametrized ``emulator`` / ``alibabacloud``. The emulator run always
happens. The real-cloud run happens when both environment variables are set, and is otherwise skipped
with a reason that says how to enable it (``pytest -ra``, the project's default, lists it in the
summary):

* ``VPCLINK_REAL_PROFILES``: an Alibaba Cloud CLI profiles file (``~/.aliyun/config.json`` format)
  holding the two profiles the parameter file names;
* ``VPCLINK_REAL_PARAMS``: a link's parameter file for two real VPCs of two accounts.

A real run creates paid resources (two router interfaces, pay-as-you-go) and tears them down in the
same test. Use the marker ``dual_target`` to select these tests (``pytest -m dual_target``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from adversarial_support import lagging_world
from runbook_support import EXAMPLE, Emulator
from vpclink import naming
from vpclink import params as P
from vpclink.cloud import Cloud
from vpclink.phases import lookup
from vpclink.phases.base import PhaseContext
from vpclink.profiles import AkProfile, write_profiles
from vpclink.waits import Progress

REAL_PROFILES = "VPCLINK_REAL_PROFILES"
REAL_PARAMS = "VPCLINK_REAL_PARAMS"
HOW = (
    f"REAL CLOUD NOT TESTED: set {REAL_PROFILES}=<an Alibaba Cloud CLI profiles file> and "
    f"{REAL_PARAMS}=<a link's parameter file naming two of its profiles> to run this test against two real "
    "accounts too (it creates, then tears down, two pay-as-you-go router interfaces)"
)
VPCLINK = str(Path(sys.executable).with_name("vpclink"))


@dataclass
class DualTarget:
    """Where a dual-target test runs: the parameters, the CLI options and environment that reach the
    target, and a read-only view of what the link holds there."""

    name: str  # "emulator" | "alibabacloud"
    params_file: Path
    profiles_file: Path
    options: list[str]
    env: dict[str, str]
    endpoint: str | None = None
    emulator: Emulator | None = None
    calls: list[str] = field(default_factory=list)

    @property
    def params(self) -> P.LinkParams:
        return P.load(str(self.params_file))

    def vpclink(self, *argv: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """The installed ``vpclink`` command with this target's options (after the subcommand)."""
        command, *rest = argv
        self.calls.append(" ".join(argv))
        return subprocess.run(
            [VPCLINK, command, *rest, *self.options],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
        )

    def inventory_settles_to(
        self, expected: dict[str, dict[str, int]], timeout: float = 120
    ) -> dict[str, dict[str, int]]:
        """The inventory once it equals ``expected``, or the last one read when ``timeout`` passes: the
        lists it reads lag behind the writes (3 s on the emulator, an unknown while in the cloud)."""
        deadline = time.monotonic() + timeout
        while (seen := self.inventory()) != expected and time.monotonic() < deadline:
            time.sleep(1)
        return seen

    def inventory(self) -> dict[str, dict[str, int]]:
        """Per side: this link's router interfaces (by name), the routes through them and the rules
        with the link's marks, read with vpclink's own read-only lookups."""
        params = self.params
        cloud = Cloud(params, endpoint=self.endpoint, profiles_file=str(self.profiles_file), ledger=None, phase="check")
        ctx = PhaseContext(params, cloud, {}, "inventory", "check", Progress("silent"))
        out: dict[str, dict[str, int]] = {}
        with cloud.read_only():
            for role in ("initiator", "acceptor"):
                ri = lookup.router_interface_by_name(ctx, role)
                routes = 0
                if ri is not None:
                    table = lookup.route_table_id(ctx, role)
                    hop = str(ri["RouterInterfaceId"])
                    routes = len([e for e in lookup.route_entries(ctx, role, table) if hop in lookup.next_hop_ids(e)])
                group = lookup.security_group(ctx, role) or {}
                rules = [
                    r
                    for r in lookup.items(group, "Permissions", "Permission")
                    if naming.is_ours(str(r.get("Description", "")), params.link, role)
                ]
                out[role] = {"router_interfaces": int(ri is not None), "routes": routes, "rules": len(rules)}
        return out


def emulator_target(tmp_path: Path, world: dict[str, Any] | None = None, params_file: Path = EXAMPLE) -> DualTarget:
    """The emulator side of a dual-target test (lists lagging 3 s unless ``world`` says otherwise)."""
    world = world if world is not None else lagging_world(3.0)
    emu = Emulator(world=world)
    lag = ((world.get("behaviour") or {}).get("read_lag") or {}).get("seconds") or 0
    if lag:
        emu.control("clock", {"advance": lag})  # the accounts' VPCs are older than the lag
    accounts = emu.control("accounts")["accounts"]
    params = P.load(str(params_file))
    names = [params.initiator.profile, params.acceptor.profile]
    profiles = tmp_path / "emulator-profiles.json"
    write_profiles(
        profiles,
        [AkProfile(n, a["access_key_id"], a["access_key_secret"]) for n, a in zip(names, accounts, strict=False)],
    )
    return DualTarget(
        "emulator",
        params_file,
        profiles,
        ["--emulator", emu.url],
        dict(os.environ),
        endpoint=emu.server.endpoint,
        emulator=emu,
    )


def real_target(tmp_path: Path) -> DualTarget:
    profiles, params = os.environ.get(REAL_PROFILES), os.environ.get(REAL_PARAMS)
    if not (profiles and params):
        pytest.skip(HOW)
    if not Path(profiles).is_file() or not Path(params).is_file():
        pytest.fail(f"{REAL_PROFILES}={profiles} and {REAL_PARAMS}={params} must both be files")
    # vpclink reads the Alibaba Cloud CLI's ~/.aliyun/config.json: give the commands a home with that file
    home = tmp_path / "home"
    (home / ".aliyun").mkdir(parents=True)
    (home / ".aliyun" / "config.json").symlink_to(Path(profiles).resolve())
    env = dict(os.environ, HOME=str(home))
    return DualTarget("alibabacloud", Path(params), Path(profiles), ["--target", "alibabacloud", "--yes"], env)


@pytest.fixture(params=["emulator", "alibabacloud"])
def dual_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DualTarget]:
    target = emulator_target(tmp_path) if request.param == "emulator" else real_target(tmp_path)
    try:
        yield target
    finally:
        if target.emulator is not None:
            target.emulator.stop()
