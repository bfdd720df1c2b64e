"""environment.yml (for conda users) must install exactly what pyproject.toml declares."""

from __future__ import annotations

from pathlib import Path

import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parent.parent


def _pyproject_requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return {Requirement(r).name.lower(): Requirement(r) for r in reqs}


def _environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def test_pip_list_agrees_with_pyproject():
    env = _environment()
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "-e ." in pip, "environment.yml must install the project itself"
    listed = {Requirement(r).name.lower(): Requirement(r) for r in pip if not r.startswith("-")}
    declared = _pyproject_requirements()
    assert listed.keys() == declared.keys(), (
        f"only in environment.yml: {sorted(listed.keys() - declared.keys())}; "
        f"only in pyproject.toml: {sorted(declared.keys() - listed.keys())}"
    )
    for name, req in declared.items():
        assert listed[name].specifier == req.specifier, f"{name}: {listed[name].specifier} != {req.specifier}"


def test_python_version_satisfies_requires_python():
    env = _environment()
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert SpecifierSet(requires).contains(python.split("=", 1)[1] + ".0")
