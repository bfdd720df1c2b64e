"""The conformance table of ``docs/parity.md``, generated from the conformance checks.

    python -m tests.emulator.conformance.report           # print the table
    python -m tests.emulator.conformance.report --write   # put it into docs/parity.md

The conformance test fails when the committed table differs from what this generates.
"""

from __future__ import annotations

import argparse
import sys

from . import known, metadata, probes
from .probes import ActionResult


def table(results: list[ActionResult], allowed: list[known.KnownDifference]) -> str:
    """One row per implemented action: parameters checked, response fields checked, error codes
    implemented against documented, and the known differences that apply."""
    kd_count: dict[str, int] = {}
    for kd in allowed:
        kd_count[kd.action] = kd_count.get(kd.action, 0) + 1
    lines = [
        "| action | params checked | response fields checked | codes implemented | of them documented "
        "| codes documented for the action | fields only in the SDK model | known differences |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    totals = [0, 0, 0, 0, 0, 0, 0]
    for r in results:
        name = f"{r.product}.{r.action}"
        implemented = "not declared" if r.implemented is None else str(len(r.implemented))
        row = [
            len(r.probes),
            len(r.fields),
            len(r.implemented or ()),
            r.codes_documented,
            len(r.documented),
            len(r.sdk_only),
            kd_count.get(name, 0),
        ]
        totals = [t + v for t, v in zip(totals, row, strict=True)]
        cells = [str(row[0]), str(row[1]), implemented, *(str(v) for v in row[3:])]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    lines.append(f"| **{len(results)} actions** | " + " | ".join(f"**{t}**" for t in totals) + " |")
    sources = [
        f"{p} metadata taken {metadata.sources(p)['taken']}: parameters at "
        f"`{metadata.sources(p)['parameters']['commit'][:10]}` ({metadata.sources(p)['parameters']['committed']}), "
        f"documentation at `{metadata.sources(p)['documentation']['commit'][:10]}` "
        f"({metadata.sources(p)['documentation']['committed']})"
        for p in metadata.FILES
    ]
    return "\n".join(lines) + "\n\n" + "\n".join(f"* {s}" for s in sources)


def generate() -> str:
    return table(probes.run_all(), known.read())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The conformance table of docs/parity.md")
    parser.add_argument("--write", action="store_true", help="replace the table in docs/parity.md")
    args = parser.parse_args(argv)
    text = generate()
    if args.write:
        known.PARITY.write_text(known.replace_table(known.PARITY.read_text(encoding="utf-8"), text), encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
