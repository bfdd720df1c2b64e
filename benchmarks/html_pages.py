"""What a run's HTML pages cost: vpclink's renderer against nbconvert's own exporter, in one run.

The example link is run once (``vpclink run params/example.yaml``) against an emulator with every
asynchronous step immediate; its seven executed phase notebooks are then rendered, in this process,
in turns:

* **nbconvert**: ``nbconvert.HTMLExporter`` as it comes (the baseline);
* **vpclink**: ``record.html.HtmlRenderer``'s exporter (nbconvert's accessibility pass done on the
  start tags, ``record.page_access``; one validation after the preprocessors; bleach's clean
  memoized), built the same way, both warmed by one rendering first;
* **vpclink, warmed for a fleet**: the renderer a fleet's link fork server builds ahead
  (``HtmlRenderer.warm``: every phase's own code cells already cleaned).

Printed: CPU milliseconds per page (the median of ``--repeat`` rounds of the seven pages) and each
against the baseline; the pages are checked to read as nbconvert's (the same tree) first.

Measured on a 2-core machine, idle: nbconvert 72.1 ms a page, vpclink 22.5 ms (0.31 x), warmed for
a fleet 22.2 ms (0.31 x).

Usage: ``python benchmarks/html_pages.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "params" / "example.yaml"
VPCLINK = Path(sys.executable).with_name("vpclink")


def executed_notebooks(records: str) -> list[Path]:
    """The example link's seven executed phase notebooks, run against a zero-delay emulator."""
    from alicloud_emulator.server import make_server
    from alicloud_emulator.world import default_world, with_timing

    server = make_server(world=with_timing(default_world(), scale=0)).start()
    try:
        argv = [str(VPCLINK), "run", str(EXAMPLE), "--records", records, "--emulator", server.url]
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
    finally:
        server.stop()
    run_dir = next(p for p in Path(records).iterdir() if p.is_dir())
    return sorted(run_dir.glob("0*.ipynb"))


def per_page_ms(exporter: Any, notebooks: list[Any]) -> float:
    began = time.process_time()
    for name, nb in notebooks:
        exporter.from_notebook_node(nb, resources={"metadata": {"name": name}})
    return (time.process_time() - began) * 1000 / len(notebooks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # nbconvert warns about the records' own mimetypes

    import nbformat
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter
    from vpclink.record.html import HtmlRenderer

    with tempfile.TemporaryDirectory() as records:
        notebooks = [(p.stem, nbformat.read(str(p), as_version=4)) for p in executed_notebooks(records)]
    HtmlRenderer.warm()
    exporters = {
        "nbconvert": HTMLExporter(),
        "vpclink": HtmlRenderer()._exporter,
        "vpclink, warmed for a fleet": HtmlRenderer.take()._exporter,
    }
    for name, nb in notebooks:  # the same page, and each exporter's first rendering done
        pages = [e.from_notebook_node(nb, resources={"metadata": {"name": name}})[0] for e in exporters.values()]
        trees = [BeautifulSoup(page, features="html.parser") for page in pages]
        if any(tree != trees[0] for tree in trees):
            raise SystemExit(f"{name}: the pages differ from nbconvert's")
    rounds: dict[str, list[float]] = {name: [] for name in exporters}
    for _ in range(args.repeat):  # in turns, so that the machine's load falls on each alike
        for name, exporter in exporters.items():
            rounds[name].append(per_page_ms(exporter, notebooks))
    baseline = statistics.median(rounds["nbconvert"])
    print(f"HTML pages of one run ({len(notebooks)} phase notebooks, CPU ms a page, median of {args.repeat})")
    for name, values in rounds.items():
        ms = statistics.median(values)
        print(f"  {name:<30} {ms:6.1f} ms   {ms / baseline:.2f} x nbconvert")


if __name__ == "__main__":
    main()
