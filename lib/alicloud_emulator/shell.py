"""The shell of an emulated Linux instance: what a Cloud Assistant script prints and exits with.

Only what a connectivity runbook needs is modelled:

* ``ping [-c count] [-W timeout] [-i interval] [-w deadline] [-s size] [-q] [-n] [-4] IPv4`` answers
  as Linux iputils ping does, exit 0 when a reply came back and 1 with "100% packet loss" when
  none did; whether replies come back is ``reachability.ping``'s decision. A ping with neither
  ``-c`` nor ``-w`` never ends, so the script runs into its timeout. A host name cannot be
  resolved (the emulator has no DNS): exit 2.
* ``echo [-n] args`` prints its arguments.
* Anything else exits 127 with a message saying the command is not modelled, and so does shell
  syntax beyond one simple command per line (pipes, ``&&``, ``;``, redirections, substitutions).

A script runs its non-empty, non-comment lines in order, like ``sh`` without ``-e``: the output is
all lines' output and the exit code is the last line's.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from .reachability import Verdict

MAX_OUTPUT = 24 * 1024  # Cloud Assistant keeps this many bytes of output and counts the rest as Dropped
_OPERATORS = set("|&;<>()")


@dataclass(frozen=True)
class Result:
    """How a script ended. ``exit_code`` is None when it never finished (``timed_out``)."""

    exit_code: int | None
    output: str
    seconds: float  # how long the script would have run on a real instance
    timed_out: bool = False
    explanation: str = ""  # why the emulator decided so (for its state dump, not for the output)


Pinger = Callable[[str], Verdict]


@dataclass(frozen=True)
class _Step:
    exit_code: int | None
    output: str
    seconds: float
    explanation: str = ""


def run_script(script: str, pinger: Pinger, timeout: float) -> Result:
    """Run ``script``; ``pinger(ip)`` says whether this instance would get echo replies from ``ip``."""
    output, seconds, exit_code, notes = "", 0.0, 0, []
    for line in script.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        step = _run_line(line, pinger)
        seconds += step.seconds
        if step.explanation:
            notes.append(step.explanation)
        if step.exit_code is None or seconds > timeout:
            return Result(
                None,
                output + step.output,
                float(timeout),
                True,
                "; ".join([*notes, f"the script runs past its timeout of {timeout:g} s"]),
            )
        output += step.output
        exit_code = step.exit_code
    return Result(exit_code, output, seconds, False, "; ".join(notes))


def _run_line(line: str, pinger: Pinger) -> _Step:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        words = list(lexer)
    except ValueError as e:
        return _Step(2, f"sh: syntax error: {e}\n", 0.0)
    if any(w and set(w) <= _OPERATORS for w in words) or "$(" in line or "`" in line:
        return _Step(
            127,
            f'sh: "{line}": shell syntax beyond one simple command per line is not modelled by the '
            "emulator (supported: ping, echo)\n",
            0.0,
        )
    name, args = words[0], words[1:]
    if name == "ping" or name.endswith("/ping"):
        return _ping(args, pinger)
    if name == "echo":
        if args[:1] == ["-n"]:
            return _Step(0, " ".join(args[1:]), 0.0)
        return _Step(0, " ".join(args) + "\n", 0.0)
    return _Step(127, f"sh: {name}: command not modelled by the emulator (supported: ping, echo)\n", 0.0)


_USAGE = "\nUsage\n  ping [options] <destination>\n"


def _ping(args: list[str], pinger: Pinger) -> _Step:
    opts: dict[str, float] = {}
    hosts: list[str] = []
    quiet = False
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("-") and len(a) > 1:
            flag, rest = a[1], a[2:]
            if flag in "qn4":
                quiet = quiet or flag == "q"
                for extra in rest:  # grouped flags such as -qn
                    if extra not in "qn4":
                        return _Step(2, f"ping: invalid option -- '{extra}'{_USAGE}", 0.0)
                    quiet = quiet or extra == "q"
            elif flag in "cWiws":
                value = rest or (args[i + 1] if i + 1 < len(args) else None)
                if not rest:
                    i += 1
                if value is None:
                    return _Step(2, f"ping: option requires an argument -- '{flag}'{_USAGE}", 0.0)
                try:
                    number = float(value)
                except ValueError:
                    return _Step(2, f"ping: invalid argument: '{value}'\n", 0.0)
                if (
                    number < 0
                    or (flag == "c" and (number < 1 or number != int(number)))
                    or (flag == "i" and number < 0.002)
                ):
                    return _Step(2, f"ping: invalid argument: '{value}'\n", 0.0)
                opts[flag] = number
            else:
                return _Step(2, f"ping: invalid option -- '{flag}'{_USAGE}", 0.0)
        else:
            hosts.append(a)
        i += 1
    if not hosts:
        return _Step(2, "ping: usage error: Destination address required\n", 0.0)
    host = hosts[-1]
    parts = host.split(".")
    if not (len(parts) == 4 and all(p.isdigit() and int(p) <= 255 for p in parts)):
        return _Step(
            2,
            f"ping: {host}: Name or service not known\n",
            0.0,
            f"ping {host}: the emulator resolves no host names; give an IPv4 address",
        )
    count = int(opts["c"]) if "c" in opts else None
    deadline = opts.get("w")
    interval = opts.get("i", 1.0)
    wait = opts.get("W", 10.0)
    size = int(opts.get("s", 56))
    if count is None and deadline is None:
        return _Step(
            None,
            f"PING {host} ({host}) {size}({size + 28}) bytes of data.\n",
            float("inf"),
            f"ping {host} without -c or -w never ends",
        )
    verdict = pinger(host)
    if count is None:
        count = max(1, int(deadline / interval) + 1)
    spent = (count - 1) * interval + (0.0 if verdict.reachable else wait)
    if deadline is not None:
        spent = min(spent, deadline)
        count = min(count, max(1, int(deadline / interval) + 1))
    lines = [f"PING {host} ({host}) {size}({size + 28}) bytes of data."]
    if verdict.reachable:
        rtts = [_rtt(verdict, host, seq) for seq in range(1, count + 1)]
        if not quiet:
            lines += [
                f"{size + 8} bytes from {host}: icmp_seq={seq} ttl=64 time={rtt:.{_digits(rtt)}f} ms"
                for seq, rtt in enumerate(rtts, start=1)
            ]
        mean = sum(rtts) / len(rtts)
        mdev = (sum((r - mean) ** 2 for r in rtts) / len(rtts)) ** 0.5
        lines += [
            "",
            f"--- {host} ping statistics ---",
            f"{count} packets transmitted, {count} received, 0% packet loss, "
            f"time {int((count - 1) * interval * 1000)}ms",
            f"rtt min/avg/max/mdev = {min(rtts):.3f}/{mean:.3f}/{max(rtts):.3f}/{mdev:.3f} ms",
        ]
        return _Step(0, "\n".join(lines) + "\n", spent, f"ping {host}: {verdict.reason}")
    lines += [
        "",
        f"--- {host} ping statistics ---",
        f"{count} packets transmitted, 0 received, 100% packet loss, time {int(spent * 1000)}ms",
        "",
    ]
    return _Step(1, "\n".join(lines) + "\n", spent, f"ping {host}: {verdict.reason}")


def _rtt(verdict: Verdict, host: str, seq: int) -> float:
    """A plausible, repeatable round-trip time for the path the verdict took."""
    base = {"self": 0.03, "vpc": 0.18}.get(verdict.path, 28.0 if verdict.cross_region else 1.2)
    jitter = int.from_bytes(hashlib.sha256(f"{host}:{seq}".encode()).digest()[:2], "big") / 65535
    return base * (0.9 + 0.2 * jitter)


def _digits(ms: float) -> int:
    return 3 if ms < 1 else (2 if ms < 10 else 1)
