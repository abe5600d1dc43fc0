"""Deciding OV through gradient calls (docs/quadrature.md): certified calls, the calls that suffice, seconds per
call against the machine's floor, quiet and under load.

For OV with n = 256, 1024, 4096 and d0 = round(2 log2 n), a planted pair and a
certified no-pair instance each:

- certified calls: the one-panel Gauss-Legendre count and the reduction's plan
  (composite panels, docs/quadrature.md "Composite panels"), and the certified
  decision run end to end (seconds, answer, error);
- calls that suffice: the fewest one-panel Gauss-Legendre and Riemann calls
  (powers of two) whose estimate lands on the right side of the threshold, and
  the certified/sufficient ratio;
- one call against the floor measured in this run (2·nq·nk·(2·d0 + 2(dv+1))
  flops at the GEMM rate plus nq·nk exps at the best exp rate on offer, numpy or
  torch), on a quiet machine and while another process keeps one core busy
  (started here): the decision's own calls (the λ it handed to the oracle's
  `many` at once) and single calls;
- the paper's ⌈ln⁴ n⌉ Riemann points with the error bound it can state.

    python bench/chain.py [--quick] [--sizes N ...] [--no-load] [--json out.json]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from _measure import floor_seconds, have_torch_rates, machine, numpy_rates, write_json  # noqa: E402


def rates() -> dict:
    """GEMM and exp rates measured now (best of numpy and torch for exp), each the best of three tries."""
    best = {"gemm_flops_per_s": 0.0, "exp_per_s": 0.0, "exp_source": "numpy"}
    for _ in range(3):
        r = numpy_rates()
        best["gemm_flops_per_s"] = max(best["gemm_flops_per_s"], r["gemm_flops_per_s"])
        if r["exp_per_s"] > best["exp_per_s"]:
            best.update(exp_per_s=r["exp_per_s"], exp_source="numpy")
        t = have_torch_rates()
        if t and t["exp_per_s"] > best["exp_per_s"]:
            best.update(exp_per_s=t["exp_per_s"], exp_source="torch")
    best["exp_in_cache_per_s"] = max(best["exp_per_s"], in_cache_exp_rate())
    return best


def in_cache_exp_rate(n: int = 1 << 18) -> float:
    """exps per second on 2^18 scores (2 MiB, in cache) on every core: torch's own threads, or numpy's exp on
    halves on two threads. The floor of the issue takes the exp rate on 2^22 (out of cache); the engine's blocks
    are in cache, so this stricter floor is reported beside it."""
    from concurrent.futures import ThreadPoolExecutor

    from sethlab.app.benchmarks import best_time

    x = -30 * np.random.default_rng(0).random(n)
    y = np.empty_like(x)
    h = n // 2
    with ThreadPoolExecutor(2) as pool:
        rate = n / best_time(lambda: [f.result() for f in (pool.submit(np.exp, x[:h], out=y[:h]),
                                                            pool.submit(np.exp, x[h:], out=y[h:]))], 20)
    try:
        import torch
    except ImportError:
        return rate
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    return max(rate, n / best_time(lambda: torch.exp(tx, out=ty), 20))


def recording_oracle():
    """The reduction's default oracle, recording the λ of each batch the decision hands to its `many` (so the
    per-call figures time the decision's own calls)."""
    from sethlab.reductions.attention_to_gradient import make_oracle

    inner, batches = make_oracle(), []

    def oracle(inst, accuracy=None):
        batches.append([inst.X_scalar])
        return inner(inst, accuracy)

    def many(insts, accuracy=None):
        batch = []
        batches.append(batch)
        yield from inner.many((batch.append(inst.X_scalar) or inst for inst in insts), accuracy)

    oracle.method, oracle.backend, oracle.many = inner.method, inner.backend, many
    return oracle, batches


