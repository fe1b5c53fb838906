"""Run the tests that signal, kill or race real processes (`-m processes`) round after round
while CPU-bound processes load the machine, and count how often each passes.

These tests wait for states, never for times (`tests/processes.py`); this script is how that
claim is checked. A round is one pytest session over the marked tests (PostgreSQL and the
MLflow server start once per round); `CI=true` is set, so a server that cannot start fails
instead of skipping, and every process imports this checkout's code. The busy loops are started before the first round and stopped after the
last, whatever happens in between.

    python scripts/stress_timing.py                    # 20 rounds beside 2 busy loops
    python scripts/stress_timing.py --rounds 5 -k sigint --busy 2 --out stress-out
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUSY = "while True: pass"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--busy", type=int, default=2, help="CPU-bound processes beside the tests")
    parser.add_argument("-k", dest="keyword", default=None, help="pytest -k expression")
    parser.add_argument("--out", type=Path, default=ROOT / "test-artifacts" / "stress")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(args.busy)]
    started = time.monotonic()
    try:
        for r in range(1, args.rounds + 1):
            report = args.out / f"round_{r:02d}.xml"
            command = [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-m",
                "processes",
                "-p",
                "no:cacheprovider",
            ]
            command += ["--junitxml", str(report), *(["-k", args.keyword] if args.keyword else [])]
            t0 = time.monotonic()
            done = subprocess.run(
                command,
                cwd=ROOT,
                env={**os.environ, "CI": "true", "PYTHONPATH": str(ROOT)},
                capture_output=True,
                text=True,
            )
            (args.out / f"round_{r:02d}.log").write_text(done.stdout + done.stderr)
            for name, outcome in _outcomes(report):
                outcomes[name][outcome] += 1
            failed = sum(c["failed"] for c in outcomes.values())
            print(
                f"round {r}/{args.rounds}: exit {done.returncode}, {time.monotonic() - t0:.0f} s,"
                f" failures so far {failed}",
                flush=True,
            )
    finally:
        for p in busy:
            p.kill()
            p.wait()
    print(
        f"\n{args.rounds} rounds beside {args.busy} busy loops, {time.monotonic() - started:.0f} s"
    )
    for name, counts in sorted(outcomes.items()):
        runs = sum(counts.values())
        extra = ", ".join(f"{k} {v}" for k, v in counts.items() if k != "passed")
        print(f"{counts['passed']:3d}/{runs} passed  {name}" + (f"  ({extra})" if extra else ""))
    return 0 if all(set(c) == {"passed"} for c in outcomes.values()) else 1


def _outcomes(report: Path):
    """(test id, passed|failed|skipped) for each test case of a JUnit XML report."""
    if not report.exists():
        return
    for case in ET.parse(report).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        kinds = {child.tag for child in case}
        yield (
            name,
            "failed"
            if kinds & {"failure", "error"}
            else "skipped"
            if "skipped" in kinds
            else "passed",
        )


if __name__ == "__main__":
    sys.exit(main())
