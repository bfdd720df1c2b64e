"""Durable state: SQLite, one transaction per API request.

Resources are JSON documents keyed by ID and scoped by account and region. Asynchronous state
changes are stored on the resource as timed transitions and settled lazily whenever it is read,
at the virtual time of the request, so nothing runs in the background and a restart loses
nothing: a resource that was ``Connecting`` when the process died is ``Active`` when next read at
or after its due time. Every write keeps the previous version in ``history``, so a read can be
served "as of" an earlier moment (the stale-read fault); only such a read looks there, so the
ordinary request decodes and encodes each resource once.

With ``path=None`` the database lives in memory. A file holds every account's secret, so it is
created mode 0600 whatever the umask, and SQLite gives its ``-wal`` and ``-shm`` files the
database file's mode. With a file it runs in WAL mode with
``synchronous=NORMAL``: a ``kill -9`` of the process loses no committed transaction (only a power
cut could), without an fsync per request. Checkpoints (copying the WAL into the database, with
its fsyncs) run in a background thread on a connection of their own, not inside a request.

The journal of a request that changed nothing (a describe, a refusal) is not worth a commit of
its own, which would double the cost of a describe: it waits in memory and is written with the
next transaction, within a quarter of a second, or when the journal is read. A change's journal
entry is written in the change's own transaction. So a ``kill -9`` can lose the last moment's
read entries, never a write's.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from .jsoncodec import dumps_text, loads
from .safe_files import make_private, narrow

log = logging.getLogger("alicloud_emulator")

SCHEMA_VERSION = 2
JOURNAL_BATCH = 256  # read entries buffered at most before they are written
BACKGROUND_EVERY_S = 0.25  # file databases: journal flush and WAL checkpoint this often
HISTORY_KEEP = 6  # previous versions kept per resource, for stale reads
MAX_CLOCK_OFFSET_S = 100 * 366 * 24 * 3600.0  # the virtual clock stays within a century of the wall clock

_GET = "SELECT data, account FROM resources WHERE id=? AND type=?"
# find(): by (account given, region given)
_FIND = {
    (a, r): "SELECT id, data FROM resources WHERE type=?"
    + (" AND account=?" if a else "")
    + (" AND region=?" if r else "")
    + " ORDER BY seq"
    for a in (False, True)
    for r in (False, True)
}
# new_id(): the ID counter (JSON text, a bare number) counted up in place, then read with the
# world's seed (two statements: RETURNING would cost ~10 us more, measured)
_COUNT_UP = "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='id_counter'"
_COUNTER_AND_SEED = (
    "SELECT CAST(value AS INTEGER), (SELECT value FROM meta WHERE key='seed') FROM meta WHERE key='id_counter'"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS resources (
    id TEXT PRIMARY KEY, type TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL,
    seq INTEGER NOT NULL, data TEXT NOT NULL);
DROP INDEX IF EXISTS resources_scope;
CREATE INDEX IF NOT EXISTS resources_scope_seq ON resources (type, account, region, seq);
CREATE INDEX IF NOT EXISTS resources_seq ON resources (seq);
CREATE TABLE IF NOT EXISTS tokens (
    account TEXT NOT NULL, action TEXT NOT NULL, token TEXT NOT NULL, params_hash TEXT NOT NULL,
    response TEXT NOT NULL, PRIMARY KEY (account, action, token));
CREATE TABLE IF NOT EXISTS faults (id INTEGER PRIMARY KEY AUTOINCREMENT, rule TEXT NOT NULL,
    calls INTEGER NOT NULL DEFAULT 0, fired INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS history (id TEXT NOT NULL, changed_at REAL NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS history_id ON history (id);
"""


def _not_a_number(name: str) -> float:
    """What the store reads back for ``NaN``/``Infinity`` (which ``json`` writes but no emulator
    value holds): a value the range checks refuse."""
    return -1.0


