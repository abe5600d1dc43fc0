"""The problems reductions connect (DESIGN.md "Problem"): instance type, size, exact solver, witness check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from sethlab.errors import InvalidInstance


@dataclass(frozen=True)
class Problem:
    """A named problem. Decision problems have `solve -> Answer(yes, witness)` and `verify(instance, witness)`."""

    name: str
    instance_type: type
    size: Callable[[Any], dict]
    solve: Callable[[Any], Any]
    verify: Callable[[Any, Any], bool] | None = None
    decision: bool = True
    description: str = ""
    # why an instance lies outside the problem's promise (None: inside); a verifier skips those, and only those
    promise: Callable[[Any], str | None] | None = None

    def promise_violation(self, x) -> str | None:
        """Why `x` breaks this problem's promise, or None (problems without a promise: always None)."""
        return None if self.promise is None else self.promise(x)

    def check_instance(self, x) -> None:
        """Raise InvalidInstance unless `x` is an instance of this problem."""
        if not isinstance(x, self.instance_type):
            raise InvalidInstance(f"instance: {self.name} expects {self.instance_type.__name__}, got {type(x).__name__}")


def _cnf_type():
    from pysat.formula import CNF

    return CNF


def _cnf_size(cnf) -> dict:
    return {"N": int(cnf.nv), "m": len(cnf.clauses)}


def _sat_solve(cnf):
    from sethlab.solvers import solve_sat

    return solve_sat(cnf)


def _sat_verify(cnf, witness) -> bool:
    from sethlab.solvers import satisfies

    return witness is not None and satisfies(cnf, witness)


def _ov_verify(inst, pair) -> bool:
    if pair is None:
        return False
    i, j = (int(v) for v in pair)
    return 0 <= i < inst.nA and 0 <= j < inst.nB and int(inst.A[i].astype(np.int64) @ inst.B[j]) == 0


def _hamming_verify(inst, pair) -> bool:
    if pair is None:
        return False
    i, j = (int(v) for v in pair)
    return 0 <= i < inst.nA and 0 <= j < inst.nB and int(np.count_nonzero(inst.A[i] != inst.B[j])) < inst.t


def _build() -> dict[str, Problem]:
    from sethlab.attention import AttentionInstance, GradientInstance, attention, loss_gradient
    from sethlab.instances import HammingInstance, OVInstance
    from sethlab.solvers import solve_hamming, solve_ov
    from sethlab.solvers.hamming import promise_violation

    return {
        p.name: p
        for p in (
            Problem("cnf-sat", _cnf_type(), _cnf_size, _sat_solve, _sat_verify,
                    description="is the CNF formula satisfiable? (witness: an assignment)"),
            Problem("ov", OVInstance, lambda x: {"nA": x.nA, "nB": x.nB, "d": x.d}, solve_ov, _ov_verify,
                    description="is some pair (a_i, b_j) orthogonal? (witness: the pair)"),
            Problem("hamming-close-pair", HammingInstance,
                    lambda x: {"nA": x.nA, "nB": x.nB, "d": x.d, "t": x.t}, solve_hamming, _hamming_verify,
                    description="is some pair at distance < t, all others >= (1+gap)t? (witness: the pair)",
                    promise=promise_violation),
            Problem("attention", AttentionInstance,
                    lambda x: {"nq": x.nq, "nk": x.nk, "d": x.d, "dv": x.dv}, attention, None, decision=False,
                    description="AAttC: approximate D^-1 exp(QK^T/d) V entrywise"),
            Problem("attention-gradient", GradientInstance,
                    lambda x: {"nq": x.nq, "nk": x.nk, "d": x.d, "dv": x.dv, "m": x.m}, loss_gradient, None,
                    decision=False, description="AAttLGC: approximate the gradient of the attention loss"),
        )
    }


_PROBLEMS: dict[str, Problem] | None = None


def problems() -> dict[str, Problem]:
    """All problems by name."""
    global _PROBLEMS
    if _PROBLEMS is None:
        _PROBLEMS = _build()
    return _PROBLEMS


def get_problem(name: str) -> Problem:
    """The problem called `name`; InvalidInstance naming the known ones otherwise."""
    table = problems()
    if name not in table:
        raise InvalidInstance(f"problem: unknown {name!r}; known: {', '.join(sorted(table))}")
    return table[name]
