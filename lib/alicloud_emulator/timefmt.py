"""Timestamps as the APIs print them."""

from datetime import datetime, timezone


def iso(t: float) -> str:
    """``2026-11-26T12:00:00Z``, the VPC and ECS API format."""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_minutes(t: float) -> str:
    """``2026-11-26T12:00Z``, the format of ECS CreationTime fields."""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
