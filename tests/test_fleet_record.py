"""The fleet's record as links run: the API calls read from the links' ledgers as they grow, each ledger
parsed once however often the record is rewritten, and ``fleet.json`` as a resume reads it back."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml
from vpclink.fleet import record
from vpclink.fleet.rate import RateControl, Threshold
from vpclink.fleet.run import FleetOptions
from vpclink.fleet.spec import load_fleet
from vpclink.record.ledger import Ledger

UID = "1234567890123456"
LINKS = {"hub-a": "links/20240101T000000Z-hub-a", "hub-b": "links/20240101T000000Z-hub-b"}


def _call(action: str, second: int, error_code: str = "") -> bytes:
    """One ledger line as a link's ledger appends it."""
    entry = {
        "time": f"2024-01-01T00:00:{second:02d}Z",
        "phase": "connect",
        "side": "initiator",
        "account_uid": UID,
        "region": "cn-hangzhou",
        "action": action,
        "request_id": "",
        "outcome": "error" if error_code else "ok",
        "error_code": error_code,
        "duration_ms": 12.0,
        "mutating": False,
    }
    return json.dumps(entry).encode() + b"\n"


def _ledger(run_dir: Path, link: str) -> Path:
    path = run_dir / LINKS[link] / record.LEDGER
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return path


def _append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


def _book(tmp_path: Path) -> tuple[record.Book, RateControl]:
    vpcs = {
        name: {
            "profile": f"p-{name}",
            "region": "cn-hangzhou",
            "vpc_id": f"vpc-bp1{name}000000000000001",
            "vpc_cidr": cidr,
            "security_group_id": f"sg-bp1{name}sg00000000001",
        }
        for name, cidr in (("hub", "10.0.0.0/16"), ("a", "10.11.0.0/16"), ("b", "10.12.0.0/16"))
    }
    links = [{"initiator": "hub", "acceptor": s} for s in "ab"]
    data = {"fleet": "recorded", "vpcs": vpcs, "defaults": {"bandwidth_mbps": 10}, "links": links}
    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    fleet = load_fleet(path)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    rate = RateControl([link.name for link in fleet.links], Threshold.parse("10", ""))
    rate.ready()
    return record.Book(run_dir, fleet, "run", FleetOptions(), None), rate


def _calls(data: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """(calls, throttled) per action of the record's API calls."""
    return {row["action"]: (row["calls"], row["throttled"]) for row in data["api_calls"]}


def _per_link(data: dict[str, Any]) -> dict[str, int]:
    return {link["name"]: link["api_calls"] for link in data["links"]}


def test_calls_appended_to_a_ledger_after_an_update_are_in_the_next_one(tmp_path: Path) -> None:
    book, rate = _book(tmp_path)
    a, b = _ledger(book.run_dir, "hub-a"), _ledger(book.run_dir, "hub-b")
    _append(a, _call("DescribeVpcs", 1) + _call("DescribeVpcs", 2))
    half = _call("CreateRouteEntry", 3)
    _append(b, half[:20])  # a line still being written
    book.update(rate, {}, LINKS)
    first = record.read(book.run_dir)
    assert _per_link(first) == {"hub-a": 2, "hub-b": 0}
    assert _calls(first) == {"DescribeVpcs": (2, 0)}

    _append(a, _call("DescribeVpcs", 4, "Throttling.User"))
    _append(b, half[20:] + _call("CreateRouteEntry", 5))
    book.update(rate, {}, LINKS)
    second = record.read(book.run_dir)
    assert _per_link(second) == {"hub-a": 3, "hub-b": 2}
    assert _calls(second) == {"CreateRouteEntry": (2, 0), "DescribeVpcs": (3, 1)}
    assert second["api_calls"] == record.api_calls(book.run_dir, LINKS, {})  # as read afresh


def test_a_ledger_not_changed_since_the_last_update_is_not_parsed_again(tmp_path: Path) -> None:
    book, rate = _book(tmp_path)
    a = _ledger(book.run_dir, "hub-a")
    _append(a, _call("DescribeVpcs", 1) + _call("DescribeVpcs", 2))
    book.update(rate, {}, LINKS)
    # same size and modification time, other bytes: only a read of the file would see them
    seen = a.stat()
    a.write_bytes(b"x" * seen.st_size)
    os.utime(a, ns=(seen.st_atime_ns, seen.st_mtime_ns))
    book.update(rate, {}, LINKS)
    assert _per_link(record.read(book.run_dir))["hub-a"] == 2
    # a ledger that changed is read again
    os.utime(a, ns=(seen.st_atime_ns, seen.st_mtime_ns + 1_000_000_000))
    book.update(rate, {}, LINKS)
    data = record.read(book.run_dir)
    assert _per_link(data)["hub-a"] == 0 and data["api_calls"] == []


def test_api_calls_read_through_the_cache_are_the_rows_of_a_fresh_read(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    a, b = _ledger(run_dir, "hub-a"), _ledger(run_dir, "hub-b")
    _append(a, _call("DescribeVpcs", 1) + b"not json\n" + b"[1, 2]\n" + _call("CreateRouteEntry", 2))
    _append(b, _call("DescribeVpcs", 3))
    cache = record.LedgerCache()
    record.api_calls(run_dir, LINKS, {}, cache)
    _append(a, _call("DescribeVpcs", 4, "Throttling.User") + _call("DescribeVpcs", 9)[:30])
    b.write_bytes(_call("CreateRouteEntry", 5)[:-1])  # rewritten in place, its newline not yet written
    rows = record.api_calls(run_dir, LINKS, {}, cache)
    assert rows == record.api_calls(run_dir, LINKS, {})
    assert [(r["action"], r["calls"], r["most_in_window"], r["throttled"]) for r in rows] == [
        ("CreateRouteEntry", 2, 2, 0),
        ("DescribeVpcs", 2, 2, 1),
    ]
    assert all(r["account_uid"] == UID and r["region"] == "cn-hangzhou" for r in rows)
    assert [cache.entries(run_dir, LINKS[link]) for link in LINKS] == [
        len(Ledger.read(run_dir / LINKS[link] / record.LEDGER)) for link in LINKS
    ]


def test_fleet_json_is_what_the_book_wrote_as_a_resume_reads_it(tmp_path: Path) -> None:
    book, rate = _book(tmp_path)
    _append(_ledger(book.run_dir, "hub-a"), _call("DescribeVpcs", 1))
    book.previous = {"links": [{"name": "hub-a", "states": {"teardown": "torn down — été"}}]}
    data = book.finish(rate, {}, LINKS)
    text = (book.run_dir / record.FLEET_JSON).read_text(encoding="utf-8")
    assert text.endswith("}\n") and text.startswith('{\n  "fleet": "recorded",')
    assert record.read(book.run_dir) == json.loads(text) == data
    assert data["links"][0]["states"] == {"teardown": "torn down — été", "run": "running"}
