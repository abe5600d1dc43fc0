"""The phase transition of the polynomial method at B = Theta(sqrt(ln n)) (docs/problems.md §1, docs/polynomial.md §3; AS23, AS24).

The upper bound replaces exp(<q,k>/d) by a polynomial of degree g in the score,
which becomes a product of n x r feature matrices with rank r = C(d+g, g). The
degree needed for a certified relative error grows with the score range
R = B^2, so with d = log2 n and eps = 1/n:

- for B well below sqrt(ln n), r is small (n^{o(1)} in the limit): almost-linear time;
- as B passes sqrt(ln n), r overtakes n, and the method is no faster than
  the quadratic exact algorithm, which is what the SETH lower bound says must
  happen for every algorithm.

The script prints, for several n, the certified degree and rank against
B / sqrt(ln n) (from `sethlab.attention.plan`, no work on the instance), and then
times poly against exact on one small-B instance to show the rank paying off.

    python examples/phase_transition.py [--quick] [--plot FILE.png]
"""

import argparse
import math
import sys

import numpy as np

from sethlab.app.experiments import poly_against_exact, rank_phase_transition


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer points and sizes (for CI)")
    ap.add_argument("--plot", metavar="FILE", help="also draw the curve (needs matplotlib: pip install 'sethlab[plot]')")
    args = ap.parse_args(argv)
    ns = (2**8, 2**12) if args.quick else (2**8, 2**12, 2**16)
    ratios = np.linspace(0.1, 1.5, 4 if args.quick else 8)
    rows = rank_phase_transition(ns, ratios)

    print("certified rank of the polynomial method, eps = 1/n, d = log2 n (exact-arithmetic bounds)")
    print(f"{'n':>8} {'d':>3} {'B/sqrt(ln n)':>12} {'B':>6} {'degree':>6} {'rank':>10} {'log_n(rank)':>11}")
    for r in rows:
        mark = "  <- rank > n" if r["rank_exponent"] > 1 else ""
        print(f"{r['n']:>8} {r['d']:>3} {r['B_over_sqrt_ln_n']:>12.2f} {r['B']:>6.2f} {r['degree']:>6} "
              f"{r['rank']:>10.3g} {r['rank_exponent']:>11.2f}{mark}")
    for n in ns:
        first = next((r for r in rows if r["n"] == n and r["rank_exponent"] > 1), None)
        where = f"B / sqrt(ln n) = {first['B_over_sqrt_ln_n']:.2f}" if first else "beyond the grid"
        print(f"n = 2^{int(math.log2(n))}: rank first exceeds n at {where}")

    print("\nwhere the rank is small the method pays: d = 4, entries in [-1, 1], eps = 1e-6")
    sizes = (1024, 2048) if args.quick else (2048, 8192)
    for r in poly_against_exact(sizes):
        print(f"  {r['problem']:8s} n = {r['n']:>5}: exact {r['exact_seconds']:.3f} s, poly {r['poly_seconds']:.3f} s "
              f"(rank {r['rank']}), error {r['measured_error']:.1e} <= certified {r['error_bound']:.1e}")

    if args.plot:
        from sethlab.app import plots

        why = plots.unavailable()
        if why:
            print(f"no plot: {why}")
        else:
            plots.rank_phase_transition(rows, args.plot)
            print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
