"""Waits: polling with backoff, one report per state change, timeouts that name the state reached."""

from __future__ import annotations

import logging

import pytest
from vpclink.waits import (
    GONE,
    Progress,
    RealClock,
    WaitFailed,
    WaitTimeout,
    in_jupyter_kernel,
    wait_for,
    wait_while,
)


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def states(*seq: str):
    """A read function returning ``seq`` one by one, then its last item forever."""
    it = iter(seq)
    last = [seq[-1]]

    def read() -> str:
        last[0] = next(it, last[0])
        return last[0]

    return read


def test_polls_with_growing_pauses_and_reports_each_change_once():
    clock, events = FakeClock(), []
    read = states(
        "Connecting",
        "Connecting",
        "Connecting",
        "Connecting",
        "Connecting",
        "Connecting",
        "Connecting",
        "Connecting",
        "Active",
    )
    got = wait_for(
        read,
        what="router interface",
        resource_id="ri-1",
        expected=("Active",),
        timeout=100,
        progress=Progress("silent", on_event=events.append),
        clock=clock,
    )
    assert got == "Active"
    assert clock.sleeps[:4] == [0.5, 0.75, 1.125, 1.6875] and max(clock.sleeps) == 5.0
    assert [(e.kind, e.state) for e in events] == [("start", None), ("state", "Connecting"), ("done", "Active")]


def test_timeout_names_resource_state_reached_and_expected():
    clock, events = FakeClock(), []
    with pytest.raises(WaitTimeout) as e:
        wait_for(
            states("Pending"),
            what="route entry",
            resource_id="rte-1",
            expected=("Available",),
            timeout=12,
            progress=Progress("silent", on_event=events.append),
            clock=clock,
        )
    assert str(e.value) == (
        "timed out after 12 s waiting for route entry rte-1 to be Available; its state was still Pending"
    )
    assert (e.value.reached, e.value.expected) == ("Pending", ("Available",))
    assert sum(clock.sleeps) == pytest.approx(12)  # the last pause stops at the deadline
    assert events[-1].kind == "timeout" and events[-1].state == "Pending"


def test_timeout_on_a_resource_not_found_says_so():
    with pytest.raises(WaitTimeout, match="to be Idle; it was not found"):
        wait_for(
            states(GONE),
            what="router interface",
            resource_id="ri-1",
            expected=("Idle",),
            timeout=3,
            progress=Progress("silent"),
            clock=FakeClock(),
        )


def test_a_failed_state_ends_the_wait_at_once():
    clock = FakeClock()
    with pytest.raises(WaitFailed, match="router interface ri-1 became gone while waiting for it to be Active"):
        wait_for(
            states("Connecting", GONE),
            what="router interface",
            resource_id="ri-1",
            expected=("Active",),
            timeout=300,
            progress=Progress("silent"),
            clock=clock,
            failed=(GONE,),
        )
    assert clock.sleeps == [0.5]


def test_log_mode_writes_a_line_per_state_change(caplog):
    caplog.set_level(logging.INFO, logger="vpclink.waits")
    wait_for(
        states("Pending", "Pending", "Running", "Success"),
        what="command",
        resource_id="t-1",
        expected=("Success", "Failed"),
        goal="finished",
        timeout=60,
        progress=Progress("log"),
        clock=FakeClock(),
    )
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "waiting for command t-1 to be finished"
    assert [x.split(" after")[0] for x in lines[1:]] == [
        "command t-1 is Pending",
        "command t-1 is Running",
        "command t-1 is Success",
    ]


def test_bar_mode_shows_the_state_in_the_description(capsys):
    wait_for(
        states("Connecting", "Active"),
        what="router interface",
        resource_id="ri-1",
        expected=("Active",),
        timeout=60,
        progress=Progress("bar"),
        clock=FakeClock(),
    )
    err = capsys.readouterr().err
    assert "router interface ri-1: Connecting" in err and "router interface ri-1: Active" in err


def test_auto_mode_logs_outside_a_jupyter_kernel():
    assert not in_jupyter_kernel()
    assert Progress().mode == "log"
    with pytest.raises(ValueError, match="auto, bar, log or silent"):
        Progress("loud")


