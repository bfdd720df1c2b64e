"""The HTML renderings of a run's notebooks, in a process of their own.

nbconvert's exporter costs about a second of CPU to import, build and render its first notebook, then
about 80 ms a notebook, nearly all of it holding the interpreter's lock. In the runner's process it
made the thread that relays the kernel's messages wait for that lock, so every cell waited too. A run
whose kernels come from the fork server (``kernel_forks``) asks it for one more child, the *render
worker*: it imports nbconvert and renders there, at a lower priority than the kernels and the runner
(``RENDER_NICE``), on the core they leave idle while they wait for each other.

The runner and its worker talk over a socket pair whose worker end the fork server hands over: one
JSON line per notebook to render, answered by one line when its HTML is written (or why it is not).
The worker ends when the runner hangs up, and the fork server kills it with the runner's kernels if
the runner dies first. If the worker cannot start or dies, the runner renders in its own process as
before (``runner``).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from ..importing import skip_iri_grammar, without_gc

RENDER_NICE = 5  # below the kernels and the runner: the records can wait, the run's calls cannot
NAME = "html"  # the worker's process name is the fork server's prefix with this (``vpclink-html``)


class RenderFailed(RuntimeError):
    """The worker could not render a notebook; the message says which and why."""


class RenderWorker:
    """The runner's end of a render worker. Used from one thread at a time."""

    def __init__(self, sock: socket.socket, pid: int):
        self.pid = pid
        self._socket = sock
        self._file = sock.makefile("rwb")

    def render(self, notebook: str | Path) -> Path:
        """Render ``notebook`` to HTML beside it; ``RenderFailed`` if the worker could not, and
        ``ConnectionError`` if the worker has gone (then render elsewhere)."""
        try:
            # absolute: the worker started in this process's working directory, which may change
            self._file.write(json.dumps({"notebook": str(Path(notebook).resolve())}).encode() + b"\n")
            self._file.flush()
            line = self._file.readline()
        except OSError as e:
            raise ConnectionError(f"the HTML render worker is unreachable: {e}") from None
        if not line:
            raise ConnectionError("the HTML render worker has exited")
        answer = json.loads(line)
        if "error" in answer:
            raise RenderFailed(str(answer["error"]))
        return Path(answer["html"])

    def close(self) -> None:
        """Hang up: the worker ends once it has answered what it was asked."""
        try:
            self._file.close()
        except OSError:
            pass  # it has gone, and the request it was not sent with it
        finally:
            self._socket.close()


def serve(sock: socket.socket) -> None:
    """In the worker: build the renderer, then render each notebook asked for until the runner hangs up."""
    os.nice(RENDER_NICE)
    skip_iri_grammar()
    with without_gc(freeze=True):
        from .html import HtmlRenderer

        HtmlRenderer.warm()
    renderer = HtmlRenderer.take()
    with sock, sock.makefile("rwb") as channel:
        for line in channel:
            answer: dict[str, Any]
            notebook = Path(str(json.loads(line).get("notebook")))
            try:
                answer = {"html": str(renderer.render(notebook))}
            except Exception as e:  # the runner reports it, and the next notebook is rendered all the same
                answer = {"error": f"{notebook.name}: {type(e).__name__}: {e}"}
            channel.write(json.dumps(answer).encode() + b"\n")
            channel.flush()
