"""The accessibility attributes nbconvert's HTML exporter adds to a page, added to the tags alone.

nbconvert 7's ``HTMLExporter.from_notebook_node`` renders its template, then parses the whole page
with BeautifulSoup to give every ``img`` without ``alt`` a default text and every cell's input wrapper
and output (``div.jp-Cell-inputWrapper``, ``div.jp-OutputArea-output`` inside ``.jp-Notebook``)
``tabindex="0"`` (keyboard focus), and writes the tree back out. For a phase notebook that pass is
about half of the rendering's CPU, and a fleet's links render seven pages each (benchmarks/
html_pages.py: a page 0.31 x nbconvert's time with this pass and ``record.html``'s other settings).
:func:`add` makes the same changes by rewriting only those start tags in the
page as the template wrote it, found with the standard library's HTML tokenizer (the one nbconvert
has BeautifulSoup use), and leaves every other byte as it was.

tests/test_html_render.py checks that a page parses to the same tree as nbconvert's own, so a later
nbconvert that changes its pass shows up there.
"""

from __future__ import annotations

from html import escape
from html.parser import HTMLParser
from itertools import accumulate

MISSING_ALT = "No description has been provided for this image"  # nbconvert's words
FOCUSABLE = ("jp-Cell-inputWrapper", "jp-OutputArea-output")  # div classes given tabindex="0"
NOTEBOOK = "jp-Notebook"  # ...when inside an element of this class


def add(page: str) -> str:
    """``page`` with the attributes nbconvert's accessibility pass would add."""
    finder = _Finder(page)
    finder.feed(page)
    finder.close()
    if not finder.edits:
        return page
    parts, at = [], 0
    for start, end, tag in finder.edits:
        parts += [page[at:start], tag]
        at = end
    parts.append(page[at:])
    return "".join(parts)


def _classes(attrs: list[tuple[str, str | None]]) -> list[str]:
    return " ".join(v or "" for k, v in attrs if k == "class").split()


def _start_tag(tag: str, attrs: list[tuple[str, str | None]], closed: bool) -> str:
    text = "".join(f" {k}" if v is None else f' {k}="{escape(v, quote=True)}"' for k, v in attrs)
    return f"<{tag}{text}{' /' if closed else ''}>"


class _Finder(HTMLParser):
    """Collects (start, end, new text) of the start tags to rewrite, in page order."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self._lines = [0, *accumulate(len(line) + 1 for line in page.split("\n"))]  # where each line starts
        self._open: list[str] = []  # tag names from the outermost .jp-Notebook element inwards
        self.edits: list[tuple[int, int, str]] = []

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._lines[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=False)
        if self._open or NOTEBOOK in _classes(attrs):
            self._open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=True)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:  # close it and whatever was left open inside it
            del self._open[len(self._open) - 1 - self._open[::-1].index(tag) :]

    def _start(self, tag: str, attrs: list[tuple[str, str | None]], closed: bool) -> None:
        new = None
        if tag == "img" and not any(k == "alt" for k, _ in attrs):
            new = [*attrs, ("alt", MISSING_ALT)]
        elif tag == "div" and self._open and any(c in FOCUSABLE for c in _classes(attrs)):
            new = [(k, "0" if k == "tabindex" else v) for k, v in attrs]
            new += [] if any(k == "tabindex" for k, _ in attrs) else [("tabindex", "0")]
        if new is None:
            return
        raw = self.get_starttag_text() or ""
        start = self._offset()
        self.edits.append((start, start + len(raw), _start_tag(tag, new, closed)))
