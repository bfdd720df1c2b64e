"""The ``vpclink`` command's refusals: bad parameters, bad options, unreachable targets. Each is
refused with a message that says what is wrong, before any API call."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from runbook_support import BAD_PARAMS, EXAMPLE, Emulator
from vpclink import embedded
from vpclink.cli import main
from vpclink.params import load

BAD_FILES = sorted(BAD_PARAMS.glob("*.yaml"))
FIELD_LINE = re.compile(r"^[\w.\[\]()-]+: \S")


@pytest.fixture(scope="module")
def emu() -> Emulator:
    e = Emulator()
    yield e
    e.stop()


def test_there_are_many_bad_parameter_files() -> None:
    assert len(BAD_FILES) >= 20


def test_check_accepts_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLE)]) == 0
    assert "valid" in capsys.readouterr().out


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_check_refuses_a_bad_file_with_one_line_per_bad_field(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and all(FIELD_LINE.match(line) for line in err), err


def test_run_on_every_bad_file_exits_2_and_makes_no_call(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seq = emu.last_seq()
    for path in BAD_FILES:
        assert main(["run", str(path), "--records", str(tmp_path), "--emulator", emu.url]) == 2, path.name
        assert capsys.readouterr().err.strip(), path.name
    assert emu.journal(since=seq) == []
    assert list(tmp_path.iterdir()) == []  # no record, no emulator state


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["run", str(EXAMPLE), "--from", "nowhere"],
            "--from nowhere: not a phase; phases in order: preflight, initiator",
        ),
        (["run", str(EXAMPLE), "--from", "routes", "--to", "initiator"], "--from routes comes after --to initiator"),
        (["run"], "give PARAMS, or --resume RUN_DIR"),
        (["run", str(EXAMPLE), "--target", "alibabacloud", "--emulator", "http://127.0.0.1:9"], "exclude each other"),
    ],
)
def test_bad_options_exit_2_with_a_message(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--records", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_resume_needs_a_run_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--resume", str(tmp_path)]) == 2
    assert "no run.json" in capsys.readouterr().err


def test_an_unreachable_emulator_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(EXAMPLE), "--records", str(tmp_path), "--emulator", "http://127.0.0.1:9"]) == 1
    assert "no emulator answers at http://127.0.0.1:9" in capsys.readouterr().err


def test_an_emulator_without_the_parameters_vpcs_is_refused(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = yaml.safe_load(EXAMPLE.read_text())
    other["acceptor"]["vpc_id"] = "vpc-2ze2notinthisworld00001"
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(other))
    assert main(["run", str(path), "--records", str(tmp_path / "runs"), "--emulator", emu.url]) == 1
    assert "acceptor.vpc_id: no account of the emulator owns vpc-2ze2notinthisworld00001" in capsys.readouterr().err


def test_the_real_cloud_needs_the_named_profiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    real = ["run", str(EXAMPLE), "--records", str(tmp_path / "runs"), "--target", "alibabacloud", "--yes"]
    assert main(real) == 1
    err = capsys.readouterr().err
    assert "config.json does not exist" in err and "aliyun configure --profile" in err
    config = tmp_path / ".aliyun" / "config.json"
    config.parent.mkdir()
    secret = "NotARealSecretButLongEnough1234"
    config.write_text(
        json.dumps(
            {
                "profiles": [
                    {
                        "name": "vpclink-a",
                        "mode": "AK",
                        "access_key_id": "LTAI5tNotReal0000",
                        "access_key_secret": secret,
                    }
                ]
            }
        )
    )
    assert main(real) == 1
    err = capsys.readouterr().err
    assert "profile 'vpclink-b' is not in" in err and secret not in err
    assert not (tmp_path / "runs").exists()


def test_emulator_reset_and_world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VPCLINK_STATE_DIR", str(tmp_path / "state"))
    embedded.start(load(EXAMPLE), tmp_path, timing_scale=0).close()
    assert list(embedded.state_dir().glob(f"{embedded.STATE_DB}*"))
    assert main(["emulator", "reset", "--records", str(tmp_path)]) == 0
    assert not list(embedded.state_dir().glob(f"{embedded.STATE_DB}*"))
    capsys.readouterr()
    assert main(["emulator", "world", str(EXAMPLE)]) == 0
    world = yaml.safe_load(capsys.readouterr().out)
    assert [v["id"] for v in world["vpcs"]] == ["vpc-m5e1tutorialvpc1qd00001", "vpc-2ze2tutorialvpc2bj00001"]


def test_version_names_vpclink_and_the_sdks(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("vpclink ") and "SDKs: vpc20160428 " in out
