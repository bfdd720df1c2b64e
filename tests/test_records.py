"""The records a run leaves: run.json, notebooks read back, HTML, index, picture, secret scan; and
the embedded emulator's world and credential profiles."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
from runbook_support import EXAMPLE, ROOT, Emulator
from vpclink import embedded
from vpclink.params import load
from vpclink.record.html import HtmlRenderer, write_index
from vpclink.record.notebook_records import OUTPUTS_MIME, read_record
from vpclink.record.picture import link_svg
from vpclink.record.run import PhaseRecord, RunState, RunStateError, new_run_dir
from vpclink.record.secret_scan import scan_for_secrets
from vpclink.targets import Secret, TargetError, profile_secrets

PARAMS = load(EXAMPLE)
DONE = {
    "initiator_account_uid": "1637243907412983",
    "acceptor_account_uid": "1589430122237715",
    "initiator_router_interface_id": "ri-aaaa1111",
    "acceptor_router_interface_id": "ri-bbbb2222",
    "connection_status": "Active",
    "initiator_route_entry_ids": ["rte-1"],
    "acceptor_route_entry_ids": ["rte-2"],
    "initiator_rule_ids": ["sgr-1", "sgr-2"],
    "acceptor_rule_ids": ["sgr-3", "sgr-4"],
    "ping_initiator_to_acceptor": "ok",
    "ping_acceptor_to_initiator": "failed",
}


def state() -> RunState:
    return RunState(
        run_id="r1",
        link=PARAMS.link,
        params_file="p.yaml",
        params={"link": PARAMS.link},
        target="emulator",
        phases=[
            PhaseRecord("preflight", "00_preflight.ipynb", "ok", outputs={"a": 1}),
            PhaseRecord("initiator", "01_initiator.ipynb", "failed", error="CloudError: <b>no</b>"),
        ],
    )


def test_run_directories_are_named_by_utc_time_and_link(tmp_path: Path) -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    first = new_run_dir(tmp_path, "my link/1", now)
    second = new_run_dir(tmp_path, "my link/1", now)
    assert first.name == "20260102T030405Z-my-link-1" and second.name == "20260102T030405Z-my-link-1-2"


def test_run_json_round_trips_and_is_replaced_whole(tmp_path: Path) -> None:
    run_dir, created = RunState.create(tmp_path, EXAMPLE, PARAMS, target="emulator")
    with RunState.edit(run_dir) as s:
        s.phase("preflight").status, s.phase("preflight").outputs = "ok", {"a": 1}
    again = RunState.load(run_dir)
    assert again == s and again.merged_outputs() == {"a": 1} and again.run_id == created.run_id
    assert again.outputs == {"a": 1}  # the merged outputs are kept in run.json too
    assert not list(run_dir.glob("*.tmp")) and not list(run_dir.glob(".*.tmp"))  # no temporary file left
    (run_dir / "run.json").write_text("{")
    with pytest.raises(RunStateError, match="not valid JSON"):
        RunState.load(run_dir)


def test_outputs_are_read_back_from_a_saved_notebook(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    out = lambda v: nbformat.v4.new_output("display_data", data={OUTPUTS_MIME: v, "text/plain": "x"})  # noqa: E731
    nb.cells = [
        nbformat.v4.new_code_cell("a", outputs=[out({"outputs": {"k": 1}})]),
        nbformat.v4.new_code_cell("b", outputs=[out({"outputs": {"k": 2}})]),
    ]
    nbformat.write(nb, str(tmp_path / "n.ipynb"))
    assert read_record(tmp_path / "n.ipynb", OUTPUTS_MIME) == {"outputs": {"k": 2}}
    assert read_record(tmp_path / "n.ipynb", "application/other+json") is None


def test_the_picture_shows_the_whole_link_offline() -> None:
    svg = link_svg(PARAMS, DONE)
    root = ET.fromstring(svg)  # well-formed
    assert root.tag.endswith("svg")
    text = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    for expected in (
        "Account A · initiator",
        "Account B · acceptor",
        "1637243907412983",
        "cn-qingdao",
        "cn-beijing",
        "CIDR 192.168.0.0/16",
        "CIDR 172.16.0.0/16",
        "ri-aaaa1111",
        "router interface: Active",
        "connection: Active",
        "172.16.0.0/16 → router interface  [present]",
        "allow TCP 22/22 from 172.16.0.0/16  [present]",
        "ping A → B: ok",
        "ping B → A: failed",
    ):
        assert expected in text, expected
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing to fetch
    planned = link_svg(PARAMS, {})
    assert "router interface: not created" in planned and "ping A → B: not run" in planned and "[planned]" in planned


def test_index_links_the_phases_and_escapes_what_it_shows(tmp_path: Path) -> None:
    (tmp_path / "00_preflight.ipynb").write_text("{}")
    (tmp_path / "00_preflight.html").write_text("")
    page = write_index(tmp_path, state(), link_svg(PARAMS, DONE)).read_text()
    assert '<a href="00_preflight.html">HTML</a>' in page and '<a href="00_preflight.ipynb">notebook</a>' in page
    assert "<svg" in page and "CloudError: &lt;b&gt;no&lt;/b&gt;" in page and "<b>no</b>" not in page


def test_html_rendering_keeps_the_picture_inline(tmp_path: Path) -> None:
    from IPython.display import SVG

    nb = nbformat.v4.new_notebook()
    svg = SVG(link_svg(PARAMS, DONE))
    nb.cells = [
        nbformat.v4.new_code_cell(
            "phase.picture()",
            outputs=[nbformat.v4.new_output("display_data", data={"image/svg+xml": svg.data, "text/plain": "<svg>"})],
        )
    ]
    nbformat.write(nb, str(tmp_path / "06_verify.ipynb"))
    html = HtmlRenderer().render(tmp_path / "06_verify.ipynb").read_text()
    embedded_svg = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert embedded_svg and "connection: Active" in base64.b64decode(embedded_svg.group(1)).decode()


def test_the_secret_scan_names_file_and_field_never_the_value(tmp_path: Path) -> None:
    secret = "emuSecretA9f3KqZr7TnW2pXyV4bC8dL1m"
    (tmp_path / "clean.txt").write_text("nothing here")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "raw.html").write_text(f"<p>{secret}</p>")
    (tmp_path / "escaped.json").write_text(json.dumps({"x": 'a"' + secret}))
    hits = scan_for_secrets(tmp_path, [Secret("access_key_secret of profile a", secret), Secret("short", "abc")])
    assert [(h.file, h.label) for h in hits] == [
        ("escaped.json", "access_key_secret of profile a"),
        ("sub/raw.html", "access_key_secret of profile a"),
    ]
    assert secret not in repr(hits)


def test_the_example_gives_the_built_in_world_exactly() -> None:
    from alicloud_emulator.world import default_world

    world, other = embedded.world_for(PARAMS), embedded.world_for(PARAMS)
    behaviour, seed = world.pop("behaviour"), world.pop("seed")
    assert world == {k: v for k, v in default_world().items() if k not in ("behaviour", "seed")}
    assert behaviour["read_lag"]["seconds"] > 0  # the embedded emulator's lists lag, as the cloud's do
    assert seed.startswith(default_world()["seed"]) and seed != other["seed"]  # never two worlds' IDs alike


def test_other_parameters_get_a_world_with_their_ids() -> None:
    from alicloud_emulator.world import validate

    params = load(ROOT / "params" / "same-region.yaml")
    world = embedded.world_for(params, timing_scale=0)
    validate(world)
    unscaled = {"vpc_peer_accept_expiry"}  # a request's expiry is a rule of the API, not a delay
    assert {v for k, v in world["timing"].items() if k not in unscaled} == {0}
    for role, vpc in zip(("initiator", "acceptor"), world["vpcs"], strict=True):
        side = params.side(role)
        assert vpc["id"] == side.vpc_id and vpc["cidr"] == side.vpc_cidr and vpc["region"] == side.region
        assert [g["id"] for g in vpc["security_groups"]] == [side.security_group_id]
        assert [i["id"] for i in vpc["instances"]] == [side.instance_id]
    assert {a["name"] for a in world["accounts"]} == {params.initiator.profile, params.acceptor.profile}


def test_an_emulator_gives_profiles_outside_the_records_readable_by_the_owner_only(tmp_path: Path) -> None:
    emu = Emulator()
    try:
        target = embedded.attach(emu.url, PARAMS)
        path = Path(target.profiles_file)
        assert not path.is_relative_to(tmp_path)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
        profiles = json.loads(path.read_text())["profiles"]
        assert [p["name"] for p in profiles] == ["vpclink-a", "vpclink-b"]
        assert {s.value for s in target.secrets} == set(emu.secrets())
        assert "emuSecret" not in repr(target)
        target.close()
        assert not path.parent.exists()
    finally:
        emu.stop()


def test_profile_secrets_follow_chained_profiles_and_never_show_a_value(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "profiles": [
                    {
                        "name": "base",
                        "mode": "AK",
                        "access_key_id": "LTAI5tBase00000000",
                        "access_key_secret": "baseSecret000000000",
                    },
                    {
                        "name": "role",
                        "mode": "ChainableRamRoleArn",
                        "source_profile": "base",
                        "ram_role_arn": "acs:ram::1:role/x",
                    },
                ]
            }
        )
    )
    found = profile_secrets(config, ["role"])
    assert sorted(s.label for s in found) == ["access_key_id of profile base", "access_key_secret of profile base"]
    with pytest.raises(TargetError) as e:
        profile_secrets(config, ["missing"])
    assert "profile 'missing' is not in" in str(e.value) and "baseSecret" not in str(e.value)


# -- what the records show, whole, and only once -------------------------------------------------


def test_the_cells_show_no_stray_summaries_and_no_object_reprs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Machine-readable records carry no text of their own (no "3 steps timed" in a record), markdown
    reads as text where only text is shown (``-v``), and nothing prints as ``<IPython... object>``."""
    from runbook_support import run_cells
    from vpclink.notebook import PhaseNotebook, Settings, display

    shown: list[object] = []
    monkeypatch.setattr(display, "_display", lambda *objs, raw=False: shown.extend(objs))
    for name in ("initiator", "verify"):
        run_cells(PhaseNotebook(Settings.read(name, params_file=str(EXAMPLE))))
    bundles = [o for o in shown if isinstance(o, dict)]
    assert bundles and all(isinstance(o, dict) or hasattr(o, "_repr_html_") for o in shown)
    for bundle in bundles:
        vpclink_records = [k for k in bundle if k.startswith("application/vnd.vpclink.")]
        assert not vpclink_records or set(bundle) == set(vpclink_records), bundle  # nothing else beside a record
        assert not str(bundle.get("text/plain", "")).startswith("<IPython"), bundle

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("phase.plan()")]
    nb.cells[0].outputs = [nbformat.v4.new_output("display_data", data=b) for b in bundles]
    path = tmp_path / "01_initiator.ipynb"
    nbformat.write(nb, str(path))
    html = HtmlRenderer().render(path).read_text()
    assert "steps timed" not in html and "planned steps" not in html and " rows<" not in html
    assert "Offline plan from the parameters only" in html


