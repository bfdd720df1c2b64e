"""Rate control of a fleet (``--max-concurrency``, ``--max-errors``), as SSM Automation and StackSets
do it: the thresholds, the links not started past the error threshold (recorded with the reason), the
links in flight that still finish; then the same through the fleet's loop with injected failures, on
an engine in this process (no Dask, no cloud)."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from vpclink.fleet import preview
from vpclink.fleet import run as fleet_run
from vpclink.fleet.rate import RateControl, RateError, Threshold

NAMES = ["a", "b", "c", "d", "e"]


@pytest.mark.parametrize(
    ("text", "total", "links"),
    [("5", 10, 5), ("20%", 10, 2), ("10%", 8, 0), ("100%", 7, 7), (" 3 ", 9, 3), (4, 9, 4), ("0", 4, 0)],
)
def test_a_threshold_is_a_number_of_links_or_a_percentage_rounded_down(text: object, total: int, links: int) -> None:
    assert Threshold.parse(text, "--max-errors").of(total) == links


@pytest.mark.parametrize("text", ["", "abc", "-1", "5.5", "101%", "%", "1e3", True, None])
def test_a_bad_threshold_is_refused_naming_the_option_and_the_valid_forms(text: object) -> None:
    with pytest.raises(RateError) as e:
        Threshold.parse(text, "--max-concurrency")
    assert "--max-concurrency" in str(e.value)
    assert "number of links" in str(e.value) or "at most 100%" in str(e.value)


def test_concurrency_is_at_least_one_and_starts_links_in_the_files_order() -> None:
    rate = RateControl(NAMES, Threshold.parse("0%", ""), Threshold.parse("0", ""))
    assert rate.concurrency == 1
    assert rate.ready() == ["a"] and rate.ready() == []
    rate.finished("a", True)
    assert rate.ready() == ["b"]


def test_no_more_than_max_concurrency_run_at_once() -> None:
    rate = RateControl(NAMES, Threshold.parse("2", ""), Threshold.parse("100%", ""))
    assert rate.ready() == ["a", "b"]
    rate.finished("b", False, "boom")
    assert rate.ready() == ["c"] and rate.running == ["a", "c"]


def test_past_max_errors_no_link_starts_and_each_is_recorded_with_the_reason() -> None:
    rate = RateControl(NAMES, Threshold.parse("1", ""), Threshold.parse("1", ""))  # one failure tolerated
    rate.ready()
    rate.finished("a", False, "routes: TaskConflict")
    assert not rate.stopped and rate.ready() == ["b"]
    rate.finished("b", False, "verify: ping failed")
    assert rate.stopped and rate.stopped_by == "b"
    assert rate.ready() == [] and rate.done
    assert list(rate.not_started) == ["c", "d", "e"]
    reason = rate.not_started["c"]
    assert "not started" in reason and "max_errors 1" in reason and "b" in reason
    outcome = rate.outcome()
    assert outcome["failed"] == {"a": "routes: TaskConflict", "b": "verify: ping failed"}
    assert outcome["not_started"] == rate.not_started and outcome["stopped_by"] == "b"


def test_max_errors_zero_stops_after_the_first_failure_and_links_in_flight_finish() -> None:
    rate = RateControl(NAMES, Threshold.parse("3", ""), Threshold.parse("0", ""))
    assert rate.ready() == ["a", "b", "c"]
    rate.finished("a", False, "boom")
    assert rate.stopped and set(rate.not_started) == {"d", "e"}
    rate.finished("b", True)
    rate.finished("c", False, "boom too")  # a link in flight finishes, and its failure is recorded
    assert rate.done and rate.succeeded == ["b"] and set(rate.failed) == {"a", "c"}
    assert rate.stopped_by == "a"


def test_a_percentage_of_errors_is_of_the_fleets_links() -> None:
    rate = RateControl(NAMES * 1 + ["f", "g", "h", "i", "j"], Threshold.parse("10", ""), Threshold.parse("20%", ""))
    assert rate.error_threshold == 2  # 20% of 10
    started = rate.ready()
    for name in started[:2]:
        rate.finished(name, False)
    assert not rate.stopped
    rate.finished(started[2], False)
    assert rate.stopped


def test_a_link_whose_worker_died_runs_again_even_after_a_stop() -> None:
    rate = RateControl(NAMES, Threshold.parse("2", ""), Threshold.parse("0", ""))
    rate.ready()
    rate.requeue("b")  # its worker died: it was in flight
    rate.finished("a", False)
    assert rate.stopped and rate.ready() == ["b"]
    rate.finished("b", True)
    assert rate.done and set(rate.not_started) == {"c", "d", "e"}


def test_a_link_verified_earlier_is_skipped_without_counting() -> None:
    rate = RateControl(NAMES, Threshold.parse("1", ""), Threshold.parse("0", ""))
    rate.skip("a", "verified earlier")
    assert rate.ready() == ["b"] and rate.skipped == {"a": "verified earlier"}


def test_describe_says_how_many_at_once_in_which_order_and_when_starts_stop() -> None:
    rate = RateControl(NAMES, Threshold.parse("2", ""), Threshold.parse("1", ""))
    assert rate.describe("runs") == [
        "runs 5 link(s), at most 2 at once (--max-concurrency 2), in the file's order: first a, b; then, each as "
        "soon as a link in flight ends, c, d, e",
        "after 2 failed link(s) (--max-errors 1) no new link starts; links in flight finish",
    ]
    rate = RateControl(NAMES, Threshold.parse("40%", ""), Threshold.parse("20%", ""))
    first, errors = rate.describe("would run")
    assert "at most 2 at once (--max-concurrency 40%: 2 of 5)" in first and "first a, b;" in first
    assert errors.startswith("after 2 failed link(s) (--max-errors 20%: 1 of 5)")
    assert (
        "(--max-concurrency 10%: 0 of 5, at least one)"
        in RateControl(NAMES, Threshold.parse("10%", "")).describe("runs")[0]
    )
    assert "all at once: a, b, c, d, e" in RateControl(NAMES, Threshold.parse("10", "")).describe("runs")[0]
    rate = RateControl(NAMES, Threshold.parse("1", ""))
    for name in NAMES:
        rate.skip(name, "verified earlier")
    assert rate.describe("runs") == ["every link is done already: none to start"]
    assert rate.waiting == [] and rate.running == []  # describing starts nothing


# -- the fleet's loop, with injected failures --------------------------------------------------------------


class _Engine:
    """The engine's interface on a thread pool of this process: each task runs ``behaviour``."""

    def __init__(self, *_: Any, **__: Any):
        self.where = "in-process"
        self._pool = ThreadPoolExecutor(4)
        self.submitted: list[str] = []

    def submit(self, fn: Callable[..., Any], task: fleet_run.LinkTask, *, key: str) -> Future:
        self.submitted.append(task.name)
        future = self._pool.submit(fn, task)
        future.key = key  # type: ignore[attr-defined]
        return future

    def as_completed(self, futures: Iterable[Future] = ()) -> _AsCompleted:
        return _AsCompleted(futures)

    @staticmethod
    def died(error: BaseException) -> bool:
        return False

    def __enter__(self) -> _Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown()


