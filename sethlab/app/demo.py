"""`sethlab demo`, the main job: a checked tour of both sides of the theorems, written up in a folder.

1. The exact engine (docs/problems.md §2): ∂L/∂X against central finite differences, the
   torch backend and torch autograd (when torch is installed), and scores of
   several hundred through row-max subtraction.
2. The lower-bound chain (docs/reductions.md §4.1, §5.1, docs/quadrature.md): a generated satisfiable 3-CNF
   and an unsatisfiable pigeonhole formula go SAT → OV → attention → gradient
   and are decided with gradient calls only, then checked against the SAT solver.
3. Quadrature (docs/quadrature.md): error of f(1) against oracle calls for the paper's
   Riemann rule and certified Gauss-Legendre, with each rule's bound.
4. The upper bound (docs/polynomial.md §3): the polynomial method next to exact on a bounded
   instance for several n, measured error against the certified bound, and
   the certified rank against B/√ln n (the phase transition).

The report (report.md, results.json and, with matplotlib, three PNG plots) is
built in a temporary folder and moved to a fresh folder only when complete.
Exit code 0 if every check passes, 1 otherwise. Neither torch nor matplotlib is
required: their parts are skipped and the report says why.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np

import sethlab
import sethlab.attention as sa
from sethlab.app import approx_sweep, experiments, plots
from sethlab.app.benchmarks import have_torch, machine
from sethlab.errors import InvalidInstance
from sethlab.jsonable import jsonable
from sethlab.app.progress import Progress
from sethlab.app.report import output_folder, write_json, write_markdown

STEPS = ("exact engine", "SAT by gradient calls", "quadrature", "poly vs exact", "rank phase transition",
         "fast attention", "report")


def _instance(rng, n, d, scale=1.0):
    return sa.GradientInstance(
        rng.normal(size=(n, d)) * scale,
        rng.normal(size=(n, d)) * scale,
        rng.normal(size=(n, d)),
        rng.normal(size=(n, d)),
        rng.normal(size=(d, d)) / np.sqrt(d),
        np.eye(d),
    )


def _finite_differences(inst, h=1e-5):
    d = inst.d
    g = np.empty((d, d))
    for a in range(d):
        for b in range(d):
            shifted = []
            for sign in (1, -1):
                X = inst.X.copy()
                X[a, b] += sign * h
                shifted.append(sa.loss(sa.GradientInstance(inst.A1, inst.A2, inst.A3, inst.E, X, inst.Y)))
            g[a, b] = (shifted[0] - shifted[1]) / (2 * h)
    return g


class _Checks(list):
    """The demo's checks: status "pass", "fail" or "skip" (a skipped check is neither passed nor failed)."""

    def add(self, name, ok, detail, seconds=None):
        self.append({"check": name, "status": "pass" if ok else "fail", "ok": bool(ok), "detail": detail,
                     "seconds": seconds})

    def skip(self, name, detail):
        self.append({"check": name, "status": "skip", "ok": None, "detail": detail, "seconds": None})


def tally(checks) -> dict:
    """How many checks passed, failed and were skipped."""
    out = {"pass": 0, "fail": 0, "skip": 0}
    for c in checks:
        out[c["status"]] += 1
    return out


def tally_line(checks) -> str:
    t = tally(checks)
    run = t["pass"] + t["fail"]
    return f"{t['pass']} of {run} checks passed" + (f", {t['skip']} skipped" if t["skip"] else "")


