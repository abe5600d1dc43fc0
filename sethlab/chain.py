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


def decide(cnf, via: str = "attention-gradient", method: str = "exact", backend: str = "numpy", *,
           device=None, dtype=None, rule: str = "gauss-legendre", nodes: int | None = None,
           certified: bool = True) -> ChainDecision:
    """Decide a formula (python-sat CNF, clause list or DIMACS path) through the chain `via`."""
    from sethlab.attention import attention
    from sethlab.cnf import as_cnf
    from sethlab.reductions.attention_to_gradient import AttentionToGradient, make_oracle
    from sethlab.reductions.ov_to_attention import OVToAttention
    from sethlab.reductions.sat_to_ov import sat_to_ov
    from sethlab.solvers import solve_ov, solve_sat

    if via not in VIA:
        raise InvalidInstance(f"via: must be one of {', '.join(VIA)}, got {via!r}")
    formula = as_cnf(cnf)
    stages = []

    t0 = time.perf_counter()
    truth = solve_sat(formula).yes
    stages.append({"stage": "sat-solver", "sizes": {"N": formula.nv, "m": len(formula.clauses)},
                   "B": None, "seconds": time.perf_counter() - t0})

    t0 = time.perf_counter()
    ov_image = sat_to_ov(formula)
    ov = ov_image.instance
    stages.append({"stage": "sat-to-ov", "sizes": {"nA": ov.nA, "nB": ov.nB, "d": ov.d}, "B": 1.0,
                   "seconds": time.perf_counter() - t0})
    if via == "ov":
        t0 = time.perf_counter()
        ans = solve_ov(ov)
        stages.append({"stage": "ov-solver", "sizes": {}, "B": None, "seconds": time.perf_counter() - t0})
        return ChainDecision(ans.yes, truth, 0, float("inf"), 0.0, via, stages, "OV solved exactly")

    t0 = time.perf_counter()
    fwd = OVToAttention(quantity="max" if via == "attention" else "frobenius")
    image = fwd.apply(ov)
    p = image.prediction
    stages.append({"stage": "ov-to-attention", "sizes": p.sizes, "B": p.entry_bound,
                   "seconds": time.perf_counter() - t0})
    if via == "attention":
        t0 = time.perf_counter()
        res = attention(image.target, method=method, backend=backend, device=device, dtype=dtype,
                        eps=p.accuracy if method == "poly" else None)
        dec = fwd.decide(image, res)
        stages.append({"stage": "attention", "sizes": p.sizes, "B": p.entry_bound, "seconds": time.perf_counter() - t0})
        return ChainDecision(dec.answer, truth, 1, dec.margin, dec.error, via, stages, dec.reason)

    t0 = time.perf_counter()
    grad = AttentionToGradient(rule=rule, nodes=nodes, certified=certified)
    dec = grad.solve(image, make_oracle(method=method, backend=backend, device=device, dtype=dtype))
    stages.append({"stage": "attention-to-gradient", "sizes": {**p.sizes, "calls": dec.calls}, "B": p.entry_bound,
                   "seconds": time.perf_counter() - t0, "rule": rule, "nodes": dec.details.get("nodes"),
                   "quadrature_error": dec.details.get("quadrature_error")})
    return ChainDecision(dec.answer, truth, dec.calls, dec.margin, dec.error, via, stages, dec.reason)