class _AsCompleted:
    def __init__(self, futures: Iterable[Future]):
        self._done: queue.Queue[Future] = queue.Queue()
        self._count = 0
        self._lock = threading.Lock()
        for f in futures:
            self.add(f)

    def add(self, future: Future) -> None:
        with self._lock:
            self._count += 1
        future.add_done_callback(self._done.put)

    def __iter__(self) -> Iterator[Future]:
        while True:
            with self._lock:
                if self._count == 0:
                    return
                self._count -= 1
            yield self._done.get()


FAILING = {"hub-b", "hub-c"}


def _fake_link(task: fleet_run.LinkTask) -> fleet_run.LinkOutcome:
    ok = task.name not in FAILING
    return fleet_run.LinkOutcome(
        task.name, ok, "verified" if ok else "failed", 0 if ok else 1, message="" if ok else "injected"
    )


def _fleet(tmp_path: Path, spokes: int) -> Path:
    vpcs = {
        "hub": {
            "profile": "p-hub",
            "region": "cn-hangzhou",
            "vpc_id": "vpc-bp1hub0000000000001",
            "vpc_cidr": "10.0.0.0/16",
            "security_group_id": "sg-bp1hubsg0000000001",
        }
    }
    for i in range(spokes):
        letter = "abcde"[i]
        vpcs[letter] = {
            "profile": f"p-{letter}",
            "region": "cn-hangzhou",
            "vpc_id": f"vpc-bp1spoke{letter}00000000001",
            "vpc_cidr": f"10.{11 + i}.0.0/16",
            "security_group_id": f"sg-bp1spoke{letter}sg0000001",
        }
    data = {
        "fleet": "rated",
        "vpcs": vpcs,
        "defaults": {"bandwidth_mbps": 10},
        "links": [{"initiator": "hub", "acceptor": "abcde"[i]} for i in range(spokes)],
    }
    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_the_fleet_record_says_which_links_were_not_started_and_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engines: list[_Engine] = []

    def engine(*args: Any, **kwargs: Any) -> _Engine:
        engines.append(_Engine())
        return engines[-1]

    monkeypatch.setattr(fleet_run, "Engine", engine)
    monkeypatch.setattr(fleet_run, "run_link", _fake_link)
    lines: list[str] = []
    options = fleet_run.FleetOptions(records=tmp_path / "runs", max_concurrency="1", max_errors="1", log=lines.append)
    result = fleet_run.run_fleet(_fleet(tmp_path, 5), options)
    assert result.exit_code == 1
    assert engines[0].submitted == ["hub-a", "hub-b", "hub-c"]  # one at a time; b and c failed: past 1
    record = json.loads((result.run_dir / "fleet.json").read_text())
    states = {link["name"]: link["state"] for link in record["links"]}
    assert states == {
        "hub-a": "verified",
        "hub-b": "failed",
        "hub-c": "failed",
        "hub-d": "not started",
        "hub-e": "not started",
    }
    for name in ("hub-d", "hub-e"):
        (entry,) = [link for link in record["links"] if link["name"] == name]
        assert "max_errors 1" in entry["message"] and "hub-c" in entry["message"]
    assert record["rate"]["stopped_by"] == "hub-c"
    page = (result.run_dir / "index.html").read_text()
    assert "not started" in page and "stopped" in page
    assert any("stops starting links" in line for line in lines)


