"""RAM role profiles through the CLI: ``vpclink run FLEET --emulator URL --profiles FILE`` signs every
link's calls with the user's own ``RamRoleArn`` profiles (one central account's key, a role in each
member account) instead of AccessKey profiles of the emulator's accounts. The emulator runs in this
process (its STS serves the roles); the fleet command runs in a subprocess, each link in its own, as a
user's would. ``--profiles`` where it cannot apply is refused with exit 2 before any API call."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from alicloud_emulator.world import default_world, with_timing
from emulator.conftest import start_emulator
from phase_support import own_state  # noqa: F401  (autouse: private vpclink state)
from test_fleet_e2e import vpclink
from test_ram_roles import FLEET, MEMBER_PRODUCTS, ROLE, arn, with_central
from vpclink import cli, embedded
from vpclink.fleet import command as fleet_command
from vpclink.fleet import load_fleet
from vpclink.fleet.world import world_for_fleet
from vpclink.params import load
from vpclink.record.run import RunState
from vpclink.record.secret_scan import scan_for_secrets
from vpclink.targets import Secret

EXAMPLE = Path(__file__).resolve().parent.parent / "params" / "example.yaml"


def role_profiles(path: Path, central: dict[str, Any], roles: dict[str, str]) -> Path:
    """The Alibaba Cloud CLI's config.json: one ``RamRoleArn`` profile per name -> role ARN, every one
    with the central account's key (as ``aliyun configure --mode RamRoleArn`` writes them)."""
    profiles = [
        {
            "name": name,
            "mode": "RamRoleArn",
            "access_key_id": central["access_key_id"],
            "access_key_secret": central["access_key_secret"],
            "ram_role_arn": role,
            "ram_session_name": f"vpclink-{name}",
            "expired_seconds": 3600,
            "region_id": "cn-hangzhou",
        }
        for name, role in roles.items()
    ]
    path.write_text(json.dumps({"current": profiles[0]["name"], "profiles": profiles}))
    path.chmod(0o600)
    return path


@pytest.mark.e2e
def test_a_fleet_runs_on_a_running_emulator_through_the_users_ram_role_profiles(tmp_path: Path) -> None:
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(yaml.safe_dump(FLEET, sort_keys=False))
    world = world_for_fleet(load_fleet(fleet_file))
    members = [a["name"] for a in world["accounts"]]
    emu = start_emulator(with_central(with_timing(world, scale=0), members))
    try:
        accounts = {a["name"]: a for a in emu.control("accounts")["accounts"]}
        central = accounts["central"]  # its key, as the emulator lists it
        owner = {v["VpcId"]: name for name, held in emu.state().items() for v in held.get("vpc", [])}
        profile_account = {vpc["profile"]: owner[vpc["vpc_id"]] for vpc in FLEET["vpcs"].values()}
        assert "central" not in profile_account.values()
        profiles = role_profiles(
            tmp_path / "config.json", central, {p: arn(accounts[a]["uid"]) for p, a in profile_account.items()}
        )

        code, out = vpclink(
            "run", str(fleet_file), "--emulator", emu.url, "--profiles", str(profiles), "--records", "runs",
            "--max-concurrency", "2", cwd=tmp_path,
        )  # fmt: skip
        assert code == 0, out

        (run_dir,) = (tmp_path / "runs").iterdir()
        record = json.loads((run_dir / "fleet.json").read_text())
        assert [link["state"] for link in record["links"]] == ["verified", "verified"], record["links"]
        assert record["history"][-1]["target"] == ["--emulator", emu.url, "--profiles", str(profiles.resolve())]
        by_name = {link.name: link for link in load_fleet(fleet_file).links}
        for link in record["links"]:
            link_dir = run_dir / link["run_dir"]
            link_run = json.loads((link_dir / "run.json").read_text())
            assert link_run["result"] == "verified"
            # the path of the profiles file, never its content: a resume and a teardown use it again
            assert link_run["profiles_file"] == str(profiles.resolve())
            params = by_name[link["name"]].params
            roles = {arn(accounts[profile_account[params.side(r).profile]]["uid"]) for r in ("initiator", "acceptor")}
            lines = [json.loads(line) for line in (link_dir / "ledger.jsonl").read_text().splitlines()]
            assert lines and {line["role"] for line in lines} == roles, link["name"]

        # every VPC/ECS call a role session in a member account; the central key only assumed the roles
        entries = emu.control("journal")["entries"]
        member = [e for e in entries if e.get("product") in MEMBER_PRODUCTS]
        assert member
        for e in member:
            assert e["account"] in members and e.get("role_arn") == arn(accounts[e["account"]]["uid"]), e
            assert e.get("role_session", "").startswith("vpclink-"), e
        assumed = [e for e in entries if e["action"] == "AssumeRole"]
        assert assumed and all(e["account"] == "central" for e in assumed)
        assert not [e for e in entries if e["account"] == "central" and e["action"] != "AssumeRole"]
        assert "central" not in emu.state() or not any(emu.state()["central"].values())
        assert all(ROLE in e["role_arn"] for e in member)

        # no key of the profiles file in any record
        keys = [Secret("central access_key_id", central["access_key_id"])]
        keys.append(Secret("central access_key_secret", central["access_key_secret"]))
        assert not scan_for_secrets(run_dir, keys)
        assert central["access_key_secret"] not in out and central["access_key_id"] not in out

        # a link continued from its run directory, without the option, signs with the file it recorded
        link_dir = run_dir / record["links"][0]["run_dir"]
        state = RunState.load(link_dir)
        params = load(link_dir / "params.yaml")
        args = argparse.Namespace(target=None, emulator=None, profiles="", capture="", side=None, peer_card=None)
        with cli._target(args, params, run_dir, state) as target:
            assert (target.profiles_file, target.given_profiles) == (str(profiles.resolve()),) * 2
            assert {s.value for s in target.secrets} == {central["access_key_id"], central["access_key_secret"]}
    finally:
        emu.server.stop()


