"""After a migration, the link's parameter file names the backend the link now runs on.

The parameter file is what every later command reads: left at the old backend, a ``vpclink
teardown`` would look for router interfaces that are gone and leave the peering (and its routes)
behind. So a finished migration rewrites the file's top-level ``backend:`` line, and nothing else
but what the new backend refuses (a router interface's ``spec``, commented out, never deleted).
The edit is textual, so the operator's comments and layout stay; the result must parse as a link
file naming the new backend, or the file is left as it was and the operator is told what to change.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import yaml

from ..params import ParamsError, parse

_BACKEND = re.compile(r"^backend:[ \t]*[^#\s]*(?P<rest>[ \t]*(#.*)?)$")
_COMMENTED = re.compile(r"^#[ \t]*backend:")
_LINK = re.compile(r"^link:")
_SPEC = re.compile(r"^spec:")


def rewritten(text: str, backend: str) -> str:
    """``text`` with its top-level ``backend`` set to ``backend`` (see the module docstring)."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        m = _BACKEND.match(line.rstrip("\n"))
        if m:
            lines[i] = f"backend: {backend}{m['rest']}\n"
            break
    else:
        at = next((i for i, line in enumerate(lines) if _COMMENTED.match(line)), None)
        if at is None:
            at = next((i for i, line in enumerate(lines) if _LINK.match(line)), len(lines) - 1)
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines.insert(at + 1, f"backend: {backend}  # set by vpclink migrate\n")
    if backend == "vpc_peer":
        lines = [
            f"# {line.rstrip()}   # a router interface's Spec: vpclink migrate moved the link to vpc_peer\n"
            if _SPEC.match(line)
            else line
            for line in lines
        ]
    return "".join(lines)


def record_backend(path: str | os.PathLike[str], backend: str) -> str:
    """Rewrite the parameter file at ``path`` to name ``backend``; returns what to tell the operator."""
    target = Path(path).resolve()
    try:
        before = target.read_text(encoding="utf-8")
    except OSError as e:
        return f"set `backend: {backend}` in {path} yourself: it could not be read ({e.strerror})"
    after = rewritten(before, backend)
    try:
        ok = parse(yaml.safe_load(after), str(path)).backend == backend
    except (ParamsError, yaml.YAMLError):
        ok = False
    if not ok:
        return f"set `backend: {backend}` in {path} yourself (its layout is not one this edit understands)"
    tmp = None
    try:  # beside the file, then renamed over it: a crash leaves the old file or the new, never half
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(after)
        os.chmod(tmp, target.stat().st_mode & 0o777)
        os.replace(tmp, target)
    except OSError as e:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        return f"set `backend: {backend}` in {path} yourself: it could not be written ({e.strerror})"
    return f"{path} now says `backend: {backend}`: later runs and teardowns of this link use it"