def test_a_long_value_in_the_index_is_cut_only_with_the_whole_value_one_click_away(tmp_path: Path) -> None:
    long_output = "PING 172.16.1.10 (172.16.1.10) 56(84) bytes of data.\n64 bytes from 172.16.1.10: icmp_seq=1"
    s = state()
    s.phases[0].outputs = {"ping_initiator_to_acceptor_output": long_output, "peer_region": "cn-qingdao"}
    write_index(tmp_path, s, "<svg/>")
    index = (tmp_path / "index.html").read_text()
    assert "<details><summary>PING 172.16.1.10 (172.16.1.10) 56(84) bytes of data.…</summary>" in index
    assert "icmp_seq=1</pre></details>" in index and "peer_region=cn-qingdao" in index


def test_plan_tables_show_every_value_whole() -> None:
    import pandas as pd
    from vpclink.notebook.display import full_table

    detail = (
        "AcceptingSide Negative on vrt-2ze2tutorialvrt2bj00001 to vrt-m5e1tutorialvrt1qd00001 in cn-qingdao "
        "(account 1637243907412983)"
    )
    table = full_table(pd.DataFrame([{"detail": detail}]))
    assert detail in table._repr_html_() and detail in repr(table)
    assert detail not in pd.DataFrame([{"detail": detail}])._repr_html_()  # what pandas alone would show