def engine_checks(checks: _Checks, rng, n: int, d: int) -> None:
    """The exact gradient against finite differences, torch and autograd; huge scores (docs/problems.md §0, §2)."""
    small = _instance(rng, 12, 3)
    fd = _finite_differences(small)
    err = float(np.abs(sa.loss_gradient(small).grad - fd).max())
    checks.add("gradient vs finite differences (n=12, d=3)", err < 1e-7 * max(1.0, np.abs(fd).max()),
               f"max error {err:.1e}")

    big = _instance(rng, n, d)
    res = sa.loss_gradient(big)
    checks.add(f"exact gradient, numpy (n={n}, d={d})", np.isfinite(res.grad).all(), f"loss {res.loss:.6g}",
               res.seconds)
    if have_torch():
        from sethlab.attention.reference import loss_gradient_autograd

        rt = sa.loss_gradient(big, backend="torch")
        rel = float(np.abs(rt.grad - res.grad).max() / np.abs(res.grad).max())
        checks.add(f"torch backend vs numpy (n={n})", rel < 1e-10, f"relative difference {rel:.1e}", rt.seconds)
        t0 = time.perf_counter()
        g_ref, _ = loss_gradient_autograd(big)
        t_ref = time.perf_counter() - t0
        rel = float(np.abs(g_ref - res.grad).max() / np.abs(g_ref).max())
        checks.add(f"numpy engine vs torch autograd (n={n})", rel < 1e-10, f"relative difference {rel:.1e}", t_ref)
    else:
        checks.skip("torch backend and torch autograd", "torch not installed (pip install 'sethlab[torch]')")

    Q = rng.uniform(-1, 1, size=(64, 2)) * 22.0
    K = rng.uniform(-1, 1, size=(48, 2)) * 22.0
    V = rng.normal(size=(48, 2))
    out_hot = sa.attention(sa.AttentionInstance(Q, K, V)).output
    s = Q @ K.T / 2
    top = s.argmax(axis=1)
    srt = np.sort(s, axis=1)
    sure = srt[:, -1] - srt[:, -2] > 40  # rows where one key holds all but e^-40 of the mass
    ok = np.isfinite(out_hot).all() and np.allclose(out_hot[sure], V[top[sure]], rtol=1e-12, atol=1e-12)
    checks.add(f"attention with scores up to {np.abs(s).max():.0f} (row-max subtraction)", ok,
               f"finite; {int(sure.sum())} one-hot rows exact")


def chain_formulas(quick: bool, seed: int) -> list[tuple[str, object]]:
    """A planted (satisfiable) random 3-CNF near the threshold and the unsatisfiable pigeonhole formula."""
    from sethlab.generators import pigeonhole, random_kcnf

    n_vars = 8 if quick else 12
    holes = 2 if quick else 3
    return [(f"random 3-CNF, planted (seed {seed})", random_kcnf(n_vars, round(4.2 * n_vars), 3, seed=seed,
                                                                   planted=True)),
            (f"pigeonhole, {holes + 1} pigeons in {holes} holes", pigeonhole(holes))]


def chain_checks(checks: _Checks, formulas, bar=None) -> list[dict]:
    rows = []
    for label, cnf in formulas:
        progress = None
        if bar is not None:  # the step's bar becomes a per-call bar: calls done of planned, rate, time left
            def progress(stage, done, total, label=label):
                bar.update(f"sethlab demo: {label}: {stage}", done, total)
        row = experiments.decide_formula(cnf, label, progress=progress)
        rows.append(row)
        said = {None: "inconclusive", True: "SAT", False: "UNSAT"}[row["answer"]]
        detail = (f"answer {said}, SAT solver {'SAT' if row['truth'] else 'UNSAT'}; "
                  f"margin {row['margin']:.3g}, certified error {row['error']:.3g}")
        if not row["correct"]:
            detail += f" ({row['reason']})"
        checks.add(f"{label}: decided by {row['calls']} gradient calls", row["correct"], detail, row["seconds"])
    return rows


