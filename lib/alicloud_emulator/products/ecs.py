"""ECS 2014-05-26 (placeholder; the full product is being written)."""

from __future__ import annotations

ACTIONS: dict = {}
