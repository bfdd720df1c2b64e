"""Timestamps as the APIs print them.

``time.gmtime`` and ``time.strftime`` are several times cheaper than going through ``datetime``,
and writes print a timestamp or two each; the seconds are those ``datetime.fromtimestamp`` shows,
which rounds to the microsecond first (so ``…:59.9999996`` prints as the next second).
"""

import math
import time


def _utc(t: float) -> time.struct_time:
    whole = math.floor(t)
    if round((t - whole) * 1_000_000) >= 1_000_000:
        whole += 1
    return time.gmtime(whole)


def iso(t: float) -> str:
    """``2026-11-26T12:00:00Z``, the VPC and ECS API format."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", _utc(t))


def iso_minutes(t: float) -> str:
    """``2026-11-26T12:00Z``, the format of ECS CreationTime fields."""
    return time.strftime("%Y-%m-%dT%H:%MZ", _utc(t))
