"""The measurements behind the demo's report and the course examples, one function each (docs/polynomial.md §3, docs/reductions.md §4, §5, docs/quadrature.md).

Each function returns plain data (dicts and lists, JSON-ready) and does no
printing or plotting, so `sethlab demo`, the examples/ scripts and a notebook
share one implementation:

- `decide_formula`: a CNF decided along SAT → OV → attention → gradient by
  `sethlab.decide`, compared with the SAT solver (docs/reductions.md §4.1, §5.1, docs/quadrature.md);
- `quadrature_sweep`: error of f(1) against oracle calls for the paper's
  Riemann rule, one-panel Gauss-Legendre and the reduction's certified plan (composite
  panels), next to each stated bound (docs/quadrature.md);
- `poly_against_exact`: the polynomial method next to exact on a bounded
  instance, for several n (docs/polynomial.md §3, through `sethlab.app.benchmarks`);
- `rank_phase_transition`: the certified rank C(d+g, g) the polynomial method
  needs as B grows past √ln n, with d = log₂ n and ε = 1/n (docs/polynomial.md §3.2).
"""

from __future__ import annotations

import math

import numpy as np


def decide_formula(cnf, label: str = "", **options) -> dict:
    """`sethlab.decide(cnf, via="attention-gradient", **options)` as a JSON-ready row with its stages."""
    import sethlab

    dec = sethlab.decide(cnf, **options)
    row = dec.to_dict()
    row["label"] = label
    row["seconds"] = sum(s["seconds"] for s in dec.stages)
    return row


def frobenius_image(cnf):
    """The forward image of a formula that the gradient route decides: SAT → OV → attention by ‖T‖_F² (docs/reductions.md §5.1)."""
    from sethlab.reductions.ov_to_attention import OVToAttention
    from sethlab.reductions.sat_to_ov import SatToOV

    return OVToAttention(quantity="frobenius").apply(SatToOV().apply(cnf).target)


def quadrature_sweep(image, gl_nodes=(2, 4, 8, 16, 32, 64, 128), riemann_points=(1, 4, 16, 64, 256)) -> dict:
    """Measured error of f(1) and each rule's stated bound, against oracle calls (docs/quadrature.md).

    Every point is a full run of the registered reduction `AttentionToGradient`
    with a fixed node count (one panel), plus one run of its certified plan (rule
    "certified plan"), so the calls are the reduction's own gradient calls.
    The reference f(1) comes from the exact forward engine; `stated_bound` is the
    reduction's whole certified error (quadrature, oracles, rounding, nodes) plus
    the reference's own (docs/quadrature.md), `quadrature_bound` the exact rule's part.
    """
    from sethlab.attention import attention
    from sethlab.reductions.attention_to_gradient import AttentionToGradient
    from sethlab.reductions.base import attention_quantity
    from sethlab.reductions.quadrature import paper_points

    ref = attention(image.target)
    f1, f1_bound = attention_quantity(ref.output, "frobenius", ref.error_bound)
    rows = []
    runs = [(rule, AttentionToGradient(rule=rule, nodes=int(m))) for rule, counts in
            (("gauss-legendre", gl_nodes), ("riemann", riemann_points)) for m in counts]
    runs.append(("certified plan", AttentionToGradient()))  # the reduction's own choice: panels when they pay
    for rule, red in runs:
        dec = red.solve(image)
        rows.append({"rule": rule, "calls": dec.calls, "measured_error": abs(dec.quantity - f1),
                     "stated_bound": dec.error + f1_bound, "quadrature_bound": dec.details["quadrature_error"],
                     "answer": dec.answer, "panels": len(dec.details.get("panels") or ()) or 1})
    target = image.target
    return {"f1": f1, "gap": image.prediction.gap, "threshold": image.prediction.threshold,
            "sizes": dict(image.prediction.sizes), "paper_points": paper_points(max(target.nq, target.nk)),
            "rows": rows}


def poly_against_exact(sizes=(512, 1024, 2048, 4096), d: int = 4, eps: float = 1e-6) -> list[dict]:
    """Poly and exact on the bounded instance of `sethlab.app.benchmarks` (entries in [−1, 1]), forward and gradient."""
    from sethlab.app.benchmarks import poly_vs_exact

    rows = []
    for n in sizes:
        rows += poly_vs_exact(int(n), d=d, eps=eps, repeat=1)["rows"]
    return rows


def rank_phase_transition(ns=(2**8, 2**12, 2**16), ratios=None, seed: int = 0) -> list[dict]:
    """Certified poly rank against B/√ln n (docs/polynomial.md §3.2): d = log₂ n, ε = 1/n, exact-arithmetic bounds.

    For each n an instance with entries ±B (random signs) has score range R = B²
    exactly; `plan` (no work on the instance) gives the degree g the certified
    bound needs and the rank C(d+g, g). `log_n(rank)` below 1 means fewer
    features than keys (the polynomial method can pay); above 1 it cannot.
    """
    import sethlab.attention as sa

    ratios = np.linspace(0.1, 1.5, 8) if ratios is None else ratios
    rng = np.random.default_rng(seed)
    rows = []
    for n in ns:
        n = int(n)
        d = max(1, round(math.log2(n)))
        signs_q = rng.choice([-1.0, 1.0], size=(n, d))
        signs_k = rng.choice([-1.0, 1.0], size=(n, d))
        V = rng.choice([-1.0, 1.0], size=(n, 1))  # not constant: a constant V makes every softmax exact
        for x in ratios:
            B = float(x) * math.sqrt(math.log(n))
            inst = sa.AttentionInstance(signs_q * B, signs_k * B, V)
            p = sa.plan(inst, method="poly", eps=1.0 / n, rounding=False)
            rows.append({"n": n, "d": d, "B": B, "B_over_sqrt_ln_n": float(x), "R": p.R, "degree": p.degree,
                         "rank": p.rank, "rank_exponent": math.log(p.rank) / math.log(n),
                         "polynomial": p.polynomial})
    return rows
