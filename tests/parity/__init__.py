"""Parity with the real cloud: the capture format (``capture``), the replay of captures against the
emulator (``replay``), and the example capture made from the API metadata (``example_capture``).

The replay sends through the conformance ``Session`` (``tests/emulator/conformance``), imported as
``emulator.conformance`` as pytest does; run as ``python -m tests.parity.<module>``, the tests
directory is put on the path first so the same import works.
"""

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
