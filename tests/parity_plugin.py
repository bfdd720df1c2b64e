"""pytest plugin for parity with the real cloud: the ``parity`` marker and ``--capture-dir``.

``pytest -m parity --capture-dir DIR`` replays every ``*.jsonl`` capture of DIR (the format is in
``docs/parity.md``, "Capture format") against a fresh emulator and fails on every difference.
Without ``--capture-dir`` the parity tests replay the capture shipped in ``tests/data/captures``,
so the replay path runs in every test run. ``--capture-world FILE`` replays against another world
than the built-in one (for a capture made with other regions or more resources).
"""

from __future__ import annotations

from pathlib import Path

import pytest

SHIPPED = Path(__file__).resolve().parent / "data" / "captures"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("parity", "parity with real-cloud captures")
    group.addoption(
        "--capture-dir",
        action="store",
        default=None,
        metavar="DIR",
        help="replay the *.jsonl captures of DIR against the emulator (default: the shipped example capture)",
    )
    group.addoption(
        "--capture-world",
        action="store",
        default=None,
        metavar="FILE",
        help="the emulator world (YAML) the captures are replayed in (default: the built-in world)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "parity: replays real-cloud captures against the emulator (see --capture-dir)")


def capture_files(config: pytest.Config) -> list[Path]:
    """The capture files this run replays: those of ``--capture-dir``, else the shipped ones."""
    chosen = config.getoption("--capture-dir")
    folder = Path(chosen) if chosen else SHIPPED
    if not folder.is_dir():
        raise pytest.UsageError(f"--capture-dir {folder}: not a directory")
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise pytest.UsageError(f"--capture-dir {folder}: no *.jsonl capture files in it")
    return files


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "capture_file" in metafunc.fixturenames:
        files = capture_files(metafunc.config)
        metafunc.parametrize("capture_file", files, ids=[f.stem for f in files])