@pytest.mark.parametrize(
    ("error", "died"),
    [
        ("RuntimeError: Kernel didn't respond in 60 seconds", True),
        ("DeadKernelError: Kernel died", True),
        ("CloudError: InvalidVpcId.NotFound (request ID 1A2B)", False),
    ],
)
def test_a_link_whose_kernel_died_or_never_answered_is_run_again(error: str, died: bool) -> None:
    record = {"phases": [{"name": "preflight", "status": "failed", "error": error}]}
    assert (fleet_run._dead_kernel(record) is not None) is died


def test_the_fleet_files_quotas_are_the_ones_its_run_holds_to(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fleet_run, "Engine", _Engine)
    monkeypatch.setattr(fleet_run, "run_link", _fake_link)
    path = _fleet(tmp_path, 1)
    path.write_text(path.read_text() + "quotas:\n  CreateRouteEntry: 50\n")
    result = fleet_run.run_fleet(path, fleet_run.FleetOptions(records=tmp_path / "runs", log=lambda _: None))
    assert result.exit_code == 0
    record = json.loads((result.run_dir / "fleet.json").read_text())
    assert record["quota_overrides"]["CreateRouteEntry"]["calls"] == 50


def test_a_fleet_plan_says_the_concurrency_a_run_would_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fleet_run, "Engine", _Engine)
    monkeypatch.setattr(fleet_run, "run_link", lambda task: fleet_run.LinkOutcome(task.name, True, "planned", 0))
    lines: list[str] = []
    options = fleet_run.FleetOptions(records=tmp_path / "runs", max_concurrency="2", max_errors="1", log=lines.append)
    assert fleet_run.run_fleet(_fleet(tmp_path, 5), options, "plan").exit_code == 0
    assert (
        "  vpclink run with these options would run 5 link(s), at most 2 at once (--max-concurrency 2), in the "
        "file's order: first hub-a, hub-b; then, each as soon as a link in flight ends, hub-c, hub-d, hub-e"
    ) in lines
    assert "  after 2 failed link(s) (--max-errors 1) no new link starts; links in flight finish" in lines