def test_profiles_where_they_cannot_apply_are_refused_before_any_call(tmp_path: Path, capsys) -> None:
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(yaml.safe_dump(FLEET, sort_keys=False))
    central = {"access_key_id": "LTAI5tEmuCentralRefused", "access_key_secret": "emuSecretCentralRefusedXyz123"}
    profiles = role_profiles(tmp_path / "config.json", central, {"vpclink-a": arn("1637243907412983")})
    db = embedded.state_dir() / embedded.STATE_DB
    # the embedded emulator writes its own profiles: --profiles names --emulator URL and --target alibabacloud
    for argv in (
        ["run", str(EXAMPLE)],
        ["plan", str(EXAMPLE), "--target", "emulator"],
        ["teardown", str(EXAMPLE)],
        ["run", str(fleet_file)],
        ["teardown", str(fleet_file)],
    ):
        assert cli.main([*argv, "--profiles", str(profiles), "--records", str(tmp_path / "runs")]) == 2, argv
        err = capsys.readouterr().err
        assert "--profiles" in err and "--emulator URL" in err and "--target alibabacloud" in err, err
        assert central["access_key_secret"] not in err
    assert not db.exists() and not (tmp_path / "runs").exists()

    # a fleet continued from its run directory gives its links the profiles file its last command gave
    recorded = ("--emulator", "http://127.0.0.1:9", "--profiles", str(profiles))
    again = argparse.Namespace(command="teardown", target=None, emulator=None, profiles="", dry_run=False, yes=False)
    assert fleet_command._target_args(again, recorded) == (*recorded[:3], str(profiles.resolve()))

    # a running emulator, a profiles file without the profile the parameters name: exit 2, no call
    emu = start_emulator(with_central(with_timing(default_world(), scale=0), ["account-a", "account-b"]))
    try:
        code = cli.main(
            ["run", str(EXAMPLE), "--emulator", emu.url, "--profiles", str(profiles), "--records", str(tmp_path)]
        )
        err = capsys.readouterr().err
        assert code == 2, err
        assert "acceptor.profile" in err and "vpclink-b" in err and central["access_key_secret"] not in err
        assert emu.control("journal")["entries"] == []
    finally:
        emu.server.stop()
