"""The emulated instance shell (``shell.py``) on its own: script structure, ping's options and
output, and what is refused as not modelled."""

from __future__ import annotations

import pytest
from alicloud_emulator.reachability import Verdict
from alicloud_emulator.shell import run_script


def replies(ip: str) -> Verdict:
    return Verdict(True, "test", "peering", cross_region=True)


def silent(ip: str) -> Verdict:
    return Verdict(False, "test: no route")


def test_script_runs_lines_in_order_and_ends_with_the_last_exit_code() -> None:
    r = run_script("#!/bin/bash\n# check the peer\n\nping -c 1 -W 1 10.0.0.1\necho 'still here'\n", silent, 60)
    assert r.exit_code == 0 and r.output.endswith("still here\n") and "100% packet loss" in r.output
    assert run_script("echo a\nping -c 1 10.0.0.1", silent, 60).exit_code == 1


def test_ping_output_is_linux_shaped() -> None:
    r = run_script("ping -c 3 -i 0.5 172.16.1.10", replies, 60)
    lines = r.output.splitlines()
    assert lines[0] == "PING 172.16.1.10 (172.16.1.10) 56(84) bytes of data."
    assert [line.split(":")[1].split()[0] for line in lines[1:4]] == ["icmp_seq=1", "icmp_seq=2", "icmp_seq=3"]
    assert lines[5] == "--- 172.16.1.10 ping statistics ---"
    assert lines[6] == "3 packets transmitted, 3 received, 0% packet loss, time 1000ms"
    assert lines[7].startswith("rtt min/avg/max/mdev = ")
    assert r.output == run_script("ping -c 3 -i 0.5 172.16.1.10", replies, 60).output, "repeatable"


def test_quiet_ping_prints_only_the_summary() -> None:
    r = run_script("ping -qn -c 2 172.16.1.10", replies, 60)
    assert r.exit_code == 0 and "bytes from" not in r.output and "2 received" in r.output


def test_deadline_bounds_a_ping_without_count() -> None:
    r = run_script("ping -w 3 172.16.1.10", silent, 60)
    assert r.exit_code == 1 and "4 packets transmitted, 0 received, 100% packet loss, time 3000ms" in r.output


def test_a_ping_that_outlasts_the_timeout_times_out() -> None:
    r = run_script("ping -c 100 172.16.1.10", replies, 30)
    assert r.timed_out and r.exit_code is None


@pytest.mark.parametrize(
    "line, exit_code, words",
    [
        ("ping -x 10.0.0.1", 2, "invalid option -- 'x'"),
        ("ping -c", 2, "option requires an argument -- 'c'"),
        ("ping -c zero 10.0.0.1", 2, "invalid argument: 'zero'"),
        ("ping -c 0 10.0.0.1", 2, "invalid argument: '0'"),
        ("ping", 2, "Destination address required"),
        ("echo 'unterminated", 2, "syntax error"),
        ("curl http://10.0.0.1", 127, "curl: command not modelled by the emulator"),
        ("ping -c 1 10.0.0.1 && echo ok", 127, "not modelled by the emulator"),
        ("echo $(hostname)", 127, "not modelled by the emulator"),
    ],
)
def test_refused_lines(line: str, exit_code: int, words: str) -> None:
    r = run_script(line, replies, 60)
    assert r.exit_code == exit_code and words in r.output, r.output


def test_echo_keeps_quoted_separators_and_honours_dash_n() -> None:
    assert run_script("echo 'a;b' \"c|d\"", replies, 60).output == "a;b c|d\n"
    assert run_script("echo -n x", replies, 60).output == "x"
