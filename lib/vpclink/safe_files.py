"""Reading files a person or another run handed us (parameter files, peer cards, run records, worlds)
as untrusted input: bounded in size, depth and expansion, never hanging, never a traceback.

Each refusal is an ``UnsafeFile`` whose message names the file and says what would be acceptable;
callers turn it into their own error type (``ParamsError`` for a parameter file, exit 2 in the CLI).

- Only regular files are read. The file is opened non-blocking, so a FIFO with no writer, a terminal
  or a device is refused at once instead of blocking; ``/dev/zero``, directories and sockets too.
- Size: refused when ``st_size`` is over the limit, before reading anything; at most ``limit + 1``
  bytes are ever read (a file growing while read, or a ``/proc`` file reporting size 0).
- Text: UTF-8 (a leading byte-order mark is allowed), else refused naming the offset.
- YAML: the event stream is checked first (PyYAML's event parser is iterative), so nesting deeper
  than ``max_depth`` is refused before the recursive composer could overflow the stack; then the
  node graph is checked for alias expansion ("billion laughs": nine aliases of nine aliases...), so
  no later walk of the data can explode. Only the safe loader's types are constructed. Keys repeated
  in one mapping are reported (YAML would silently keep the last one).
- JSON: parsed with the standard library, nesting bounded, a repeated key refused.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# A parameter file is about 2 KB; a peer card or world file is a few KB. 1 MB leaves room for
# comments and fleets of hundreds of links while bounding the work any file can cause.
MAX_BYTES = 1 << 20
MAX_DEPTH = 32  # containers inside containers; a parameter file uses 4
MAX_NODES = 50_000  # YAML values (scalars, containers, aliases) as written: half a second to parse
MAX_EXPANDED = 50_000  # values once every alias is expanded

Loc = tuple[str | int, ...]


class UnsafeFile(ValueError):
    """A file refused before or while parsing; ``problem`` completes a sentence about the file."""

    def __init__(self, path: str, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(f"{path} {problem}")


@dataclass(frozen=True)
class Duplicate:
    """A key written twice in one mapping (1-based lines)."""

    loc: Loc  # where the key is, e.g. ("acceptor", "vpc_id")
    first_line: int
    line: int


@dataclass
class Document:
    data: Any
    duplicates: list[Duplicate] = field(default_factory=list)


_KINDS = (
    (stat.S_ISDIR, "is a directory"),
    (stat.S_ISFIFO, "is a named pipe (FIFO)"),
    (stat.S_ISCHR, "is a character device"),
    (stat.S_ISBLK, "is a block device"),
    (stat.S_ISSOCK, "is a socket"),
)


def _size(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MB"
    return f"{n / 1024:.0f} KB" if n >= 1 << 10 else f"{n} bytes"


def read_bytes(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES, what: str = "file") -> bytes:
    """The content of a regular file of at most ``max_bytes``; raises ``UnsafeFile`` otherwise."""
    name = str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise UnsafeFile(name, f"cannot be read: {e.strerror or e}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((text for test, text in _KINDS if test(info.st_mode)), "is not a regular file")
            raise UnsafeFile(name, f"{kind}, not a regular file: give the path of a {what}")
        if info.st_size > max_bytes:
            raise UnsafeFile(
                name, f"is {_size(info.st_size)}; a {what} is at most {_size(max_bytes)}: check that this is one"
            )
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 16, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as e:
        raise UnsafeFile(name, f"cannot be read: {e.strerror or e}") from None
    finally:
        os.close(fd)
    if total > max_bytes:
        raise UnsafeFile(name, f"is over {_size(max_bytes)}; a {what} is at most that: check that this is one")
    return b"".join(chunks)


def decode(data: bytes, path: str) -> str:
    """UTF-8 text (a leading byte-order mark dropped); raises ``UnsafeFile`` for anything else."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UnsafeFile(path, f"is not UTF-8 text (byte {e.start}): save it as UTF-8") from None


def read_text(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES, what: str = "file") -> str:
    return decode(read_bytes(path, max_bytes=max_bytes, what=what), str(path))


# -- YAML ---------------------------------------------------------------------------------------

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # type: ignore[assignment]


def _scrub(text: str) -> str:
    """Free text from a parser with anything that might be a credential replaced."""
    from . import secretlike  # a leaf module; imported here to keep this module's imports generic

    words = text.split(" ")
    return " ".join(secretlike.mask(w) if secretlike.looks_like_credential(w) else w for w in words)


def _at(mark: Any) -> str:
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _char_at(text: str, mark: Any) -> str:
    lines = text.splitlines()
    if mark is None or not 0 <= mark.line < len(lines):
        return ""
    line = lines[mark.line]
    return line[mark.column] if 0 <= mark.column < len(line) else ""


def yaml_problem(e: yaml.YAMLError, text: str = "") -> str:
    """What is wrong with a YAML text, built from the error's parts: ``str(e)`` quotes the offending
    line, which may hold a secret."""
    problem = getattr(e, "problem", None) or str(e).split("\n")[0]
    mark = getattr(e, "problem_mark", None)
    out = f"is not valid YAML{_at(mark)}: {_scrub(problem)}"
    context = getattr(e, "context", None)
    if context:
        out += f" ({_scrub(context)}{_at(getattr(e, 'context_mark', None))})"
    if _char_at(text, mark) == "\t" or "\\t" in problem:
        out += "; indent with spaces: YAML refuses tabs"
    return out


