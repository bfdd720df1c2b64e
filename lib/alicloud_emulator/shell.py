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
all lines' output and the exit code is the last line's. A script that would run past its timeout
is killed there: a ping prints the replies it got by then, and no statistics.

The cost of a script does not grow with what it asks for. Cloud Assistant keeps the first 24 KB
of a command's output and reports the rest only as a count of bytes (``Dropped``; the
DescribeInvocationResults reference,
https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describeinvocationresults),
so only that much is ever produced: ``ping -c 3000000`` formats the replies that fit in 24 KB,
and its byte count and statistics are computed, not counted out (round-trip times repeat with a
period of ``RTT_PERIOD`` replies, so sums over any count are closed-form).
"""

from __future__ import annotations

import functools
import hashlib
import math
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .reachability import Verdict

MAX_OUTPUT = 24 * 1024  # Cloud Assistant keeps this many bytes of output and counts the rest as Dropped
RTT_PERIOD = 64
_OPERATORS = set("|&;<>()")


@dataclass(frozen=True)
class Result:
    """How a script ended. ``exit_code`` is None when it never finished (``timed_out``).
    ``output`` is the first ``MAX_OUTPUT`` bytes of what it printed, ``output_bytes`` all of it."""

    exit_code: int | None
    output: str
    seconds: float  # how long the script would have run on a real instance
    timed_out: bool = False
    explanation: str = ""  # why the emulator decided so (for its state dump, not for the output)
    output_bytes: int = 0

    @property
    def dropped(self) -> int:
        return max(0, self.output_bytes - len(self.output.encode("utf-8")))


Pinger = Callable[[str], Verdict]


class Output:
    """What a script prints: the first ``cap`` bytes kept, every byte counted."""

    def __init__(self, cap: int = MAX_OUTPUT):
        self.cap = cap
        self.total = 0
        self._kept = bytearray()

    @property
    def full(self) -> bool:
        return len(self._kept) >= self.cap

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        self.total += len(data)
        if not self.full:
            self._kept += data[: self.cap - len(self._kept)]

    def write_lines(self, lines: Iterator[str], total_bytes: int) -> None:
        """Lines whose bytes add up to ``total_bytes``, formatted only while there is room."""
        self.total += total_bytes
        if self.full:
            return
        for line in lines:
            self._kept += line.encode("utf-8")[: self.cap - len(self._kept)]
            if self.full:
                break

    def text(self) -> str:
        return self._kept.decode("utf-8", "ignore")  # a character cut at the limit is dropped whole


@dataclass(frozen=True)
class _Step:
    exit_code: int | None  # None: still running when the time ran out
    seconds: float
    explanation: str = ""


Line = list[str] | str  # the words of a simple command, or the error text of a refused line


def parse_script(script: str) -> list[tuple[str, Line]]:
    """Each line that runs, as (its text, its words or the refusal it prints). Parsed once for
    every instance a command runs on."""
    out: list[tuple[str, Line]] = []
    for raw in script.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        try:
            words = list(lexer)
        except ValueError as e:
            out.append((line, f"sh: syntax error: {e}\n"))
            continue
        if any(w and set(w) <= _OPERATORS for w in words) or "$(" in line or "`" in line:
            out.append(
                (
                    line,
                    f'sh: "{line}": shell syntax beyond one simple command per line is not modelled by the '
                    "emulator (supported: ping, echo)\n",
                )
            )
            continue
        out.append((line, words))
    return out


def run_script(script: str | list[tuple[str, Line]], pinger: Pinger, timeout: float) -> Result:
    """Run ``script``; ``pinger(ip)`` says whether this instance would get echo replies from ``ip``."""
    lines = parse_script(script) if isinstance(script, str) else script
    out = Output()
    verdicts: dict[str, Verdict] = {}

    def cached(ip: str) -> Verdict:
        if ip not in verdicts:
            verdicts[ip] = pinger(ip)
        return verdicts[ip]

    seconds, exit_code, notes = 0.0, 0, []
    for _, line in lines:
        step = _run_line(line, cached, timeout - seconds, out)
        seconds += step.seconds
        if step.explanation:
            notes.append(step.explanation)
        if step.exit_code is None:
            notes.append(f"the script runs past its timeout of {timeout:g} s")
            return Result(None, out.text(), float(timeout), True, "; ".join(notes), out.total)
        exit_code = step.exit_code
    return Result(exit_code, out.text(), seconds, False, "; ".join(notes), out.total)


def _run_line(line: Line, pinger: Pinger, remaining: float, out: Output) -> _Step:
    if isinstance(line, str):
        out.write(line)
        return _Step(2 if line.startswith("sh: syntax error") else 127, 0.0)
    name, args = line[0], line[1:]
    if name == "ping" or name.endswith("/ping"):
        return _ping(args, pinger, remaining, out)
    if name == "echo":
        if args[:1] == ["-n"]:
            out.write(" ".join(args[1:]))
        else:
            out.write(" ".join(args) + "\n")
        return _Step(0, 0.0)
    out.write(f"sh: {name}: command not modelled by the emulator (supported: ping, echo)\n")
    return _Step(127, 0.0)


_USAGE = "\nUsage\n  ping [options] <destination>\n"


def _usage_error(out: Output, text: str, explanation: str = "") -> _Step:
    out.write(text)
    return _Step(2, 0.0, explanation)


def _ping(args: list[str], pinger: Pinger, remaining: float, out: Output) -> _Step:
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
                        return _usage_error(out, f"ping: invalid option -- '{extra}'{_USAGE}")
                    quiet = quiet or extra == "q"
            elif flag in "cWiws":
                value = rest or (args[i + 1] if i + 1 < len(args) else None)
                if not rest:
                    i += 1
                if value is None:
                    return _usage_error(out, f"ping: option requires an argument -- '{flag}'{_USAGE}")
                try:
                    number = float(value)
                except ValueError:
                    return _usage_error(out, f"ping: invalid argument: '{value[:64]}'\n")
                if (
                    not math.isfinite(number)
                    or number < 0
                    or (flag == "c" and (number < 1 or number != int(number) or number > 2**63 - 1))
                    or (flag == "i" and number < 0.002)
                    or (flag == "s" and number > 65507)
                ):
                    return _usage_error(out, f"ping: invalid argument: '{value[:64]}'\n")
                opts[flag] = number
            else:
                return _usage_error(out, f"ping: invalid option -- '{flag}'{_USAGE}")
        else:
            hosts.append(a)
        i += 1
    if not hosts:
        return _usage_error(out, "ping: usage error: Destination address required\n")
    host = hosts[-1]
    parts = host.split(".")
    if not (len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts)):
        return _usage_error(
            out,
            f"ping: {host[:255]}: Name or service not known\n",
            f"ping {host[:64]}: the emulator resolves no host names; give an IPv4 address",
        )
    size = int(opts.get("s", 56))
    out.write(f"PING {host} ({host}) {size}({size + 28}) bytes of data.\n")
    count = int(opts["c"]) if "c" in opts else None
    deadline = opts.get("w")
    interval = opts.get("i", 1.0)
    wait = opts.get("W", 10.0)
    if count is None and deadline is None:
        return _Step(None, remaining, f"ping {host} without -c or -w never ends")
    verdict = pinger(host)
    if deadline is not None:
        by_deadline = max(1, int(deadline / interval) + 1)
        count = by_deadline if count is None else min(count, by_deadline)
    assert count is not None
    spent = (count - 1) * interval + (0.0 if verdict.reachable else wait)
    if deadline is not None:
        spent = min(spent, deadline)
    why = f"ping {host}: {verdict.reason}"
    if spent > remaining:  # killed at the timeout: the replies so far, no statistics
        if verdict.reachable and not quiet:
            got = min(count, int(remaining / interval) + 1 if remaining >= 0 else 0)
            out.write_lines(_reply_lines(verdict, host, size, got), _replies_bytes(verdict, host, size, got))
        return _Step(None, remaining, why)
    if not verdict.reachable:
        out.write(
            f"\n--- {host} ping statistics ---\n"
            f"{count} packets transmitted, 0 received, 100% packet loss, time {int(spent * 1000)}ms\n\n"
        )
        return _Step(1, spent, why)
    if not quiet:
        out.write_lines(_reply_lines(verdict, host, size, count), _replies_bytes(verdict, host, size, count))
    low, mean, high, mdev = _statistics(verdict, host, count)
    out.write(
        f"\n--- {host} ping statistics ---\n"
        f"{count} packets transmitted, {count} received, 0% packet loss, time {int((count - 1) * interval * 1000)}ms\n"
        f"rtt min/avg/max/mdev = {low:.3f}/{mean:.3f}/{high:.3f}/{mdev:.3f} ms\n"
    )
    return _Step(0, spent, why)


# -- replies: formatted only while they fit, counted and summarised in closed form --------------------
@dataclass(frozen=True)
class _Period:
    """The round-trip times of one period of replies to a host, with running sums (index k: over
    the first k replies), so that any count's totals are a few additions."""

    texts: tuple[str, ...]
    sums: tuple[float, ...]
    squares: tuple[float, ...]
    text_bytes: tuple[int, ...]
    lows: tuple[float, ...]
    highs: tuple[float, ...]