def quadrature_checks(checks: _Checks, cnf, quick: bool) -> dict:
    gl = (2, 4, 8, 16, 32, 64) if quick else (2, 4, 8, 16, 32, 64, 128, 256, 512)
    riemann = (1, 4, 16, 64) if quick else (1, 4, 16, 64, 256)
    sweep = experiments.quadrature_sweep(experiments.frobenius_image(cnf), gl, riemann)
    held = all(x["measured_error"] <= x["stated_bound"] for x in sweep["rows"])
    checks.add("quadrature: measured error <= stated bound (both rules, every call count)", held,
               f"{len(sweep['rows'])} runs")
    best = min((x for x in sweep["rows"] if x["rule"] == "gauss-legendre"), key=lambda x: x["measured_error"])
    worst_r = min((x for x in sweep["rows"] if x["rule"] == "riemann"), key=lambda x: x["measured_error"])
    checks.add("Gauss-Legendre beats the Riemann rule", best["measured_error"] < worst_r["measured_error"],
               f"GL {best['measured_error']:.1e} with {best['calls']} calls, Riemann "
               f"{worst_r['measured_error']:.1e} with {worst_r['calls']} calls")
    return sweep


def poly_checks(checks: _Checks, quick: bool) -> list[dict]:
    rows = experiments.poly_against_exact((256, 512) if quick else (512, 1024, 2048, 4096))
    held = all(x["within_bound"] for x in rows)
    worst = max(rows, key=lambda x: x["measured_error"] / x["error_bound"])
    checks.add("poly within its certified bound (forward and gradient, every n)", held,
               f"worst measured/bound {worst['measured_error'] / worst['error_bound']:.1e}")
    return rows


def phase_checks(checks: _Checks, quick: bool) -> list[dict]:
    ns = (2**8, 2**12) if quick else (2**8, 2**12, 2**16)
    ratios = np.linspace(0.1, 1.5, 4 if quick else 8)
    rows = experiments.rank_phase_transition(ns, ratios)
    crosses = all(min(r["rank_exponent"] for r in rows if r["n"] == n) < 1 <
                  max(r["rank_exponent"] for r in rows if r["n"] == n) for n in ns)
    checks.add("rank crosses n as B grows past sqrt(ln n) (every n)", crosses,
               ", ".join(f"n=2^{n.bit_length() - 1}: log_n(rank) "
                         f"{min(r['rank_exponent'] for r in rows if r['n'] == n):.2f}.."
                         f"{max(r['rank_exponent'] for r in rows if r['n'] == n):.2f}" for n in ns))
    return rows


def approx_checks(checks: _Checks, quick: bool, seed: int) -> dict:
    """A reduced `sethlab approx --sweep` (docs/approx.md): exact must decide every OV image, and poly must
    stay within its eps wherever it ran; what the peers do is reported, not checked (it is the finding)."""
    from sethlab.app.approx_sweep import QUICK_RATIOS, QUICK_SIZES, sweep

    results = sweep(QUICK_SIZES if quick else [2**8, 2**9, 2**10], QUICK_RATIOS, trials=2, seed=seed)
    ov = [r for r in results["rows"] if r["family"] == "ov"]
    exact_ok = all(r["accuracy"] == 1.0 for r in ov if r["method"] == "exact")
    checks.add("sethlab.approx: exact decides every OV image", exact_ok,
               f"{sum(r['trials'] for r in ov if r['method'] == 'exact')} images, n up to {max(results['sizes'])}")
    poly = [r for r in results["rows"] if r["method"] == "poly" and isinstance(r["max_error"], float)]
    eps = results["parameters"]["poly"]["eps"]
    checks.add("sethlab.approx: poly within its certified eps wherever it ran", bool(poly) and
               all(r["max_error"] <= eps for r in poly),
               f"{len(poly)} points, worst {max((r['max_error'] for r in poly), default=float('nan')):.1e} "
               f"<= eps {eps:g}; refused (eps not certifiable, or costlier than exact) at "
               f"{sum(r['refused'] > 0 for r in results['rows'] if r['method'] == 'poly')} of "
               f"{sum(r['method'] == 'poly' for r in results['rows'])} points")
    fails = sorted({r["method"] for r in ov if r["n"] == max(results["sizes"]) and r["accuracy"] < 1})
    results["failing_on_ov"] = fails
    return results


