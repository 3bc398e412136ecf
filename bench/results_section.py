#!/usr/bin/env python3
"""Replace one section of bench/RESULTS.md with a part's fresh report (stdlib only).

bench/run.sh rewrites RESULTS.md whole only after a full run; with BENCH_PARTS=soak,longsoak
and BENCH_UPDATE=1 it calls this for each soak part that ran. A report is one `## ` section
(what the full run pastes in as is); the section whose heading starts like the report's (the
heading up to ` (`) is replaced, up to the next `## ` heading. A missing section is inserted
before --before (default: the Fuzzing section, which follows the soaks). A note under the
section says when and at which commit it was measured, since the header at the top of
RESULTS.md describes the full run.

    bench/results_section.py bench/RESULTS.md target/bench/soak.md --note "..."
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def key(heading: str) -> str:
    return heading.split(" (", 1)[0].rstrip()


def splice(results: str, report: str, note: str, before: str) -> str:
    new = report.rstrip("\n").split("\n")
    if not new or not new[0].startswith("## "):
        raise ValueError("the report does not start with a `## ` heading")
    if note:
        new += ["", f"*{note}*"]
    lines = results.rstrip("\n").split("\n")
    start = next((i for i, l in enumerate(lines) if l.startswith("## ") and key(l) == key(new[0])), None)
    if start is None:
        at = next((i for i, l in enumerate(lines) if l.startswith(before)), len(lines))
        out = lines[:at] + new + [""] + lines[at:]
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        out = lines[:start] + new + ([""] if end < len(lines) else []) + lines[end:]
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", type=Path)
    ap.add_argument("report", type=Path)
    ap.add_argument("--note", default="")
    ap.add_argument("--before", default="## Fuzzing")
    args = ap.parse_args()
    text = splice(args.results.read_text(), args.report.read_text(), args.note, args.before)
    tmp = args.results.with_name(args.results.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(args.results)
    print(f"results_section: {args.report} -> {args.results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
