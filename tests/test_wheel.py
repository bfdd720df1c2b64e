"""The wheel works anywhere: built from the checkout, installed (not editable) into a fresh virtual
environment, it runs the example it ships from an empty directory to "verified".

The fresh environment takes vpclink from the wheel alone; the dependencies are reused from the
project's environment through a path file (nothing is downloaded), so the test stays fast.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from runbook_support import ROOT


def run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.slow
def test_the_installed_wheel_runs_the_example_from_an_empty_directory(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, ROOT)
    wheel = next(dist.glob("vpclink-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in (
        "vpclink/examples/example.yaml",  # the example, for `vpclink example`
        "vpclink/notebook/template.py",  # the notebooks' template and generator
        "vpclink/notebook/generate.py",
        "alicloud_emulator/__init__.py",  # the embedded emulator and its built-in world
    ):
        assert shipped in names, shipped
    assert any(n.startswith("alicloud_emulator/") and n.endswith(".yaml") for n in names)

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    fresh = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    # the project's dependencies, without its editable vpclink (a path line's own .pth files are not read)
    (fresh / "project-dependencies.pth").write_text(
        "\n".join({sysconfig.get_paths()["purelib"], *site.getsitepackages()}) + "\n"
    )
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "--quiet", wheel)

    empty = tmp_path / "anywhere"
    empty.mkdir()
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("PYTHONPATH", None)
    # the reused dependencies' data (nbconvert's HTML templates), where their own install would put it
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    where = run(python, "-c", "import vpclink; print(vpclink.__file__)", cwd=empty, env=env)
    assert Path(where.strip()).is_relative_to(venv), where

    vpclink = venv / "bin" / "vpclink"
    assert "vpclink example > link.yaml" in run(vpclink, "--help", cwd=empty, env=env)
    (empty / "link.yaml").write_text(run(vpclink, "example", cwd=empty, env=env))
    assert (empty / "link.yaml").read_text() == (ROOT / "params" / "example.yaml").read_text()
    out = run(vpclink, "run", "link.yaml", cwd=empty, env=env)
    assert "result: verified" in out and "rendering failed" not in out, out
    records = [p for p in (empty / "runs").iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(records) == 1 and (records[0] / "06_verify.html").exists()
    run_json = (records[0] / "run.json").read_text()
    assert '"commit": null' in run_json  # installed, not a checkout: the version alone says what ran
