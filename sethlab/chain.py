"""`sethlab.decide` (here as `sethlab.chain.decide`): CNF-SAT decided along the chain SAT → OV → attention → gradient (docs/reductions.md §4.1, §5.1, docs/quadrature.md).

The answer comes from the last stage only (gradient calls for
via="attention-gradient"); the SAT solver supplies `.truth` for comparison.
"""

from __future__ import annotations

import dataclasses
import time

from sethlab.errors import InvalidInstance
from sethlab.reductions.base import Decision

VIA = ("ov", "attention", "attention-gradient")


def plan(cnf, via: str = "attention-gradient", dtype=None, memory_budget=None) -> dict:
    """Sizes, memory and oracle cost of deciding `cnf` along `via`, from the formula alone (no work).

    The split-and-list image is exponential in N, so this is computed before anything is built:
    the SAT solver's tables, the OV sides (2^⌈N/2⌉ + 2^⌊N/2⌋ vectors of dimension m), the attention
    image (float64, and the instance's own copy), and one gradient call's instance and engine
    buffers (the engine's blocks shrink to fit, at least one row). `calls` bounds the certified
    single-panel Gauss-Legendre count with σ <= β (scores lie in [−β, 0]); composite panels only ever
    need fewer; `flops_per_call` is docs/problems.md §2.2's count.
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
            # the score profile of the composite plan (docs/quadrature.md) lives before the calls, not with them
            profile = 16 * nq * 256 + 8 * min(nq, 4096) * (3 * nk + 512)
            stages["attention-gradient"] = ov + image + max(call, profile)
            beta = default_beta(d, max(nA, nB, 2)) if math.isfinite(nA) else math.inf
            nodes = certified_nodes(1 / 32, beta, nq, 1, 1.0, max_nodes=8192) if math.isfinite(beta) else None
            out["calls"] = nodes if nodes is not None else 8192
            out["flops_per_call"] = 2.0 * nq * nk * (2 * d + 6)
    out["bytes"] = stages
    out["peak_bytes"] = max(stages.values())
    return out


def decide(cnf, via: str = "attention-gradient", method: str = "exact", backend: str = "numpy", *,
           device=None, dtype=None, rule: str = "gauss-legendre", nodes: int | None = None,
           certified: bool = True, memory_budget=None, progress=None) -> Decision:
    """Decide a formula (python-sat CNF, clause list or DIMACS path) through the chain `via`.

    The registered path cnf-sat → `via` is solved as one composed reduction (its last step, for
    the gradient route, the quadrature of `rule`), and the SAT solver gives `.truth`. Everything is
    sized first (`plan`) and refused beyond the memory budget with the sizes in the message.
    `progress(stage, done, total)` is called at every stage and after every oracle call.
    """
    from sethlab.cnf import as_cnf
    from sethlab.memory import format_bytes, require
    from sethlab.reductions.attention_to_gradient import AttentionToGradient, make_oracle
    from sethlab.reductions.registry import ComposedReduction, path
    from sethlab.solvers import solve_sat

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

    report("sat-solver", 0, None)
    t0 = time.perf_counter()
    truth = solve_sat(formula, memory_budget=memory_budget).yes
    solver_stage = {"stage": "sat-solver", "sizes": {"N": formula.nv, "m": len(formula.clauses)}, "B": None,
                    "seconds": time.perf_counter() - t0}

    steps = list(getattr(path("cnf-sat", via), "steps", [path("cnf-sat", via)]))
    options = {"method": method, "backend": backend, "device": device, "dtype": dtype}
    oracle = None
    if via == "attention-gradient":
        steps[-1] = AttentionToGradient(rule=rule, nodes=nodes, certified=certified)
        oracle = make_oracle(memory_budget=memory_budget, **options)
        options = {}
    elif via == "ov":
        options = {}
    dec = ComposedReduction(steps).solve(formula, oracle, progress=report, memory_budget=memory_budget, **options)
    return dataclasses.replace(dec, truth=truth, stages=[solver_stage] + dec.stages,
                               details={**dec.details, "via": via})
