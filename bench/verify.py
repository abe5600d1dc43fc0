"""`sethlab verify --all` on 1 worker against all local cores: the speedup of the parallel sweep (issue 6).

    python bench/verify.py [--trials 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _measure import machine, write_json  # noqa: E402

from sethlab.cpus import usable_cpus  # noqa: E402


def main(argv=None):
    from sethlab.app.verify import verify_command

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=150, help="per reduction; small sweeps are dominated by process start-up")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    cores = usable_cpus()
    times = {}
    for workers in sorted({1, cores}):
        t0 = time.perf_counter()
        code = verify_command(None, trials=args.trials, seed=0, workers=workers, out=io.StringIO())
        times[workers] = time.perf_counter() - t0
        print(f"verify --all, {args.trials} trials each, {workers} worker(s): {times[workers]:.1f} s (exit {code})")
    speedup = times[1] / times[cores] if cores > 1 else 1.0
    print(f"speedup on {cores} cores against 1: {speedup:.2f}x")
    write_json(args.json, {"machine": machine(), "trials": args.trials, "seconds": times, "speedup": speedup})
    return 0


if __name__ == "__main__":
    sys.exit(main())
