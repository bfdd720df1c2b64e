"""Fixtures shared by the runbook tests: an emulator (tutorial world, every step immediate) and a
rig with the example parameters and a profiles file for its accounts (``phase_support.Rig``)."""

from __future__ import annotations

import pytest
from phase_support import Rig, start_emulator

pytest_plugins = ["parity_plugin"]


@pytest.fixture
def emu():
    e = start_emulator()
    yield e
    e.server.stop()


@pytest.fixture
def rig(emu, tmp_path):
    return Rig(emu, tmp_path)
