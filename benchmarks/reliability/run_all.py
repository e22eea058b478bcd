"""``make reliability``: the reliability checks in sequence, each against its own fresh service process,
then one summary. Exit status 0 only if none failed (a skipped check, e.g. disk faults without root,
is reported as SKIP).

    python benchmarks/reliability/run_all.py [--only fuzz load ...] [--load-duration 180] [--quick]

``--quick`` shortens every check (fuzz 60 s, load 30 s, smaller jobs) to see that they work.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHECKS = ("fuzz", "load", "crash", "shutdown", "disk", "ray_kill")


def arguments(name: str, args: argparse.Namespace) -> list[str]:
    if name == "fuzz":
        return ["--max-time", "60" if args.quick else str(args.fuzz_time)]
    if name == "load":
        return ["--duration", "30" if args.quick else str(args.load_duration), "--clients", str(args.clients)]
    if name == "crash" and args.quick:
        return ["--rows", "600", "--cli-rows", "400"]
    if name == "shutdown" and args.quick:
        return ["--rows", "500"]
    if name == "disk" and args.quick:
        return ["--rows", "300"]
    if name == "ray_kill" and args.quick:
        return ["--rows", "400", "--block-rows", "50"]
    return []


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", choices=CHECKS, default=list(CHECKS))
    ap.add_argument("--fuzz-time", type=int, default=180)
    ap.add_argument("--load-duration", type=int, default=180)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    results: list[tuple[str, str, float]] = []
    for name in args.only:
        print(f"\n===== {name} =====", flush=True)
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, str(HERE / f"{name}.py"), *arguments(name, args)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = f"RESULT {name} FAIL exited without a result line"
        assert proc.stdout is not None
        for out in proc.stdout:
            print(out, end="", flush=True)
            if out.startswith("RESULT "):
                line = out.strip()
        rc = proc.wait()
        if rc != 0 and " FAIL " not in line:
            line = f"RESULT {name} FAIL exit {rc}: {line}"
        results.append((name, line, time.monotonic() - t0))
    print("\n===== reliability summary =====")
    for name, line, took in results:
        _, _, verdict, *rest = line.split(" ", 3)
        print(f"{verdict:<4} {name:<9} ({took:.0f} s) {rest[0] if rest else ''}")
    return 1 if any(line.split(" ")[2] == "FAIL" for _, line, _ in results) else 0


if __name__ == "__main__":
    sys.exit(main())
