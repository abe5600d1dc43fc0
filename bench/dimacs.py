"""Reading a large DIMACS file: sethlab's checked reader against python-sat's own (C) reader.

Writes a seeded random 3-CNF of about 50 MB (2.94 M clauses over 10,000 variables, like the
files of the issue that asked for this) to a temporary folder, then reads it in fresh processes:
python-sat's CNF(from_file=...), sethlab.cnf.read_dimacs and sethlab.io.load (which also checks
sethlab's metadata line). Prints seconds and peak extra memory (VmHWM over the process's
baseline) and the ratios to python-sat. Target: at most 2x python-sat in both, with every check
sethlab makes (ASCII-digit tokens, literal range, terminating zeros, clause count, header).

    python bench/dimacs.py [--clauses 2940000] [--vars 10000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from _measure import machine, reset_peak_rss, rss_bytes, run_worker, write_json  # noqa: E402

READERS = ("python-sat", "sethlab read_dimacs", "sethlab io.load")


def write_formula(path: str, n_vars: int, n_clauses: int, seed: int = 0) -> int:
    """A random 3-CNF in DIMACS, written in chunks; returns its size in bytes."""
    rng = np.random.default_rng(seed)
    with open(path, "w") as fh:
        fh.write(f"c random 3-CNF, seed {seed}\np cnf {n_vars} {n_clauses}\n")
        for lo in range(0, n_clauses, 200_000):
            k = min(200_000, n_clauses - lo)
            lits = rng.integers(1, n_vars + 1, size=(k, 3)) * rng.choice([-1, 1], size=(k, 3))
            rows = np.hstack([lits, np.zeros((k, 1), dtype=lits.dtype)])
            fh.write("\n".join(" ".join(map(str, r)) for r in rows.tolist()) + "\n")
    return os.path.getsize(path)


def worker(spec: dict) -> dict:
    """Read the file once in this fresh process; peak memory is measured from after the imports."""
    from pysat.formula import CNF

    import sethlab.cnf
    import sethlab.io

    path, who = spec["path"], spec["who"]
    base = rss_bytes()
    reset = reset_peak_rss()
    t0 = time.perf_counter()
    if who == "python-sat":
        cnf = CNF(from_file=path)
    elif who == "sethlab read_dimacs":
        cnf = sethlab.cnf.read_dimacs(path)
    else:
        cnf = sethlab.io.load(path).instance
    seconds = time.perf_counter() - t0
    peak = rss_bytes("VmHWM")
    return {"who": who, "seconds": seconds, "extra_bytes": peak - base if reset else None,
            "clauses": len(cnf.clauses), "nv": int(cnf.nv), "checksum": sum(map(len, cnf.clauses[:1000]))}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clauses", type=int, default=2_940_000)
    ap.add_argument("--vars", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=2, help="fresh processes per reader; the best time is kept")
    ap.add_argument("--json")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "big.cnf")
        size = write_formula(path, args.vars, args.clauses)
        print(f"DIMACS file: {size / 1e6:.1f} MB, {args.clauses} clauses over {args.vars} variables")
        rows = {}
        for who in READERS:
            runs = [run_worker(__file__, {"path": path, "who": who}) for _ in range(args.repeat)]
            bad = [r for r in runs if "error" in r]
            if bad:
                print(f"  {who}: failed: {bad[0]['error']}")
                continue
            rows[who] = {"seconds": min(r["seconds"] for r in runs),
                         "extra_bytes": min(r["extra_bytes"] for r in runs if r["extra_bytes"] is not None),
                         "clauses": runs[0]["clauses"]}
    ref = rows.get("python-sat")
    print(f"  {'reader':22s} {'seconds':>8s} {'vs pysat':>9s} {'extra MB':>9s} {'vs pysat':>9s}")
    for who, r in rows.items():
        t_ratio = r["seconds"] / ref["seconds"] if ref else float("nan")
        m_ratio = r["extra_bytes"] / ref["extra_bytes"] if ref else float("nan")
        r.update(time_ratio=t_ratio, memory_ratio=m_ratio)
        print(f"  {who:22s} {r['seconds']:8.2f} {t_ratio:8.2f}x {r['extra_bytes'] / 1e6:9.0f} {m_ratio:8.2f}x")
    write_json(args.json, {"machine": machine(), "file_bytes": size, "clauses": args.clauses, "vars": args.vars,
                           "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
