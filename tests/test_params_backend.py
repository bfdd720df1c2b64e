"""``backend: router_interface | vpc_peer`` in the link parameter file: the default, what each backend
takes, and what is refused (naming the field and what would be valid) before any call."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
import yaml
from vpclink import params
from vpclink.cli import main
from vpclink.params import ParamsError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "params" / "example.yaml"
SAME_REGION = ROOT / "params" / "same-region.yaml"
PEERING = ROOT / "params" / "example-peering.yaml"


def doc(path: Path = EXAMPLE, **changes: object) -> dict:
    data = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def refused(data: dict) -> dict[str, str]:
    with pytest.raises(ParamsError) as info:
        params.parse(data, "test.yaml")
    return {e.field: e.message for e in info.value.errors}


def test_the_default_backend_is_router_interface() -> None:
    p = params.parse(doc())
    assert p.backend == "router_interface" and p.spec == "Mini.2"
    assert p.capacity == "2 Mbps (Mini.2)"


def test_vpc_peer_needs_no_bandwidth_and_has_no_spec() -> None:
    p = params.parse(doc(backend="vpc_peer", bandwidth_mbps=None))
    assert p.backend == "vpc_peer" and p.bandwidth_mbps is None
    assert "across regions" in p.capacity
    with pytest.raises(ValueError, match="no router interface Spec"):
        _ = p.spec
    same = params.parse(doc(SAME_REGION, backend="vpc_peer", bandwidth_mbps=None, spec=None))
    assert same.same_region and "within one region" in same.capacity


def test_vpc_peer_across_regions_takes_a_bandwidth() -> None:
    p = params.parse(doc(backend="vpc_peer", bandwidth_mbps=100))
    assert p.bandwidth_mbps == 100 and p.capacity == "VPC peering across regions, 100 Mbps"


def test_the_peering_example_loads() -> None:
    p = params.load(PEERING)
    assert p.backend == "vpc_peer" and p.same_region is False


@pytest.mark.parametrize("value", ["vpc-peer", "peering", "", 3, ["vpc_peer"], "VPC_PEER"])
def test_a_bad_backend_is_refused_naming_the_field_and_the_valid_values(value: object) -> None:
    errors = refused(doc(backend=value))
    assert list(errors) == ["backend"], errors
    assert "router_interface" in errors["backend"] and "vpc_peer" in errors["backend"]


def test_a_typo_of_a_backend_gets_a_suggestion() -> None:
    assert "did you mean 'vpc_peer'?" in refused(doc(backend="vpc-peer"))["backend"]


def test_a_router_interface_setting_on_vpc_peer_is_refused_naming_it() -> None:
    errors = refused(doc(backend="vpc_peer", spec="Mini.2"))
    assert list(errors) == ["spec"]
    assert "vpc_peer" in errors["spec"] and "leave spec out" in errors["spec"]
    # a spec that also disagrees with the bandwidth is refused once, for being on the wrong backend
    assert list(refused(doc(backend="vpc_peer", spec="Large.2"))) == ["spec"]


def test_router_interface_still_requires_its_bandwidth() -> None:
    errors = refused(doc(bandwidth_mbps=None))
    assert list(errors) == ["bandwidth_mbps"] and errors["bandwidth_mbps"].startswith("required")
    errors = refused(doc(backend="router_interface", bandwidth_mbps=None))
    assert list(errors) == ["bandwidth_mbps"]


def test_a_bad_backend_does_not_hide_other_problems() -> None:
    errors = refused(doc(backend="vpcpeer", link="1-starts-with-a-digit"))
    assert set(errors) == {"backend", "link"}


def test_check_refuses_a_bad_backend_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc(backend="express")))
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(["check", str(path)])
    assert code == 2
    assert "backend:" in out.getvalue() and "vpc_peer" in out.getvalue()


def test_check_describes_a_peering_link(tmp_path: Path) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(["check", str(PEERING)])
    assert code == 0, out.getvalue()
    assert "VPC peering across regions" in out.getvalue()


def test_a_peering_link_name_must_fit_the_peering_name_rule() -> None:
    errors = refused(doc(backend="vpc_peer", link="tutorial.peering"))
    assert list(errors) == ["link"] and "without '.'" in errors["link"]
    assert params.parse(doc(link="tutorial.peering")).link == "tutorial.peering"  # router interfaces take it