def settle(rec: dict[str, Any], at: float) -> dict[str, Any] | None:
    """Apply the transitions due by ``at``; ``None`` when the resource is gone by then."""
    pending = rec.get("_transitions") or []
    if pending and pending[0][0] <= at:
        rec = dict(rec)
        keep = []
        for due, changes in pending:
            if due <= at:
                rec.update(changes)
            else:
                keep.append([due, changes])
        rec["_transitions"] = keep
    gone = rec.get("_gone_at")
    if gone is not None and gone <= at:
        return None
    return rec


def as_of(
    rec: dict[str, Any], at: float, history: Sequence[tuple[float, dict[str, Any]]] = ()
) -> dict[str, Any] | None:
    """The resource as it was (or was due to be) at virtual time ``at``, given its earlier
    versions as ``(replaced_at, version)`` pairs, oldest first."""
    if rec["_created"] > at:
        return None
    cur = rec
    for changed_at, before in reversed(history):
        if changed_at > at:
            cur = before
        else:
            break
    return settle(cur, at)


class Store:
    """The emulator's database. Requests are serialised: one writer at a time, like the SQLite
    file itself, which keeps concurrent clients safe without any in-process shared state."""

    def __init__(self, path: str | None = None):
        self.path = path
        self._lock = threading.RLock()
        self._pending: list[str] = []  # journal entries of reads, oldest first, not yet written
        self._closed = threading.Event()
        self._worker: threading.Thread | None = None
        if path:
            make_private(path)
        # rows are plain tuples (cheaper than sqlite3.Row); the statements are few and fixed, so the
        # connection's statement cache keeps every one of them prepared
        self._db = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None)
        if path:
            # Each commit writes every page it touched to the WAL, and the bytes written are most
            # of a change's cost: 2 KiB pages write ~35% fewer than the default 4 KiB (measured,
            # AuthorizeSecurityGroup). Only a new file takes it; an existing one keeps its own.
            self._db.execute("PRAGMA page_size=2048")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA wal_autocheckpoint=0")  # see _background
            for suffix in ("-wal", "-shm"):  # made by SQLite with the database's mode; older files too
                narrow(path + suffix)
        # Some builds (Debian's) zero every freed page, which costs page writes of its own; FAST
        # zeroes deleted content only in pages written anyway.
        self._db.execute("PRAGMA secure_delete=FAST")
        self._db.executescript(_SCHEMA)
        self._offset = self._read_offset()
        version = self.meta("schema_version")
        if version is None:
            self.set_meta("schema_version", SCHEMA_VERSION)
        elif int(version) > SCHEMA_VERSION:
            raise RuntimeError(f"{path}: written by a newer emulator (schema {version} > {SCHEMA_VERSION})")
        elif int(version) < 2:
            self._migrate_history_out()
        if path:
            self._worker = threading.Thread(target=self._background, name="store-background", daemon=True)
            self._worker.start()

    # -- meta (outside request transactions) ---------------------------------------------------
    def meta(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(row[0], parse_constant=_not_a_number) if row else default

    def set_meta(self, key: str, value: Any) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def now(self) -> float:
        """Virtual time: wall clock plus the offset that ``/_emulator/clock`` advanced."""
        return time.time() + self._offset

    def advance_clock(self, seconds: float) -> float:
        """Move the virtual clock forward; a value that is not a finite number of seconds, or
        that would take the clock more than a century ahead, is refused (``ValueError``)."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
            raise ValueError("advance: a finite number of seconds is required")
        if seconds < 0:
            raise ValueError("advance: the clock only moves forward; give seconds >= 0")
        with self._lock:
            if self._offset + seconds > MAX_CLOCK_OFFSET_S:
                raise ValueError(
                    f"advance: the virtual clock may run at most {MAX_CLOCK_OFFSET_S:.0f} s ahead of the wall clock; "
                    f"it is {self._offset:.0f} s ahead"
                )
            self._offset += float(seconds)
            self.set_meta("clock_offset", self._offset)
            return self.now()

    def _read_offset(self) -> float:
        """The stored clock offset, checked as if a client had sent it: a damaged value (not a
        finite number in range) starts the virtual clock over rather than breaking every request."""
        value = self.meta("clock_offset", 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_CLOCK_OFFSET_S:
            log.warning("%s: the stored clock offset is not a finite number of seconds in range; reset to 0", self.path)
            self.set_meta("clock_offset", 0.0)
            return 0.0
        return float(value)

    def transaction(self, now: float | None = None, view_time: float | None = None, write: bool = True) -> _Transaction:
        """One request: ``with store.transaction() as tx:`` commits on success and rolls back on
        any exception.

        ``write=False`` (a describe) reads without opening an SQLite transaction: the store's lock
        already keeps every other request out, and a read-only request then costs no BEGIN, COMMIT
        or locking. Should such a request write after all, its first write begins the transaction,
        so it still commits or rolls back as a whole."""
        return _Transaction(self, now, view_time, write)

    def _begin(self, flushed: list[str]) -> None:
        """BEGIN, with the buffered journal entries first (so the journal keeps arrival order);
        ``flushed`` gets them back should the transaction roll back."""
        self._db.execute("BEGIN IMMEDIATE")
        pending, self._pending = self._pending, []
        if pending:
            flushed.extend(pending)
            self._db.executemany("INSERT INTO journal (entry) VALUES (?)", [(e,) for e in pending])

    def journal_later(self, entry: dict[str, Any]) -> None:
        """Journal a request that changed nothing (see the module docstring)."""
        text = dumps_text(entry)
        with self._lock:
            self._pending.append(text)
            if len(self._pending) >= JOURNAL_BATCH and not self._db.in_transaction:
                self.flush()

    def flush(self) -> None:
        """Write the buffered journal entries now."""
        with self._lock:
            if self._pending and not self._closed.is_set():
                with self.transaction():
                    pass

    def _background(self) -> None:
        """Flush the journal and checkpoint the WAL, off the requests' path. A PASSIVE checkpoint
        never waits for (nor blocks) the request connection."""
        assert self.path is not None  # only a file database has a background worker
        checkpointer = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            while not self._closed.wait(BACKGROUND_EVERY_S):
                self.flush()
                checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:  # closed under us at shutdown; the next open checkpoints anyway
            pass
        finally:
            checkpointer.close()

    def close(self) -> None:
        """Write what is buffered and close; closing twice is harmless."""
        with self._lock:
            if self._closed.is_set():
                return
            self.flush()
            self._closed.set()
        if self._worker is not None:
            self._worker.join(timeout=5)
        with self._lock:
            self._db.close()

    def _migrate_history_out(self) -> None:
        """Schema 1 kept previous versions inside each resource; move them to ``history``."""
        with self.transaction() as tx:
            for id_, data in tx.sql("SELECT id, data FROM resources"):
                rec = json.loads(data)
                for changed_at, before in rec.pop("_history", []):
                    tx.sql("INSERT INTO history VALUES (?, ?, ?)", (id_, changed_at, json.dumps(before)))
                tx.sql("UPDATE resources SET data=? WHERE id=?", (json.dumps(rec), id_))
            tx.set_meta("schema_version", 2)


class _Transaction:
    """The context manager ``Store.transaction`` returns (a class rather than a generator: it is
    entered on every request)."""

    __slots__ = ("_flushed", "_now", "_store", "_view_time", "_write")

    def __init__(self, store: Store, now: float | None, view_time: float | None, write: bool):
        self._store, self._now, self._view_time, self._write = store, now, view_time, write
        self._flushed: list[str] = []

    def __enter__(self) -> Tx:
        store = self._store
        store._lock.acquire()
        try:
            if self._write:
                store._begin(self._flushed)
            tx = Tx(
                store._db,
                store.now() if self._now is None else self._now,
                None if self._write else lambda: store._begin(self._flushed),
            )
        except BaseException:
            self._end(failed=True)
            raise
        if self._view_time is not None:
            tx.view_time = self._view_time
        return tx

    def __exit__(self, kind: type[BaseException] | None, *_: Any) -> None:
        self._end(failed=kind is not None)

    def _end(self, failed: bool) -> None:
        store, db = self._store, self._store._db
        try:
            if not failed and db.in_transaction:
                try:
                    db.execute("COMMIT")
                except BaseException:
                    failed = True
                    raise
        finally:
            try:
                if failed:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    store._pending[:0] = self._flushed  # journal entries this one took, back in line
            finally:
                store._lock.release()


class Tx:
    """A request's view of the store. Reads settle transitions at ``view_time`` (normally now)."""

    def __init__(self, db: sqlite3.Connection, now: float, begin: Callable[[], None] | None = None):
        self._db = db
        self.now = now
        self.view_time = now
        self.fresh_ids: frozenset[str] = frozenset()  # read as of now whatever view_time says
        self._begin = begin  # starts the SQLite transaction at the first write of a read request

    def _writes(self) -> None:
        if self._begin is not None:
            begin, self._begin = self._begin, None
            begin()

    # -- resources -------------------------------------------------------------------------------
    def get(self, type_: str, id_: str | None, *, account: str) -> dict[str, Any] | None:
        """One resource of ``account`` by ID: another account's ID reads exactly like one that does
        not exist. Every product read names its account; see :meth:`find_in_every_account`."""
        if not id_:
            return None
        row = self._db.execute(_GET, (id_, type_)).fetchone()
        if row is None or row[1] != account:
            return None
        return self._view(id_, loads(row[0]))

    def find(self, type_: str, *, account: str, region: str | None = None, **where: Any) -> list[dict[str, Any]]:
        """Resources of ``account`` of a type in creation order, filtered by field equality."""
        return self._find(type_, account, region, where)

    def find_in_every_account(self, type_: str) -> list[dict[str, Any]]:
        """Resources of a type across all accounts. Only for what no single caller asks: the
        network's reachability (a packet crosses accounts) and the control API's state dump."""
        return self._find(type_, None, None, {})

    def _find(self, type_: str, account: str | None, region: str | None, where: dict[str, Any]) -> list[dict[str, Any]]:
        args = [type_]
        if account is not None:
            args.append(account)
        if region is not None:
            args.append(region)
        out = []
        for id_, data in self._db.execute(_FIND[account is not None, region is not None], args).fetchall():
            rec = self._view(id_, loads(data))
            if rec is not None and (not where or all(rec.get(k) == v for k, v in where.items())):
                out.append(rec)
        return out

    def _view(self, id_: str, rec: dict[str, Any]) -> dict[str, Any] | None:
        """``rec`` as this transaction sees it: settled at ``view_time``, from history if that is
        in the past. Versions are replaced at their writer's ``now``, never later than ours."""
        if self.view_time >= self.now or id_ in self.fresh_ids:
            return as_of(rec, self.now)
        rows = self._db.execute("SELECT changed_at, data FROM history WHERE id=? ORDER BY rowid", (id_,)).fetchall()
        return as_of(rec, self.view_time, [(t, loads(d)) for t, d in rows])

    def insert(self, type_: str, id_: str, account: str, region: str, data: dict[str, Any]) -> dict[str, Any]:
        self._writes()
        rec = dict(data, _type=type_, _id=id_, _account=account, _region=region, _created=self.now, _transitions=[])
        self._db.execute(
            "INSERT INTO resources SELECT ?, ?, ?, ?, COALESCE(MAX(seq), 0) + 1, ? FROM resources",
            (id_, type_, account, region, dumps_text(rec)),
        )
        return rec

    def put(self, rec: dict[str, Any]) -> dict[str, Any]:
        """Write back a resource read in this transaction, keeping the version it replaces
        (copied as stored text: nothing to decode)."""
        self._writes()
        id_ = rec["_id"]
        self._db.execute("INSERT INTO history SELECT id, ?, data FROM resources WHERE id=?", (self.now, id_))
        self._db.execute(
            "DELETE FROM history WHERE id=? AND rowid <= (SELECT rowid FROM history WHERE id=? "
            "ORDER BY rowid DESC LIMIT 1 OFFSET ?)",
            (id_, id_, HISTORY_KEEP),
        )
        self._db.execute("UPDATE resources SET data=? WHERE id=?", (dumps_text(rec), id_))
        return rec

    def schedule(self, rec: dict[str, Any], delay: float, **changes: Any) -> None:
        """Add a timed transition to ``rec`` (in memory; ``put`` writes it)."""
        rec.setdefault("_transitions", []).append([self.now + max(0.0, delay), changes])
        rec["_transitions"].sort(key=lambda t: t[0])
        settled = settle(rec, self.now)
        if settled is not None and settled is not rec:  # a zero delay applies at once
            rec.clear()
            rec.update(settled)

    def remove(self, rec: dict[str, Any], delay: float = 0.0) -> None:
        """Mark a resource gone after ``delay`` seconds of virtual time."""
        rec["_gone_at"] = self.now + max(0.0, delay)
        self.put(rec)

    def wipe(self) -> None:
        """Remove every resource, token, fault and journal entry (a world is loaded after)."""
        self._writes()
        for table in ("resources", "history", "tokens", "faults", "journal"):
            self._db.execute(f"DELETE FROM {table}")
        self._db.execute("DELETE FROM meta WHERE key NOT IN ('schema_version', 'clock_offset')")

    def set_meta(self, key: str, value: Any) -> None:
        self._writes()
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    # -- ids, idempotency, journal -----------------------------------------------------------------
    def new_id(self, prefix: str) -> str:
        """A realistic, unique ID: prefix plus 20 lowercase alphanumerics, deterministic per world."""
        self._writes()
        if self._db.execute(_COUNT_UP).rowcount == 0:  # the world's first ID
            self._db.execute("INSERT INTO meta VALUES ('id_counter', '1')")
        n, seed = self._db.execute(_COUNTER_AND_SEED).fetchone()  # seed: as stored, None without a world
        digest = hashlib.sha256(f"{seed if seed is not None else ''}:{prefix}:{n}".encode()).digest()
        alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
        return prefix + "".join(alphabet[b % 36] for b in digest[:20])

    def token(self, account: str, action: str, token: str) -> tuple[str, dict[str, Any]] | None:
        row = self._db.execute(
            "SELECT params_hash, response FROM tokens WHERE account=? AND action=? AND token=?",
            (account, action, token),
        ).fetchone()
        return (row[0], loads(row[1])) if row else None

    def save_token(self, account: str, action: str, token: str, params_hash: str, response: dict[str, Any]) -> None:
        self._writes()
        self._db.execute(
            "INSERT OR REPLACE INTO tokens VALUES (?, ?, ?, ?, ?)",
            (account, action, token, params_hash, dumps_text(response)),
        )

    def journal(self, entry: dict[str, Any]) -> None:
        self._writes()
        self._db.execute("INSERT INTO journal (entry) VALUES (?)", (dumps_text(entry),))

    def faults(self) -> list[tuple[int, dict[str, Any], int, int]]:
        return [
            (r[0], json.loads(r[1], parse_constant=_not_a_number), r[2], r[3])
            for r in self._db.execute("SELECT id, rule, calls, fired FROM faults ORDER BY id")
        ]

    def fault_counters(self) -> list[tuple[int, int, int]]:
        """(id, calls, fired) of every rule, in order."""
        return self._db.execute("SELECT id, calls, fired FROM faults ORDER BY id").fetchall()

    def count_fault(self, fault_id: int, calls: int, fired: int) -> None:
        self._writes()
        self._db.execute("UPDATE faults SET calls=?, fired=? WHERE id=?", (calls, fired, fault_id))

    def sql(self, statement: str, args: tuple = ()) -> list[tuple[Any, ...]]:
        """Direct access for the control API (journal, faults, state dumps)."""
        if not statement.lstrip().upper().startswith("SELECT"):
            self._writes()
        return self._db.execute(statement, args).fetchall()


def public(rec: dict[str, Any] | None) -> dict[str, Any] | None:
    """The resource without the store's bookkeeping keys."""
    if rec is None:
        return None
    return {k: copy.deepcopy(v) for k, v in rec.items() if not k.startswith("_")}
