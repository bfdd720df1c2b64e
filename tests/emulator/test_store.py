"""The store under the API: one transaction per request (reads begin one at their first write),
lazily settled transitions, history for stale reads, the journal's order, and the schema-1
migration."""

from __future__ import annotations

import json
import os
import sqlite3
import stat

import pytest
from alicloud_emulator.store import HISTORY_KEEP, SCHEMA_VERSION, Store


@pytest.fixture(params=["memory", "file"])
def store(request, tmp_path):
    s = Store(None if request.param == "memory" else str(tmp_path / "s.db"))
    yield s
    s.close()


def _journal(store: Store) -> list[str]:
    with store.transaction() as tx:
        return [json.loads(e)["n"] for _, e in tx.sql("SELECT seq, entry FROM journal ORDER BY seq")]


def test_a_read_that_writes_commits_as_one_transaction(store):
    with store.transaction(write=False) as tx:
        assert tx.find("thing", account="acct") == []
        tx.insert("thing", "t-1", "acct", "r", {"Name": "one"})
        tx.insert("thing", "t-2", "acct", "r", {"Name": "two"})
    with pytest.raises(RuntimeError), store.transaction(write=False) as tx:
        tx.insert("thing", "t-3", "acct", "r", {"Name": "three"})
        raise RuntimeError("refused after the first write")
    with store.transaction(write=False) as tx:
        assert [r["Name"] for r in tx.find("thing", account="acct")] == ["one", "two"]


def test_scheduled_transitions_settle_when_read_and_survive_writes(store):
    with store.transaction(now=100.0) as tx:
        rec = tx.insert("ri", "ri-1", "acct", "r", {"Status": "Idle"})
        rec["Status"] = "Connecting"
        tx.schedule(rec, 4.0, Status="Active")
        assert rec["_id"] == "ri-1" and rec["Status"] == "Connecting"  # a delayed change keeps the record whole
        tx.put(rec)
    with store.transaction(now=103.9) as tx:
        assert tx.get("ri", "ri-1", account="acct")["Status"] == "Connecting"
    with store.transaction(now=104.0) as tx:
        assert tx.get("ri", "ri-1", account="acct")["Status"] == "Active"
        assert tx.get("ri", "ri-1", account="someone-else") is None  # scoped: reads like a missing ID


def test_history_serves_reads_as_of_an_earlier_time(store):
    with store.transaction(now=10.0) as tx:
        tx.insert("thing", "t-1", "acct", "r", {"Version": 0})
    for version in range(1, HISTORY_KEEP + 3):
        with store.transaction(now=10.0 + version * 10) as tx:
            rec = tx.get("thing", "t-1", account="acct")
            tx.put(dict(rec, Version=version))
    last = HISTORY_KEEP + 2
    with store.transaction(now=1000.0) as tx:
        tx.view_time = 10.0 + last * 10 - 5  # just before the last change
        assert tx.get("thing", "t-1", account="acct")["Version"] == last - 1
        tx.view_time = 5.0  # before it existed
        assert tx.get("thing", "t-1", account="acct") is None and tx.find("thing", account="acct") == []
        tx.view_time = 1000.0
        assert tx.get("thing", "t-1", account="acct")["Version"] == last
        kept = tx.sql("SELECT COUNT(*) FROM history WHERE id='t-1'")[0][0]
    assert kept == HISTORY_KEEP


def test_the_journal_keeps_arrival_order_and_a_rollback_loses_no_entry(store):
    store.journal_later({"n": "read-1"})
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.journal({"n": "refused write"})
        raise RuntimeError
    store.journal_later({"n": "read-2"})
    with store.transaction() as tx:
        tx.journal({"n": "write"})
    store.journal_later({"n": "read-3"})
    assert _journal(store) == ["read-1", "read-2", "write", "read-3"]


def test_a_schema_1_database_is_migrated(tmp_path):
    path = tmp_path / "old.db"
    Store(str(path)).close()
    old = {
        "Name": "now",
        "_type": "thing",
        "_id": "t-1",
        "_account": "a",
        "_region": "r",
        "_created": 1.0,
        "_transitions": [],
        "_history": [
            [
                5.0,
                {
                    "Name": "before",
                    "_type": "thing",
                    "_id": "t-1",
                    "_account": "a",
                    "_region": "r",
                    "_created": 1.0,
                    "_transitions": [],
                },
            ]
        ],
    }
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM history")
        db.execute("INSERT INTO resources VALUES ('t-1', 'thing', 'a', 'r', 1, ?)", (json.dumps(old),))
        db.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    store = Store(str(path))
    try:
        assert store.meta("schema_version") == SCHEMA_VERSION
        with store.transaction(now=10.0) as tx:
            rec = tx.get("thing", "t-1", account="a")
            assert rec["Name"] == "now" and "_history" not in rec
            tx.view_time = 4.0
            assert tx.get("thing", "t-1", account="a")["Name"] == "before"
    finally:
        store.close()


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_a_database_file_and_its_wal_and_shm_are_0600_whatever_the_umask(tmp_path, umask):
    path = tmp_path / "s.db"
    old = os.umask(umask)
    try:
        s = Store(str(path))
        with s.transaction() as tx:
            tx.insert("thing", "t-1", "acct", "r", {"Secret": "x"})
        for f in (path, tmp_path / "s.db-wal", tmp_path / "s.db-shm"):
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, (f, oct(f.stat().st_mode))
        s.close()
    finally:
        os.umask(old)


def test_the_clock_refuses_what_is_not_a_finite_forward_step(store):
    for bad in (float("nan"), float("inf"), -1, "5", True, None):
        with pytest.raises(ValueError):
            store.advance_clock(bad)
    assert store.meta("clock_offset", 0.0) == 0.0