def _draw(folder, results) -> tuple[list[str], str | None]:
    why = plots.unavailable()
    if why is not None:
        return [], why
    plots.rank_phase_transition(results["phase"], folder.path("phase_transition.png"))
    plots.poly_vs_exact_times(results["poly"], folder.path("poly_vs_exact.png"))
    plots.quadrature_error(results["quadrature"], folder.path("quadrature.png"))
    names = ["phase_transition.png", "poly_vs_exact.png", "quadrature.png"]
    if results.get("approx"):
        names += approx_sweep.draw(folder, results["approx"])[0]
    return names, None


def run_demo(out: str | None = None, n: int = 2048, d: int = 16, seed: int = 0, quick: bool = False,
             as_json: bool = False, stream=None) -> int:
    """Run the tour, write the report folder (its path is printed), return 0 if every check passes, 1 otherwise."""
    for name, value in (("n", n), ("d", d)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidInstance(f"{name}: must be a positive integer, got {value!r}")
    t_start = time.perf_counter()
    rng = np.random.default_rng(seed)
    checks = _Checks()
    with output_folder(out) as folder, Progress("sethlab demo", total=len(STEPS)) as bar:
        steps = iter(STEPS)
        timing: dict = {}

        def step():
            now = time.perf_counter()
            if timing:
                timing[list(timing)[-1]] = now - timing[list(timing)[-1]]
            name = next(steps)
            timing[name] = now
            bar.update(f"sethlab demo: {name}", len(timing) - 1, len(STEPS))

        step()
        engine_checks(checks, rng, n, d)
        bar.advance()
        step()
        formulas = chain_formulas(quick, seed)
        chain = chain_checks(checks, formulas, bar)
        bar.update("sethlab demo", 2, len(STEPS))
        step()
        sweep = quadrature_checks(checks, formulas[0][1], quick)
        bar.advance()
        step()
        poly = poly_checks(checks, quick)
        bar.advance()
        step()
        phase = phase_checks(checks, quick)
        bar.advance()
        step()
        approx = approx_checks(checks, quick, seed)
        bar.advance()
        step()
        results = {"version": sethlab.__version__, "seed": seed, "quick": quick, "machine": machine(),
                   "checks": checks, "chain": chain, "quadrature": sweep, "poly": poly, "phase": phase,
                   "approx": approx}
        results["plots"], results["plots_missing"] = _draw(folder, results)
        timing["report"] = time.perf_counter() - timing["report"]
        results["step_seconds"] = timing
        results["seconds"] = time.perf_counter() - t_start
        results["passed"] = tally(checks)["fail"] == 0
        write_markdown(folder.path("report.md"), results)
        write_json(folder.path("results.json"), results)
        bar.advance()
    _print_summary(results, folder.final, as_json, stream)
    return 0 if results["passed"] else 1


def _print_summary(results: dict, folder: str, as_json: bool, stream) -> None:
    checks = results["checks"]
    if as_json:
        print(json.dumps(jsonable({"passed": results["passed"], "checks": checks, "folder": folder,
                          "report": os.path.join(folder, "report.md"), "plots": results["plots"],
                          "plots_missing": results["plots_missing"], "seconds": results["seconds"]}), indent=2),
              file=stream)
        return
    print("sethlab demo: SAT -> OV -> attention -> gradient, decided and checked; poly next to exact", file=stream)
    for c in checks:
        sec = "" if c["seconds"] is None else f" [{c['seconds']:.2f} s]"
        print(f"  {c['status'].upper()}  {c['check']}: {c['detail']}{sec}", file=stream)
    print(f"{tally_line(checks)} in {results['seconds']:.1f} s", file=stream)
    if results["plots_missing"]:
        print(f"no plots: {results['plots_missing']}", file=stream)
    print(f"report written to {folder}", file=stream)
