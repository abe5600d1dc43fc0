"""Benchmark: the exact OV solver against the machine's matrix-product rate and a naive baseline.

    python bench/ov.py [--quick] [--json out.json]

On NO instances (so every pair is scanned) with n = 2^14 and d in {64, 256}, one
run measures, in pairs·dimensions per second (one multiply-add per pair and
dimension, i.e. GEMM flops / 2):

- the float32 and float64 GEMM rates of the same work, (n × d)·(d × n) in the
  solver's tiles into a preallocated buffer with nothing else done; the float32
  one is the floor the solver is held to (target: >= 30% of it);
- the machine's peak float32 rate on a large square product, for context;
- ``solve_ov`` (blocked float32 products + the zero scan);
- a plain numpy baseline: the whole float64 product ``A @ B.T`` then ``== 0``.

Prints ratios measured in this run; seconds are shown only for orientation.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from sethlab.generators import no_pair_ov  # noqa: E402
from sethlab.solvers import solve_ov  # noqa: E402
from sethlab.solvers._blocks import DEFAULT_BLOCK, blocks  # noqa: E402


def best_time(fn, repeat: int) -> float:
    return min(best_times([fn], repeat))


def best_times(fns, repeat: int) -> list[float]:
    """Best of ``repeat`` runs of each function, interleaved so that load from other
    processes affects all of them alike."""
    times = [[] for _ in fns]
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - start)
    return [min(t) for t in times]


def tiled_gemm(A: np.ndarray, B: np.ndarray, block) -> None:
    """The solver's products alone: every (bi × d)·(d × bj) tile into one reused buffer."""
    bi, bj = block
    out = {}
    for I, J in blocks(A.shape[0], B.shape[0], bi, bj):
        a, b = A[I], B[J]
        buf = out.setdefault((a.shape[0], b.shape[0]), np.empty((a.shape[0], b.shape[0]), A.dtype))
        np.matmul(a, b.T, out=buf)


def naive_baseline(A: np.ndarray, B: np.ndarray) -> bool:
    """What one writes with plain numpy: the whole product, then look for zeros."""
    G = A.astype(np.float64) @ B.astype(np.float64).T
    return bool((G == 0).any())


def peak_rate(dtype, size: int, repeat: int) -> float:
    rng = np.random.default_rng(0)
    X = rng.random((size, size)).astype(dtype)
    Y = rng.random((size, size)).astype(dtype)
    out = np.empty((size, size), dtype)
    np.matmul(X, Y, out=out)  # warm up
    return size ** 3 / best_time(lambda: np.matmul(X, Y, out=out), repeat)


def run_case(n: int, d: int, repeat: int, baseline: bool) -> dict:
    inst = no_pair_ov(n, d, seed=d)
    A32, B32 = inst.A.astype(np.float32), inst.B.astype(np.float32)
    A64, B64 = inst.A.astype(np.float64), inst.B.astype(np.float64)
    work = float(n) * n * d  # pairs × dimensions
    assert not solve_ov(inst).yes  # warm-up, and the instance really is a NO instance
    t_ours, t_g32, t_g64 = best_times([lambda: solve_ov(inst), lambda: tiled_gemm(A32, B32, DEFAULT_BLOCK),
                                       lambda: tiled_gemm(A64, B64, DEFAULT_BLOCK)], repeat)
    row = {
        "n": n, "d": d, "block": list(DEFAULT_BLOCK),
        "gemm_f32_pd_per_s": work / t_g32,
        "gemm_f64_pd_per_s": work / t_g64,
        "ours_pd_per_s": work / t_ours,
        "ours_seconds": t_ours,
        "fraction_of_f32_gemm": t_g32 / t_ours,
        "fraction_of_f64_gemm": t_g64 / t_ours,
    }
    if baseline:
        assert not naive_baseline(inst.A, inst.B)
        t_base = best_time(lambda: naive_baseline(inst.A, inst.B), max(1, repeat - 1))
        row.update(baseline_pd_per_s=work / t_base, baseline_seconds=t_base, speedup_vs_baseline=t_base / t_ours)
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 2^12, one repetition (CI smoke run)")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    args = parser.parse_args(argv)
    n = 1 << (12 if args.quick else 14)
    repeat = 1 if args.quick else 3
    peak = peak_rate(np.float32, 1024 if args.quick else 2048, repeat)
    result = {
        "benchmark": "ov", "quick": args.quick, "numpy": np.__version__,
        "machine": {"processor": platform.processor() or platform.machine(), "cpus": os.cpu_count()},
        "peak_f32_pd_per_s": peak, "target_fraction": 0.30, "cases": [],
    }
    print(f"peak float32 GEMM (square): {peak / 1e9:.1f} G multiply-adds/s")
    print(f"{'n':>6} {'d':>4} {'f32 GEMM':>10} {'f64 GEMM':>10} {'ours':>10} {'ours/f32':>9} "
          f"{'ours/peak':>9} {'baseline':>10} {'speedup':>8}   (G pairs·dims/s)")
    for d in (64, 256):
        row = run_case(n, d, repeat, baseline=True)
        row["fraction_of_peak_f32"] = row["ours_pd_per_s"] / peak
        result["cases"].append(row)
        print(f"{n:>6} {d:>4} {row['gemm_f32_pd_per_s'] / 1e9:>10.1f} {row['gemm_f64_pd_per_s'] / 1e9:>10.1f} "
              f"{row['ours_pd_per_s'] / 1e9:>10.1f} {row['fraction_of_f32_gemm']:>9.2f} "
              f"{row['fraction_of_peak_f32']:>9.2f} {row['baseline_pd_per_s'] / 1e9:>10.2f} "
              f"{row['speedup_vs_baseline']:>7.1f}x")
    met = all(r["fraction_of_f32_gemm"] >= 0.30 for r in result["cases"])
    print(f"target (ours >= 30% of the same-shape float32 GEMM rate): {'met' if met else 'NOT met'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