def _check_events(text: str, path: str, max_depth: int, max_nodes: int) -> None:
    depth = 0
    for count, event in enumerate(yaml.parse(text, Loader=_Loader), start=1):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > max_depth:
                raise UnsafeFile(
                    path,
                    f"nests more than {max_depth} levels deep{_at(event.start_mark)}: "
                    "this is not a file vpclink writes or reads",
                )
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        if count > max_nodes:
            raise UnsafeFile(path, f"has more than {max_nodes} YAML values: this is not a file vpclink reads")


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value
    elif isinstance(node, yaml.SequenceNode):
        yield from node.value


def _check_expansion(root: yaml.Node, path: str, max_nodes: int, max_depth: int) -> None:
    """Refuse a node graph whose aliases expand past ``max_nodes`` values or ``max_depth`` levels
    (a cycle counts once: the data may contain itself, and walks over it keep a seen set)."""
    sizes: dict[int, tuple[int, int]] = {}  # id -> (values, depth) once expanded
    on_path: set[int] = set()
    # Iterative post-order walk: a node's size needs its children's first.
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            below = [sizes.get(id(c), (1, 1)) for c in _children(node)]
            total = 1 + sum(n for n, _ in below)
            depth = 1 + max((d for _, d in below), default=0)
            sizes[key] = (total, depth)
            if total > max_nodes:
                raise UnsafeFile(
                    path,
                    f"expands to more than {max_nodes} values through YAML aliases (&anchor / *alias): "
                    "write the values out, or use fewer aliases",
                )
            if depth > max_depth + 1:  # + 1: scalars count as a level here, not in the event check
                raise UnsafeFile(
                    path, f"nests more than {max_depth} levels deep through YAML aliases (&anchor / *alias)"
                )
            continue
        if key in sizes or key in on_path:
            continue
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes and id(c) not in on_path)


def _duplicates(root: yaml.Node) -> list[Duplicate]:
    found: list[Duplicate] = []
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, Loc]] = [(root, ())]
    while stack:
        node, loc = stack.pop()
        if id(node) in seen:  # an alias: already looked at (and possibly recursive)
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    continue
                line = key.start_mark.line + 1
                if key.value in first:
                    found.append(Duplicate((*loc, key.value), first[key.value], line))
                else:
                    first[key.value] = line
                stack.append((value, (*loc, key.value)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*loc, i)) for i, item in enumerate(node.value))
    return sorted(found, key=lambda d: d.line)


def parse_yaml(
    text: str,
    path: str = "<text>",
    *,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
    max_expanded: int = MAX_EXPANDED,
) -> Document:
    """A YAML document read with the safe loader within the limits; raises ``UnsafeFile``."""
    try:
        _check_events(text, path, max_depth, max_nodes)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return Document(None)
            _check_expansion(node, path, max_expanded, max_depth)
            duplicates = _duplicates(node)
            return Document(loader.construct_document(node), duplicates)
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        raise UnsafeFile(path, yaml_problem(e, text)) from None
    except (ValueError, TypeError, RecursionError, OverflowError) as e:
        if isinstance(e, UnsafeFile):
            raise
        # The safe constructor's own failures, such as a 5000-digit integer (Python refuses to convert it).
        raise UnsafeFile(
            path,
            f"holds a value the YAML loader cannot build ({type(e).__name__}), such as a number with "
            "thousands of digits",
        ) from None


def read_yaml(
    path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH, what: str = "YAML file"
) -> Document:
    """Read and parse a YAML file within the limits; raises ``UnsafeFile``."""
    return parse_yaml(read_text(path, max_bytes=max_bytes, what=what), str(path), max_depth=max_depth)


# -- JSON ---------------------------------------------------------------------------------------


def _depth(data: Any) -> int:
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def parse_json(text: str, path: str = "<text>", *, max_depth: int = MAX_DEPTH) -> Any:
    """A JSON document within the depth limit; raises ``UnsafeFile``, also for a key repeated in one
    object (JSON readers disagree on which value wins)."""
    repeated: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                repeated.append(key)
            out[key] = value
        return out

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as e:
        raise UnsafeFile(path, f"is not valid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise UnsafeFile(path, f"nests more than {max_depth} levels deep: this is not a file vpclink reads") from None
    except ValueError as e:  # e.g. an integer with thousands of digits
        raise UnsafeFile(
            path, f"holds a value JSON cannot read ({type(e).__name__}), such as a number with thousands of digits"
        ) from None
    if _depth(data) > max_depth:
        raise UnsafeFile(path, f"nests more than {max_depth} levels deep: this is not a file vpclink reads")
    if repeated:
        names = ", ".join(sorted({_scrub(k) for k in repeated}))
        raise UnsafeFile(path, f"repeats the key(s) {names} in one object: keep one of each")
    return data


def read_json(
    path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH, what: str = "JSON file"
) -> Any:
    """Read and parse a JSON file within the limits; raises ``UnsafeFile``."""
    return parse_json(read_text(path, max_bytes=max_bytes, what=what), str(Path(path)), max_depth=max_depth)
