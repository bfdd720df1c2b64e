"""The emulated instance shell (``shell.py``) on its own: script structure, ping's options and
output, and what is refused as not modelled."""

from __future__ import annotations

import pytest
from alicloud_emulator import shell
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


# -- cost: what is kept is bounded, what is counted is exact -------------------------------------------
def _brute(count: int, host: str = "172.16.1.10", size: int = 56) -> tuple[str, list[float]]:
    """Every reply line of a reachable ping, formatted one by one, and the round-trip times."""
    lines = list(shell._reply_lines(replies(host), host, size, count))
    rtts = [float(line.rsplit("time=", 1)[1].split()[0]) for line in lines]
    return "".join(lines), rtts


@pytest.mark.parametrize("count", [1, 2, 63, 64, 65, 129, 1000, 10_007])
def test_counted_bytes_and_statistics_match_the_lines_themselves(count: int) -> None:
    text, _ = _brute(count)
    assert shell._replies_bytes(replies(""), "172.16.1.10", 56, count) == len(text.encode())
    low, mean, high, mdev = shell._statistics(replies(""), "172.16.1.10", count)
    period = shell._period(shell._base_ms(replies("")), "172.16.1.10")
    exact = [period.sums[i + 1] - period.sums[i] for i in range(shell.RTT_PERIOD)]
    rtts = [exact[(seq - 1) % shell.RTT_PERIOD] for seq in range(1, count + 1)]
    assert low == pytest.approx(min(rtts)) and high == pytest.approx(max(rtts))
    assert mean == pytest.approx(sum(rtts) / count)
    assert mdev == pytest.approx((sum((r - mean) ** 2 for r in rtts) / count) ** 0.5, abs=1e-9)


def test_output_beyond_24_kb_is_counted_not_kept() -> None:
    r = run_script("ping -c 1000 -i 0.2 172.16.1.10", replies, 600)
    full = run_script("ping -c 1000 -i 0.2 172.16.1.10", replies, 600)
    text, _ = _brute(1000)
    header = "PING 172.16.1.10 (172.16.1.10) 56(84) bytes of data.\n"
    assert r.output == (header + text)[: 24 * 1024] and r.output == full.output
    summary = r.output_bytes - len(header) - len(text)
    assert 100 < summary < 300, "the statistics are counted although not kept"
    assert r.dropped == r.output_bytes - 24 * 1024


def test_a_huge_count_formats_only_what_is_kept(monkeypatch) -> None:
    formatted = []
    lines = shell._reply_lines

    def counting(*args):
        for line in lines(*args):
            formatted.append(line)
            yield line

    monkeypatch.setattr(shell, "_reply_lines", counting)
    r = run_script("ping -c 3000000 -i 0.002 172.16.1.10\n" * 50, replies, 10**7)
    assert r.exit_code == 0 and len(r.output.encode()) == 24 * 1024
    assert len(formatted) < 24 * 1024 / 40, "lines are formatted only while they fit in the output"
    assert r.output_bytes > 50 * 3_000_000 * 50
    assert "3000000 packets transmitted, 3000000 received" not in r.output  # cut off with the rest


def test_a_ping_killed_by_the_timeout_shows_the_replies_it_got_and_no_statistics() -> None:
    r = run_script("echo start\nping -c 100 -i 1 172.16.1.10", replies, 30)
    assert r.timed_out and r.exit_code is None and r.seconds == 30
    assert r.output.count("bytes from") == 31 and "statistics" not in r.output
    assert r.output.startswith("start\n")


@pytest.mark.parametrize("arg", ["-c 1e999", "-c nan", "-i inf", "-c 99999999999999999999", "-s 70000"])
def test_absurd_ping_arguments_are_refused_as_ping_does(arg: str) -> None:
    r = run_script(f"ping {arg} 172.16.1.10", replies, 60)
    assert r.exit_code == 2 and "invalid argument" in r.output
