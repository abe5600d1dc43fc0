"""`sethlab.decide` (here as `sethlab.chain.decide`): CNF-SAT decided along the chain SAT → OV → attention → gradient (MATH.md 4.1, 5.1, 6).

The answer comes from the last stage only (gradient calls for
via="attention-gradient"); the SAT solver supplies `.truth` for comparison.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from sethlab.errors import InvalidInstance

VIA = ("ov", "attention", "attention-gradient")


@dataclass(frozen=True)
class ChainDecision:
    """The chain's answer (None when inconclusive), the truth, oracle calls, margin and per-stage figures."""

    answer: bool | None
    truth: bool
    calls: int
    margin: float
    error: float
    via: str
    stages: list = field(default_factory=list)
    reason: str = ""

    @property
    def conclusive(self) -> bool:
        return self.answer is not None

    @property
    def correct(self) -> bool:
        return self.answer is not None and self.answer == self.truth

    def to_dict(self) -> dict:
        out = asdict(self)
        out.update(conclusive=self.conclusive, correct=self.correct)
        return out


def plan(cnf, via: str = "attention-gradient", dtype=None, memory_budget=None) -> dict:
    """Sizes, memory and oracle cost of deciding `cnf` along `via`, from the formula alone (no work).

    The split-and-list image is exponential in N, so this is computed before anything is built:
    the SAT solver's tables, the OV sides (2^⌈N/2⌉ + 2^⌊N/2⌋ vectors of dimension m), the attention
    image (float64, and the instance's own copy), and one gradient call's instance and engine
    buffers (the engine's blocks shrink to fit, at least one row). `calls` bounds the certified
    Gauss-Legendre count with σ <= β (scores lie in [−β, 0]); `flops_per_call` is MATH.md 2.2's count.
    """
    import math

    from sethlab.attention.ops import dtype_name
    from sethlab.reductions.ov_to_attention import default_beta
    from sethlab.reductions.quadrature import certified_nodes
    from sethlab.reductions import _split_and_list as sl
    from sethlab.solvers.sat import solver_bytes

    if via not in VIA:
        raise InvalidInstance(f"via: must be one of {', '.join(VIA)}, got {via!r}")
    itemsize = 8 if dtype_name(dtype) == "float64" else 4
    N, m = int(cnf.nv), len(cnf.clauses)
    n1 = (N + 1) // 2
    nA, nB = (2**n1, 2 ** (N - n1)) if n1 <= 62 else (math.inf, math.inf)
    d = max(m, 1)
    stages = {"sat-solver": solver_bytes(cnf), "sat-to-ov": sl.image_bytes(N, m, 2)}
    ov = (nA + nB) * m
    out = {"N": N, "m": m, "nA": nA, "nB": nB, "d": d, "ov": sl.describe(N, m, 2), "calls": 0,
           "flops_per_call": 0.0}
    if via == "ov":
        stages["ov-solver"] = ov + 4 * (nA + nB) * d + 4 * 1024 * 1024
    else:
        nq, nk = nA, nB + 1
        image = 2 * 8 * (nq * d + nk * (d + 1))
        stages["ov-to-attention"] = ov + image
        if via == "attention":
            stages["attention"] = ov + image + itemsize * (nq * d + nk * (d + 2) + nq) + itemsize * nk * 2
            out["calls"], out["flops_per_call"] = 1, 2.0 * nq * nk * (d + 2)
        else:
            call = 8 * 3 * (nq * d + nk * d + nk + nq) + itemsize * (2 * nq * d + 2 * nk * (d + 2)) + itemsize * 2 * nk
            stages["attention-gradient"] = ov + image + call
            beta = default_beta(d, max(nA, nB, 2)) if math.isfinite(nA) else math.inf
            nodes = certified_nodes(1 / 32, beta, nq, 1, 1.0, max_nodes=8192) if math.isfinite(beta) else None
            out["calls"] = nodes if nodes is not None else 8192
            out["flops_per_call"] = 2.0 * nq * nk * (2 * d + 6)
    out["bytes"] = stages
    out["peak_bytes"] = max(stages.values())
    return out


