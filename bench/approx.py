"""Fast-attention methods at n = 16384, d = 64 on bounded entries (docs/approx.md): seconds and error
against exact, and against sethlab's certified polynomial method given the same time.

Entries uniform in [−B, B] with B = ratio·√ln n (ratio 0.25 by default). For each method (default
parameters): seconds per call, max entrywise error against the exact engine, time ratio to exact. Then,
for each method, "poly at equal time": the highest polynomial degree whose planned flops run within that
method's measured time at this run's GEMM rate, run for real, with its measured error and its certified
bound (docs/polynomial.md §3); "-" where not even degree 1 fits.

    python bench/approx.py [--quick] [--n N] [--d D] [--ratio R] [--json out.json]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from _measure import machine, numpy_rates, write_json  # noqa: E402


def poly_at_time(inst, seconds: float, gemm: float, exact_out) -> dict | None:
    """The highest degree whose planned flops fit `seconds` at the GEMM rate, run; None if degree 1 does not fit."""
    import sethlab.attention as sa

    best = None
    for g in range(1, 12):
        try:
            p = sa.plan(inst, method="poly", degree=g)
        except Exception:
            break
        if p.flops / gemm > seconds or p.bytes > 8 << 30:
            break
        best = p
    if best is None:
        return None
    t0 = time.perf_counter()
    res = sa.attention(inst, method="poly", degree=best.degree)
    return {"degree": best.degree, "rank": best.rank, "seconds": time.perf_counter() - t0,
            "max_error": float(np.abs(res.output - exact_out).max()), "certified_bound": float(res.error_bound)}


def main(argv=None):
    import sethlab.approx as ap
    from sethlab.approx.families import bound_for
    from sethlab.attention import attention
    from sethlab.generators.attention import bounded_attention

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 2048")
    parser.add_argument("--n", type=int)
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument("--ratio", type=float, default=0.25)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    n = args.n or (2048 if args.quick else 16384)
    B = bound_for(n, args.ratio)
    inst = bounded_attention(n, args.d, B, seed=0)
    gemm = max(numpy_rates()["gemm_flops_per_s"] for _ in range(3))
    print(f"# n = {n}, d = dv = {args.d}, entries in [-B, B], B = {B:.3f} = {args.ratio}*sqrt(ln n); "
          f"GEMM {gemm / 1e9:.0f} GF/s")
    attention(bounded_attention(256, args.d, B, seed=1))  # warm-up
    t0 = time.perf_counter()
    exact = attention(inst).output
    exact_s = time.perf_counter() - t0
    print(f"exact: {exact_s:.2f} s")
    print(f"{'method':>10} {'seconds':>8} {'x exact':>8} {'max error':>10} | poly at equal time: "
          f"{'degree':>6} {'rank':>7} {'seconds':>8} {'max error':>10} {'certified':>10}")
    rows = []
    for name in ap.names():
        if name == "exact":
            continue
        method = ap.get(name)
        t0 = time.perf_counter()
        try:
            out = method(inst.Q, inst.K, inst.V)
        except Exception as e:  # poly's refusal is a result here
            print(f"{name:>10} refused: {str(e)[:100]}")
            rows.append({"method": name, "refused": str(e)})
            continue
        s = time.perf_counter() - t0
        err = float(np.abs(out - exact).max())
        eq = poly_at_time(inst, s, gemm, exact) if name != "poly" else None
        rows.append({"method": name, "seconds": s, "vs_exact": s / exact_s, "max_error": err, "poly_at_equal_time": eq})
        tail = ("-" if eq is None else f"{eq['degree']:>6} {eq['rank']:>7} {eq['seconds']:8.2f} "
                f"{eq['max_error']:10.2e} {eq['certified_bound']:10.2e}")
        print(f"{name:>10} {s:8.2f} {s / exact_s:8.2f} {err:10.2e} | {'':20}{tail}")
    write_json(args.json, {"machine": machine(), "n": n, "d": args.d, "ratio": args.ratio, "B": B,
                           "exact_seconds": exact_s, "gemm_flops_per_s": gemm, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
