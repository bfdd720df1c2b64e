"""Loading a lot of code at once, with the cyclic garbage collector paused meanwhile.

Imports (and an exporter loading its templates) allocate many objects and leave almost no cyclic
garbage, yet they set off full collections that walk everything loaded so far: a quarter to a half
of their time for the SDKs, pandas and nbconvert. With ``freeze``, what was loaded is then moved out
of the collector's sight for good (``gc.freeze``): it is never walked again, and a process forked
afterwards does not copy its pages by walking them, which is what ``gc.freeze`` was made for.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without_gc(*, freeze: bool) -> Iterator[None]:
    """Pause the garbage collector (the whole process's) for the block; see the module docstring."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()