def per_call_seconds(target, lams, repeat: int = 5) -> tuple[float, float]:
    """(seconds a call as the decision makes them, seconds of a call alone), best of `repeat` sweeps over λ.

    The decision hands the reduction's oracle all its λ at once (`oracle.many`, several to an engine
    pass): that sweep's time over its calls. A call alone: the median of single oracle calls."""
    from sethlab.reductions.attention_to_gradient import gradient_instance, make_oracle

    oracle = make_oracle()
    oracle(gradient_instance(target, float(lams[0])), None)  # warm-up: buffers, thread pool
    batched, alone = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        results = list(oracle.many(gradient_instance(target, float(lam)) for lam in lams))
        batched.append((time.perf_counter() - t0) / len(results))
        times = []
        for lam in lams:
            t0 = time.perf_counter()
            oracle(gradient_instance(target, float(lam)), None)
            times.append(time.perf_counter() - t0)
        alone.append(statistics.median(times))
    return min(batched), min(alone)


class BusyCore:
    """Another process spinning on one core while the block runs (the loaded measurement)."""

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def main(argv=None):
    from sethlab.generators.ov import no_pair_ov, planted_ov
    from sethlab.reductions.attention_to_gradient import AttentionToGradient, f_at_zero, f_exact, gradient_instance
    from sethlab.reductions.ov_to_attention import OVToAttention
    from sethlab.reductions.quadrature import (
        certified_nodes,
        make_rule,
        paper_points,
        riemann_error_bound,
    )
    import sethlab.attention as sa
    from sethlab.attention import ops

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n = 64, 128 only")
    ap.add_argument("--sizes", type=int, nargs="+", help="values of n (default 256 1024 4096)")
    ap.add_argument("--no-load", action="store_true", help="skip the measurement under load")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)
    sizes = args.sizes or ([64, 128] if args.quick else [256, 1024, 4096])
    r = rates()
    print(f"# machine: GEMM {r['gemm_flops_per_s'] / 1e9:.1f} GF/s, exp {r['exp_per_s'] / 1e9:.2f} G/s "
          f"({r['exp_source']}), {machine()['cpus']} cpus")
    print("# deciding OV through gradient calls: f(1) = f(0) + integral of f'(lambda), f' = 2 tr(grad L)")
    head = (f"{'n':>5} {'inst':>8} {'sigma':>6} {'1-panel':>8} {'cert':>5} {'panels':>6} {'GL need':>8} "
            f"{'cert/need':>9} {'Riem need':>9} {'gap':>6} {'ms/call':>8} {'x floor':>7} {'alone':>7} "
            f"{'loaded':>7} {'x floor':>7} {'ld/q':>5} {'decide s':>8} answer")
    print(head)
    rows = []
    for n in sizes:
        d0 = round(2 * math.log2(n))
        for kind in ("planted", "no-pair"):
            inst = planted_ov(n, d0, seed=1)[0] if kind == "planted" else no_pair_ov(n, d0, seed=1)
            image = OVToAttention(quantity="frobenius").apply(inst)
            target, pred = image.target, image.prediction
            f1, f0 = f_exact(target), f_at_zero(target)
            truth = kind == "planted"
            need = abs(f1 - pred.threshold)  # an estimate decides correctly iff its error is below this

            red = AttentionToGradient()
            t0 = time.perf_counter()
            plan = red.plan(image)
            plan_seconds = time.perf_counter() - t0
            one_panel = certified_nodes(pred.gap / 4, plan["sigma"], target.nq, target.dv, target.bound_V)
            oracle, batches = recording_oracle()
            t0 = time.perf_counter()
            dec = red.solve(image, oracle=oracle)
            decide_seconds = time.perf_counter() - t0

            def fprime(lam):
                return 2 * float(np.trace(sa.loss_gradient(gradient_instance(target, lam)).grad))

            gl_need, m = None, 4
            while m <= 4096 and gl_need is None:
                rule = make_rule("gauss-legendre", m)
                if abs(f0 + float(rule.weights @ np.array([fprime(x) for x in rule.nodes])) - f1) < need:
                    gl_need = m
                m *= 2
            grid_max = 1024 if n <= 1024 else 256
            grid = np.array([fprime(k / grid_max) for k in range(grid_max)])
            riem_need = next((m for m in (2**k for k in range(int(math.log2(grid_max)) + 1))
                              if abs(f0 + float(grid[:: grid_max // m].mean()) - f1) < need), None)

            # the decision's own largest batch of λ (its composite rule's nodes, one `many`)
            lams = max(batches, key=len) if batches else make_rule("gauss-legendre", 32).nodes
            # the rates again, just before the calls: this shared machine drifts by tens of percent in minutes
            near = rates()
            r_row = {k: max(r[k], near[k]) for k in ("gemm_flops_per_s", "exp_per_s", "exp_in_cache_per_s")}
            # the floor: 2·nq·nk·(2d + 2(dv + 1)) flops (the products carry [h, 1]) plus nq·nk exps
            floor = floor_seconds(target.nq, target.d, target.dv + 1, r_row, nk=target.nk)
            cache_floor = floor_seconds(target.nq, target.d, target.dv + 1,
                                        dict(r_row, exp_per_s=r_row["exp_in_cache_per_s"]), nk=target.nk)
            quiet, alone = per_call_seconds(target, lams)
            loaded = loaded_alone = None
            if not args.no_load:
                with BusyCore():
                    loaded, loaded_alone = per_call_seconds(target, lams)
            m_paper = paper_points(max(target.nq, target.nk))
            row = {
                "n": n, "d0": d0, "instance": kind, "truth": truth, "f1": f1, "sigma": plan["sigma"],
                "gap": pred.gap, "one_panel_certified_calls": one_panel, "certified_calls": plan["nodes"],
                "panels": len(plan["panels"] or [1]), "plan_seconds": plan_seconds,
                "certified_answer": dec.answer, "certified_error_bound": dec.error,
                "certified_measured_error": abs(dec.quantity - f1), "decide_seconds": decide_seconds,
                "gl_calls_needed": gl_need, "certified_over_needed": plan["nodes"] / gl_need if gl_need else None,
                "riemann_calls_needed": riem_need, "riemann_grid_max": grid_max,
                "paper_points": m_paper,
                "paper_stated_bound": riemann_error_bound(m_paper, plan["sigma"], target.nq, target.dv,
                                                          target.bound_V),
                "rates_used": r_row, "kernels": ops.kernel_choices(), "calls_per_sweep": len(lams),
                "floor_seconds_per_call": floor, "seconds_per_call": quiet,
                "in_cache_floor_seconds_per_call": cache_floor, "ratio_to_in_cache_floor": quiet / cache_floor,
                "ratio_to_floor": quiet / floor, "seconds_per_call_alone": alone, "ratio_alone_to_floor": alone / floor,
                "seconds_per_call_loaded": loaded, "seconds_per_call_alone_loaded": loaded_alone,
                "ratio_to_floor_loaded": None if loaded is None else loaded / floor,
                "loaded_over_quiet": None if loaded is None else loaded / quiet,
            }
            rows.append(row)
            ok = "correct" if dec.answer == truth else ("inconclusive" if dec.answer is None else "WRONG")
            lo = "-" if loaded is None else f"{loaded * 1e3:7.2f} {loaded / floor:7.2f} {loaded / quiet:5.2f}"
            print(f"{n:>5} {kind:>8} {plan['sigma']:6.0f} {one_panel!s:>8} {plan['nodes']:>5} {row['panels']:>6} "
                  f"{gl_need!s:>8} {row['certified_over_needed'] or float('nan'):9.2f} "
                  f"{riem_need if riem_need else '>' + str(grid_max):>9} {pred.gap:6.3f} {quiet * 1e3:8.2f} "
                  f"{quiet / floor:7.2f} {alone / floor:7.2f} {lo:>21} {decide_seconds:8.2f} {ok}")
    print("1-panel / cert: certified calls on one panel and with the reduction's composite panels;")
    print("GL need / Riem need: fewest calls (powers of two) whose estimate is on the correct side of the threshold;")
    print("ms/call: a call as the decision makes them (the decision's own lambda, all handed to oracle.many at once);")
    print("alone: the median of single calls; x floor: against the best GEMM and exp rates of this run; loaded: with")
    print("one core busy.")
    print(f"# against the stricter floor with the in-cache exp rate ({r['exp_in_cache_per_s'] / 1e9:.2f} G/s at the "
          "start, 2^18 scores on every core):", ", ".join(f"n = {row['n']} {row['instance']} "
                                                         f"{row['ratio_to_in_cache_floor']:.2f}x" for row in rows))
    print("# kernels of the numpy engine (docs/problems.md 2.2):",
          {k: v["choice"] for k, v in ops.kernel_choices().items()})
    write_json(args.json, {"machine": machine(), "rates": r, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