def decide(cnf, via: str = "attention-gradient", method: str = "exact", backend: str = "numpy", *,
           device=None, dtype=None, rule: str = "gauss-legendre", nodes: int | None = None,
           certified: bool = True, memory_budget=None, progress=None) -> ChainDecision:
    """Decide a formula (python-sat CNF, clause list or DIMACS path) through the chain `via`.

    Everything is sized first (`plan`) and refused beyond the memory budget with the sizes in the
    message. `progress(stage, done, total)` is called as the work goes (total None when unknown):
    at each stage, and after every gradient call.
    """
    from sethlab.attention import attention
    from sethlab.cnf import as_cnf
    from sethlab.memory import format_bytes, require
    from sethlab.reductions.attention_to_gradient import AttentionToGradient, make_oracle
    from sethlab.reductions.ov_to_attention import OVToAttention
    from sethlab.reductions.sat_to_ov import SatToOV
    from sethlab.solvers import solve_ov, solve_sat

    if via not in VIA:
        raise InvalidInstance(f"via: must be one of {', '.join(VIA)}, got {via!r}")
    formula = as_cnf(cnf)
    sizes = plan(formula, via, dtype, memory_budget)
    worst = max(sizes["bytes"], key=sizes["bytes"].get)
    require(sizes["peak_bytes"], f"deciding a formula with N = {sizes['N']} variables and m = {sizes['m']} clauses "
            f"via {via} (SAT -> OV: {sizes['ov']}; the largest stage, {worst}, "
            f"{format_bytes(sizes['bytes'][worst])})", memory_budget,
            hint="split-and-list is exponential in N: about 40 variables fit in a few GiB")
    report = progress or (lambda stage, done, total: None)
    stages = []

    report("sat-solver", 0, None)
    t0 = time.perf_counter()
    truth = solve_sat(formula, memory_budget=memory_budget).yes
    stages.append({"stage": "sat-solver", "sizes": {"N": formula.nv, "m": len(formula.clauses)},
                   "B": None, "seconds": time.perf_counter() - t0})

    report("sat-to-ov", 0, None)
    t0 = time.perf_counter()
    ov = SatToOV().apply(formula, memory_budget=memory_budget).target
    stages.append({"stage": "sat-to-ov", "sizes": {"nA": ov.nA, "nB": ov.nB, "d": ov.d}, "B": 1.0,
                   "seconds": time.perf_counter() - t0})
    if via == "ov":
        report("ov-solver", 0, None)
        t0 = time.perf_counter()
        ans = solve_ov(ov)
        stages.append({"stage": "ov-solver", "sizes": {}, "B": None, "seconds": time.perf_counter() - t0})
        return ChainDecision(ans.yes, truth, 0, float("inf"), 0.0, via, stages, "OV solved exactly")

    report("ov-to-attention", 0, None)
    t0 = time.perf_counter()
    fwd = OVToAttention(quantity="max" if via == "attention" else "frobenius")
    image = fwd.apply(ov)
    p = image.prediction
    stages.append({"stage": "ov-to-attention", "sizes": p.sizes, "B": p.entry_bound,
                   "seconds": time.perf_counter() - t0})
    if via == "attention":
        report("attention", 0, 1)
        t0 = time.perf_counter()
        res = attention(image.target, method=method, backend=backend, device=device, dtype=dtype,
                        eps=p.accuracy if method == "poly" else None, memory_budget=memory_budget)
        dec = fwd.decide(image, res)
        report("attention", 1, 1)
        stages.append({"stage": "attention", "sizes": p.sizes, "B": p.entry_bound, "seconds": time.perf_counter() - t0})
        return ChainDecision(dec.answer, truth, 1, dec.margin, dec.error, via, stages, dec.reason)

    t0 = time.perf_counter()
    grad = AttentionToGradient(rule=rule, nodes=nodes, certified=certified)
    oracle = make_oracle(method=method, backend=backend, device=device, dtype=dtype, memory_budget=memory_budget)
    dec = grad.solve(image, oracle, progress=lambda done, total: report("gradient calls", done, total))
    stages.append({"stage": "attention-to-gradient", "sizes": {**p.sizes, "calls": dec.calls}, "B": p.entry_bound,
                   "seconds": time.perf_counter() - t0, "rule": rule, "nodes": dec.details.get("nodes"),
                   "quadrature_error": dec.details.get("quadrature_error")})
    return ChainDecision(dec.answer, truth, dec.calls, dec.margin, dec.error, via, stages, dec.reason)