def test_real_clock_scales_pauses():
    clock = RealClock(scale=0.0)
    t = clock.now()
    clock.sleep(100)
    assert clock.now() - t < 1


def test_a_failing_read_ends_the_report_and_propagates():
    events, reads = [], []

    def read() -> str:
        reads.append(1)
        if len(reads) > 2:
            raise RuntimeError("throttled for good")
        return "Pending"

    with pytest.raises(RuntimeError, match="throttled for good"):
        wait_for(
            read,
            what="route entry",
            resource_id="rte-1",
            expected=("Available",),
            timeout=60,
            progress=Progress("silent", on_event=events.append),
            clock=FakeClock(),
        )
    assert [(e.kind, e.state) for e in events] == [("start", None), ("state", "Pending"), ("error", "Pending")]


def test_wait_while_returns_the_first_state_that_is_not_pending():
    from vpclink.waits import wait_while

    clock, events = FakeClock(), []
    state = wait_while(
        states(GONE, GONE, "Idle"),
        pending=(GONE,),
        what="router interface",
        resource_id="ri-1",
        timeout=10,
        progress=Progress("silent", on_event=events.append),
        clock=clock,
        goal="visible (reads may lag)",
    )
    assert state == "Idle" and 0 < clock.t < 10
    assert [(e.kind, e.state) for e in events] == [("start", None), ("state", GONE), ("done", "Idle")]


def test_wait_while_answers_with_the_pending_state_once_the_time_is_up():
    """Out of time is an answer here (a resource still not shown once reads cannot lag any more)."""
    from vpclink.waits import wait_while

    clock = FakeClock()
    state = wait_while(
        states(GONE),
        pending=(GONE,),
        what="route entry",
        resource_id="rte-1",
        timeout=4,
        progress=Progress("silent"),
        clock=clock,
        goal="visible",
        began=-1.0,  # the time already spent counts
    )
    assert state == GONE and clock.t == pytest.approx(3.0)


def test_wait_while_does_not_wait_when_the_first_read_is_not_pending():
    from vpclink.waits import wait_while

    clock, events = FakeClock(), []
    read = states("Idle")
    kw = dict(what="x", resource_id="y", timeout=5, clock=clock, goal="z")
    assert wait_while(read, pending=(GONE,), progress=Progress("silent", on_event=events.append), **kw) == "Idle"
    assert clock.sleeps == [] and events == []


@pytest.mark.parametrize("start", [0.8, 6.4, 123.7])
def test_waits_end_at_their_deadline_on_a_clock_that_adds_up_its_pauses(start: float) -> None:
    """A virtual clock (the tests' EmulatorClock) adds each pause to its time. From such start times
    ``now - began`` falls a hair short of the timeout, and the pause for the rest is too small for the
    float to add: the waits must still end at their deadline, after a few pauses."""
    clock = FakeClock()
    clock.t = start
    state = wait_while(
        states("reads may lag"),
        pending=("reads may lag",),
        what="link",
        resource_id="l",
        timeout=2.0,
        progress=Progress("silent"),
        clock=clock,
        goal="past the allowance",
        began=start,
    )
    assert state == "reads may lag" and clock.t >= start + 2.0 and len(clock.sleeps) <= 4
    clock = FakeClock()
    clock.t = start
    with pytest.raises(WaitTimeout):
        wait_for(
            states("Pending"),
            what="route entry",
            resource_id="rte-1",
            expected=("Available",),
            timeout=10.0,
            progress=Progress("silent"),
            clock=clock,
        )
    assert clock.t >= start + 10.0 and len(clock.sleeps) <= 6


class NoPauseClock:
    """A clock whose pauses take no time (``RealClock(0)``), where reading the time takes a little."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        self.t += 0.001
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def test_a_wait_that_polls_thousands_of_times_still_times_out() -> None:
    clock = NoPauseClock()
    with pytest.raises(WaitTimeout):
        wait_for(
            states("Pending"),
            what="route entry",
            resource_id="rte-1",
            expected=("Available",),
            timeout=20.0,
            progress=Progress("silent"),
            clock=clock,
        )
    assert len(clock.sleeps) > 2000  # more polls than a growing pause could count in a float
