"""After a migration the link's parameter file names the backend the link runs on, so that later runs
and teardowns act on what exists; the operator's comments stay, and a file the edit cannot handle is
left alone with the change to make named."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
import yaml
from phase_support import EXAMPLE
from vpclink.migrate.params_file import record_backend
from vpclink.params import load

PEERING = EXAMPLE.with_name("example-peering.yaml")


def copy(tmp_path: Path, source: Path) -> Path:
    target = tmp_path / source.name
    shutil.copyfile(source, target)
    target.chmod(0o640)
    return target


def test_a_router_interface_link_file_then_names_vpc_peer_and_keeps_its_comments(tmp_path: Path) -> None:
    path = copy(tmp_path, EXAMPLE)
    before = path.read_text()
    message = record_backend(path, "vpc_peer")
    assert "now says `backend: vpc_peer`" in message
    assert load(path).backend == "vpc_peer"
    after = path.read_text()
    assert [line for line in after.splitlines() if line not in before.splitlines()] == [
        "backend: vpc_peer  # set by vpclink migrate"
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_moving_back_replaces_the_value_in_place(tmp_path: Path) -> None:
    path = copy(tmp_path, PEERING)
    record_backend(path, "router_interface")
    assert load(path).backend == "router_interface"
    lines = path.read_text().splitlines()
    (line,) = [x for x in lines if x.startswith("backend:")]
    assert line.startswith("backend: router_interface") and "# router_interface (the default) or vpc_peer" in line


def test_a_spec_the_peering_refuses_is_commented_out_not_lost(tmp_path: Path) -> None:
    path = copy(tmp_path, EXAMPLE)
    path.write_text(path.read_text().replace("\nlink:", "\nspec: Mini.2\nlink:", 1))
    assert load(path).backend == "router_interface"
    record_backend(path, "vpc_peer")
    assert load(path).backend == "vpc_peer"
    assert any(x.startswith("# spec: Mini.2") for x in path.read_text().splitlines())
    record_backend(path, "router_interface")  # and back: the file still loads
    assert load(path).backend == "router_interface"


@pytest.mark.parametrize("layout", ["flow", "missing"])
def test_a_file_the_edit_cannot_handle_is_left_alone_and_the_change_named(tmp_path: Path, layout: str) -> None:
    path = tmp_path / "link.yaml"
    if layout == "flow":
        path.write_text(yaml.safe_dump(yaml.safe_load(EXAMPLE.read_text()), default_flow_style=True))
        assert load(path).backend == "router_interface"  # a valid link file, in a layout the edit does not know
    before = path.read_text() if path.exists() else None
    message = record_backend(path, "vpc_peer")
    assert f"set `backend: vpc_peer` in {path} yourself" in message
    assert (path.read_text() if path.exists() else None) == before
    assert [p.name for p in tmp_path.iterdir()] == ([path.name] if before is not None else [])