@functools.lru_cache(maxsize=1024)
def _period(base: float, host: str) -> _Period:
    """A plausible, repeatable round-trip time for each reply of a period."""
    rtts = []
    for seq in range(1, RTT_PERIOD + 1):
        jitter = int.from_bytes(hashlib.sha256(f"{host}:{seq}".encode()).digest()[:2], "big") / 65535
        rtts.append(base * (0.9 + 0.2 * jitter))
    texts = tuple(f"{ms:.{3 if ms < 1 else (2 if ms < 10 else 1)}f}" for ms in rtts)
    sums, squares, text_bytes, lows, highs = [0.0], [0.0], [0], [math.inf], [-math.inf]
    for ms, text in zip(rtts, texts, strict=True):
        sums.append(sums[-1] + ms)
        squares.append(squares[-1] + ms * ms)
        text_bytes.append(text_bytes[-1] + len(text))
        lows.append(min(lows[-1], ms))
        highs.append(max(highs[-1], ms))
    return _Period(texts, tuple(sums), tuple(squares), tuple(text_bytes), tuple(lows), tuple(highs))


def _base_ms(verdict: Verdict) -> float:
    return {"self": 0.03, "vpc": 0.18}.get(verdict.path, 28.0 if verdict.cross_region else 1.2)


def _reply_lines(verdict: Verdict, host: str, size: int, count: int) -> Iterator[str]:
    texts = _period(_base_ms(verdict), host).texts
    for seq in range(1, count + 1):
        yield f"{size + 8} bytes from {host}: icmp_seq={seq} ttl=64 time={texts[(seq - 1) % RTT_PERIOD]} ms\n"