def test_a_fleet_teardown_dry_run_says_the_concurrency_the_teardown_would_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fleet_run, "Engine", _Engine)
    monkeypatch.setattr(fleet_run, "run_link", _fake_link)
    run = fleet_run.run_fleet(
        _fleet(tmp_path, 3), fleet_run.FleetOptions(records=tmp_path / "runs", max_errors="100%", log=lambda _: None)
    )
    previewed: list[str] = []

    def dry_run(fleet_dir: Path, name: str, options: fleet_run.FleetOptions, log: Callable[[str], None]) -> bool:
        previewed.append(name)
        return True

    monkeypatch.setattr(preview, "_preview_link", dry_run)
    lines: list[str] = []
    options = fleet_run.FleetOptions(max_concurrency="50%", max_errors="0", log=lines.append)
    assert preview.preview_teardown(run.run_dir, options) == 0
    assert previewed == ["hub-a", "hub-b", "hub-c"]
    assert (
        "  vpclink teardown of this directory with these options would tear down 3 link(s), at most 1 at once "
        "(--max-concurrency 50%: 1 of 3), in the file's order: first hub-a; then, each as soon as a link in flight "
        "ends, hub-b, hub-c"
    ) in lines
    assert "  after 1 failed link(s) (--max-errors 0) no new link starts; links in flight finish" in lines


class _WorkerLost(Exception):
    """Stands for distributed's KilledWorker: the task's worker died."""


class _DyingEngine(_Engine):
    @staticmethod
    def died(error: BaseException) -> bool:
        return isinstance(error, _WorkerLost)


def test_a_link_whose_worker_died_is_submitted_again_and_its_record_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lost: list[str] = []

    def link(task: fleet_run.LinkTask) -> fleet_run.LinkOutcome:
        if not lost:
            lost.append(task.name)
            raise _WorkerLost("the worker went away")
        return _fake_link(task)

    engines: list[_Engine] = []

    def engine(*args: Any, **kwargs: Any) -> _Engine:
        engines.append(_DyingEngine())
        return engines[-1]

    monkeypatch.setattr(fleet_run, "Engine", engine)
    monkeypatch.setattr(fleet_run, "run_link", link)
    lines: list[str] = []
    result = fleet_run.run_fleet(
        _fleet(tmp_path, 1), fleet_run.FleetOptions(records=tmp_path / "runs", log=lines.append)
    )
    assert result.exit_code == 0, lines
    assert engines[0].submitted == ["hub-a", "hub-a"]
    (link_record,) = json.loads((result.run_dir / "fleet.json").read_text())["links"]
    assert link_record["state"] == "verified"
    reason = "the Dask worker running it died (_WorkerLost)"
    assert link_record["retried"] == [{"attempt": None, "exit_code": None, "reason": reason}]
    assert f"retried: {reason}" in (result.run_dir / "index.html").read_text()


def test_the_record_is_rewritten_once_per_start_and_end_and_always_says_what_just_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fleet_run, "Engine", _Engine)
    monkeypatch.setattr(fleet_run, "run_link", lambda task: fleet_run.LinkOutcome(task.name, True, "verified", 0))
    written: list[dict[str, str]] = []  # the states fleet.json held after each rewrite during the run
    update = fleet_run.record.Book.update

    def recorded(book: fleet_run.record.Book, *args: Any) -> None:
        update(book, *args)
        links = json.loads((book.run_dir / "fleet.json").read_text())["links"]
        written.append({link["name"]: link["state"] for link in links})

    monkeypatch.setattr(fleet_run.record.Book, "update", recorded)
    options = fleet_run.FleetOptions(records=tmp_path / "runs", max_concurrency="1", log=lambda _: None)
    assert fleet_run.run_fleet(_fleet(tmp_path, 3), options).exit_code == 0
    assert [list(states.values()) for states in written] == [
        ["pending", "pending", "pending"],  # the run begins
        ["running", "pending", "pending"],
        ["verified", "running", "pending"],  # a link ended, and the next one started in its place
        ["verified", "verified", "running"],
        ["verified", "verified", "verified"],
    ]
