"""Files the emulator reads from others and files it keeps to itself.

A world file is untrusted input (a user's, or a path a control client names), so reading one is
bounded: only a regular file (a FIFO would block the read forever, ``/dev/zero`` never ends), at
most ``MAX_FILE_BYTES``, UTF-8, YAML without aliases (an alias bomb expands exponentially once
the world is copied), nested at most ``MAX_DEPTH`` deep (the composer recurses) and with no key
given twice in one mapping (YAML would silently keep the last). Every refusal is an
``UnsafeFileError`` whose message names the problem and never quotes the file's text, which may
hold AccessKey secrets (PyYAML's own messages print the offending line, so they are not passed on).

The emulator's own state (the SQLite database and its ``-wal``/``-shm`` files, the port file)
holds every account's secret, so it is created ``0600`` whatever the umask.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

MAX_FILE_BYTES = 1024 * 1024  # a world of a hundred VPCs is ~100 KB
MAX_DEPTH = 32  # a world nests 5 deep
MAX_NODES = 200_000
PRIVATE = 0o600


class UnsafeFileError(ValueError):
    """A file that cannot be read safely; the message says why, without quoting it."""


def read_text(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes``."""
    try:
        # O_NONBLOCK: opening a FIFO with no writer must not block; it is refused just after
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise UnsafeFileError(f"cannot be read ({e.strerror or e})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "a FIFO, socket or device"
            raise UnsafeFileError(f"is {kind}, not a regular file")
        if info.st_size > max_bytes:
            raise UnsafeFileError(f"is {info.st_size} bytes, more than the {max_bytes} allowed")
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(fd, min(65536, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise UnsafeFileError(f"is more than the {max_bytes} bytes allowed")
    except OSError as e:
        raise UnsafeFileError(f"cannot be read ({e.strerror or e})") from None
    finally:
        os.close(fd)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as e:
        raise UnsafeFileError(f"is not UTF-8 text (byte {e.start})") from None


class _UniqueKeyLoader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """The safe loader, refusing a mapping that names one key twice."""


def _mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:
            raise UnsafeFileError(f"line {key_node.start_mark.line + 1}: a mapping key must be a plain value") from None
        if duplicate:
            raise UnsafeFileError(f"line {key_node.start_mark.line + 1}: the key {str(key)[:64]!r} is given twice")
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml(text: str) -> Any:
    """Parse YAML text within the limits above."""
    depth = nodes = 0
    try:
        for event in yaml.parse(text, Loader=_UniqueKeyLoader):
            if isinstance(event, yaml.AliasEvent):
                raise UnsafeFileError(f"{_line(event)}YAML aliases (*name) are not allowed; write the value out")
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise UnsafeFileError(f"{_line(event)}nested more than {MAX_DEPTH} levels deep")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            nodes += 1
            if nodes > MAX_NODES:
                raise UnsafeFileError(f"has more than {MAX_NODES} YAML nodes")
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise UnsafeFileError(f"not valid YAML: {e.problem or e.context or 'syntax error'}{where}") from None
    except yaml.YAMLError:
        raise UnsafeFileError("not valid YAML") from None


def _line(event: yaml.Event) -> str:
    mark = event.start_mark
    return f"line {mark.line + 1}: " if mark is not None else ""


def read_yaml(path: str | Path) -> Any:
    return load_yaml(read_text(path))


def make_private(path: str | Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist, else narrow it to 0600 when it is
    ours; either way regardless of the umask (which may only take bits away from ``os.open``)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), PRIVATE)
    except OSError:
        return  # not ours to create (a read-only place): sqlite reports it with its own words
    try:
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) != PRIVATE:
            os.fchmod(fd, PRIVATE)
    finally:
        os.close(fd)


def narrow(path: str | Path) -> None:
    """Narrow an existing file of ours to 0600 (SQLite's ``-wal``/``-shm``, made by SQLite)."""
    try:
        info = os.stat(path)
        if stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) != PRIVATE:
            os.chmod(path, PRIVATE)
    except OSError:
        pass


def write_private(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (readers never see half of it), mode 0600."""
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), PRIVATE)
    try:
        os.fchmod(fd, PRIVATE)
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
    os.replace(tmp, path)