def _replies_bytes(verdict: Verdict, host: str, size: int, count: int) -> int:
    """The bytes of ``count`` reply lines, without formatting them."""
    fixed = len(f"{size + 8} bytes from {host}: icmp_seq= ttl=64 time= ms\n")
    text_bytes = _period(_base_ms(verdict), host).text_bytes
    full, rest = divmod(count, RTT_PERIOD)
    return count * fixed + _digits_of_1_to(count) + full * text_bytes[-1] + text_bytes[rest]


def _digits_of_1_to(n: int) -> int:
    """The number of decimal digits in 1, 2, ..., n."""
    total, width, low = 0, 1, 1
    while low <= n:
        high = min(n, low * 10 - 1)
        total += (high - low + 1) * width
        width, low = width + 1, low * 10
    return total


def _statistics(verdict: Verdict, host: str, count: int) -> tuple[float, float, float, float]:
    """min, avg, max and mdev of the first ``count`` round-trip times."""
    p = _period(_base_ms(verdict), host)
    full, rest = divmod(count, RTT_PERIOD)
    seen = min(count, RTT_PERIOD)
    mean = (full * p.sums[-1] + p.sums[rest]) / count
    squares = (full * p.squares[-1] + p.squares[rest]) / count
    return p.lows[seen], mean, p.highs[seen], math.sqrt(max(0.0, squares - mean * mean))
