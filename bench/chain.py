"""Oracle calls to decide OV through the gradient (docs/quadrature.md): Gauss-Legendre against the paper's Riemann rule.

For OV with n = 256, 1024, 4096 and d0 = round(2 log2 n), a planted pair and a
certified no-pair instance each: the certified Gauss-Legendre node count and its
run, the fewest Gauss-Legendre and Riemann calls that land on the right side of
the threshold, the paper's ⌈ln⁴ n⌉ points with the error bound it can state,
and total times. Riemann sums reuse one nested grid of f' values.

    python bench/chain.py [--quick] [--full] [--json out.json]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from _measure import machine, write_json  # noqa: E402


def main(argv=None):
    import sethlab.attention as sa
    from sethlab.generators.ov import no_pair_ov, planted_ov
    from sethlab.reductions.attention_to_gradient import (
        AttentionToGradient,
        f_at_zero,
        f_exact,
        gradient_instance,
    )
    from sethlab.reductions.ov_to_attention import OVToAttention
    from sethlab.reductions.quadrature import make_rule, paper_points, riemann_error_bound

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n = 64, 128 only")
    ap.add_argument("--full", action="store_true", help="run certified Gauss-Legendre at every n (slow at 4096)")
    ap.add_argument("--sizes", type=int, nargs="+", help="values of n (default 256 1024 4096)")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)
    sizes = args.sizes or ([64, 128] if args.quick else [256, 1024, 4096])
    rows = []
    print("# deciding OV through gradient calls: f(1) = f(0) + integral of f'(lambda), f' = 2 tr(grad L)")
    print(f"{'n':>5} {'d0':>3} {'inst':>8} {'sigma':>6} {'GL cert':>8} {'GL need':>8} {'GL adapt':>9} "
          f"{'Riem need':>10} {'paper m':>8} {'paper bound':>11} {'gap':>6} {'s/call':>7} {'GL cert time':>12}")
    for n in sizes:
        d0 = round(2 * math.log2(n))
        for kind in ("planted", "no-pair"):
            inst = planted_ov(n, d0, seed=1)[0] if kind == "planted" else no_pair_ov(n, d0, seed=1)
            image = OVToAttention(quantity="frobenius").apply(inst)
            target = image.target
            pred = image.prediction
            f1 = f_exact(target)
            f0 = f_at_zero(target)
            truth = kind == "planted"
            need = abs(f1 - pred.threshold)  # an estimate decides correctly iff its error is below this

            def fprime(lam):
                return 2 * float(np.trace(sa.loss_gradient(gradient_instance(target, lam)).grad))

            t0 = time.perf_counter()
            fprime(0.5)
            per_call = time.perf_counter() - t0

            red = AttentionToGradient()
            plan = red.plan(image)
            m_cert = plan["nodes"]
            run_cert = args.full or n <= 1024
            cert = None
            if run_cert:
                t0 = time.perf_counter()
                cert = red.solve(image)
                cert_time = time.perf_counter() - t0
            else:
                cert_time = m_cert * per_call
            gl_need = None
            m = 4
            while m <= 4096:
                rule = make_rule("gauss-legendre", m)
                est = f0 + float(rule.weights @ np.array([fprime(x) for x in rule.nodes]))
                if abs(est - f1) < need:
                    gl_need = m
                    break
                m *= 2
            t0 = time.perf_counter()
            adaptive = AttentionToGradient(certified=False).solve(image)
            adapt_time = time.perf_counter() - t0
            grid_max = 4096 if n <= 1024 else 512
            grid = np.array([fprime(k / grid_max) for k in range(grid_max)])
            riem_need = None
            riem_errors = {}
            m = 1
            while m <= grid_max:
                est = f0 + float(grid[:: grid_max // m].mean())
                riem_errors[m] = abs(est - f1)
                if riem_need is None and riem_errors[m] < need:
                    riem_need = m
                m *= 2
            m_paper = paper_points(max(target.nq, target.nk))
            paper_bound = riemann_error_bound(m_paper, plan["sigma"], target.nq, target.dv, target.bound_V)
            row = {
                "n": n, "d0": d0, "instance": kind, "truth": truth, "f1": f1, "sigma": plan["sigma"],
                "gap": pred.gap, "seconds_per_call": per_call,
                "gl_certified_calls": m_cert, "gl_certified_ran": run_cert,
                "gl_certified_answer": None if cert is None else cert.answer,
                "gl_certified_error_bound": None if cert is None else cert.error,
                "gl_certified_measured_error": None if cert is None else abs(cert.quantity - f1),
                "gl_certified_seconds": cert_time,
                "gl_calls_needed": gl_need,
                "gl_adaptive_calls": adaptive.calls, "gl_adaptive_answer": adaptive.answer,
                "gl_adaptive_seconds": adapt_time,
                "riemann_calls_needed": riem_need, "riemann_grid_max": grid_max,
                "riemann_errors": {str(k): v for k, v in riem_errors.items()},
                "paper_points": m_paper, "paper_stated_bound": paper_bound,
            }
            rows.append(row)
            cert_s = f"{cert_time:10.1f}s" + ("" if run_cert else "*")
            print(f"{n:>5} {d0:>3} {kind:>8} {plan['sigma']:6.0f} {m_cert:>8} {str(gl_need):>8} "
                  f"{adaptive.calls:>9} {str(riem_need) if riem_need else '>' + str(grid_max):>10} {m_paper:>8} "
                  f"{paper_bound:11.2e} {pred.gap:6.3f} {per_call:7.3f} {cert_s:>12}")
            if cert is not None:
                ok = cert.answer == truth
                print(f"{'':>16} certified GL: answer {cert.answer} ({'correct' if ok else 'WRONG'}), "
                      f"error bound {cert.error:.2e}, measured {abs(cert.quantity - f1):.1e}; "
                      f"adaptive GL: answer {adaptive.answer} with {adaptive.calls} calls")
    print("* projected from the measured seconds per call (use --full to run it)")
    print("GL need / Riem need: fewest calls (powers of two) whose estimate is on the correct side of the threshold;")
    print("paper bound: the error the left Riemann sum with ceil(ln^4 n) points can state (b/2m), against the gap.")
    write_json(args.json, {"machine": machine(), "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
