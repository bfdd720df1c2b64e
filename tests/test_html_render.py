"""A phase's HTML page is nbconvert's page: the renderer's faster accessibility pass
(``record.page_access``) and its memo of bleach's clean change how long a page takes, not what it says."""

from __future__ import annotations

import warnings
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter
from vpclink import phases
from vpclink.notebook.template import notebook
from vpclink.record import page_access
from vpclink.record.html import HtmlRenderer

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="  # 1x1


def _notebook() -> nbformat.NotebookNode:
    """Every kind of cell and output a phase page has, and the tags nbconvert's pass looks for."""
    v4 = nbformat.v4
    table = pd.DataFrame({"step": ["create", "wait"], "resource": ["ri-1 <b>", "ri-2 & co"]}).to_html()
    markdown = (
        "# Initiator\n\nWhat this phase does, with `code` and a [link](https://example.com).\n\n"
        '<img src="diagram.png"> <img src="other.png" alt="the other one">\n\n'
        '<div class="jp-OutputArea-output" tabindex="5">already focusable, set to 0</div>\n\n'
        "In&nbsp;[1] &lt;b&gt; &amp;"
    )
    cells = [
        v4.new_markdown_cell(markdown),
        v4.new_code_cell('params_file = "p.yaml"  # a comment', metadata={"tags": ["parameters"]}),
        v4.new_code_cell(
            "phase.plan()",
            execution_count=3,
            outputs=[
                v4.new_output("stream", name="stdout", text="waiting: 2 s <of 60>\n"),
                v4.new_output("display_data", data={"text/html": table, "text/plain": "a table"}),
                v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
                v4.new_output(
                    "display_data",
                    data={"text/html": "<script>var s = '<img src=x>';</script><p>after</p>", "text/plain": "x"},
                ),
                v4.new_output("execute_result", data={"text/plain": "'done'"}, execution_count=3),
            ],
        ),
        v4.new_code_cell(
            "phase.apply()",
            execution_count=4,
            outputs=[v4.new_output("error", ename="CloudError", evalue="Throttling.User", traceback=["\x1b[31mboom"])],
        ),
        v4.new_code_cell(""),
    ]
    return v4.new_notebook(cells=cells, metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}})


def _stock(nb: nbformat.NotebookNode, name: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return HTMLExporter().from_notebook_node(nb, resources={"metadata": {"name": name}})[0]


def _tree(page: str) -> BeautifulSoup:
    return BeautifulSoup(page, features="html.parser")


def test_a_page_reads_as_nbconverts_own_page(tmp_path: Path) -> None:
    nb = _notebook()
    nbformat.write(nb, str(tmp_path / "02_initiator.ipynb"))
    renderer = HtmlRenderer()
    ours = renderer.render(tmp_path / "02_initiator.ipynb").read_text()
    stock = _stock(nb, "02_initiator")
    assert _tree(ours) == _tree(stock)
    soup = _tree(ours)
    focusable = soup.select(".jp-Notebook div.jp-Cell-inputWrapper, .jp-Notebook div.jp-OutputArea-output")
    assert len(focusable) >= 8 and all(e.get("tabindex") == "0" for e in focusable)
    images = soup.find_all("img")
    assert [i.get("alt") for i in images] == [page_access.MISSING_ALT, "the other one", page_access.MISSING_ALT]
    assert "var s = '<img src=x>';" in ours  # a script's text is not a tag


def test_each_page_of_a_run_is_the_same_as_nbconverts_with_one_renderer(tmp_path: Path) -> None:
    """One renderer renders all of a run's pages (its memo of bleach's clean filled by the first);
    each is still the page nbconvert makes of that notebook alone."""
    renderer = HtmlRenderer()
    for i, phase in enumerate(("preflight", "initiator", "acceptor")):
        nb = notebook(phases.get(phase))
        nb.cells.append(nbformat.v4.new_code_cell(f"phase.note({i})  # <{phase}>"))
        path = tmp_path / f"0{i}_{phase}.ipynb"
        nbformat.write(nb, str(path))
        assert _tree(renderer.render(path).read_text()) == _tree(_stock(nb, path.stem))


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ('<body class="jp-Notebook"><div class="jp-Cell-inputWrapper">x</div></body>', 'tabindex="0"'),
        ('<div class="jp-Cell-inputWrapper">outside the notebook</div>', None),
        ('<main class="jp-Notebook"></main><div class="jp-OutputArea-output">after it</div>', None),
        ('<body class="jp-Notebook"><span class="jp-OutputArea-output">not a div</span></body>', None),
        ('<p><img src="a.png" /></p>', f'<img src="a.png" alt="{page_access.MISSING_ALT}" />'),
        ('<img src="a.png" alt="">', None),
    ],
)
def test_the_pass_changes_exactly_what_nbconverts_does(page: str, expected: str | None) -> None:
    done = page_access.add(page)
    if expected is None:
        assert done == page
    else:
        assert expected in done and done != page
    # whatever it does, BeautifulSoup's version of nbconvert's pass does too
    soup = _tree(page)
    for e in soup.select("img:not([alt])"):
        e.attrs["alt"] = page_access.MISSING_ALT
    for e in soup.select(".jp-Notebook div.jp-Cell-inputWrapper, .jp-Notebook div.jp-OutputArea-output"):
        e.attrs["tabindex"] = "0"
    assert _tree(done) == soup


def test_a_warmed_renderer_has_cleaned_every_phases_code_cells_already(tmp_path: Path) -> None:
    """A fleet's link fork server warms one renderer for every link: a link's pages then clean only
    the cells that are its own (the injected parameters), and still read as nbconvert's."""
    HtmlRenderer.warm()
    renderer = HtmlRenderer.take()
    clean = renderer._exporter.filters["clean_html"]
    nb = notebook(phases.get("routes"))
    nb.metadata.language_info = {"name": "python", "pygments_lexer": "ipython3", "version": "3.11.7"}  # as run
    nb.cells.insert(
        1, nbformat.v4.new_code_cell('params_file = "/runs/r1/params.yaml"', metadata={"tags": ["injected"]})
    )
    nbformat.write(nb, str(tmp_path / "04_routes.ipynb"))
    misses = clean.cache_info().misses
    page = renderer.render(tmp_path / "04_routes.ipynb").read_text()
    assert clean.cache_info().misses - misses == 1
    assert _tree(page) == _tree(_stock(nb, "04_routes"))
