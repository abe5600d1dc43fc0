"""Exact CNF-SAT: python-sat CDCL, and a vectorized brute force used as a test oracle (docs/problems.md §4.1).

Both return ``Answer(yes, witness)`` with the witness a tuple of ``N`` signed
literals (``v`` true, ``-v`` false, for ``v = 1..N``).
"""

from __future__ import annotations

import numpy as np
from pysat.solvers import Solver, SolverNames

from sethlab.cnf import as_cnf
from sethlab.errors import InvalidInstance
from sethlab.memory import require
from sethlab.solvers.answer import Answer

__all__ = ["solve_sat", "solve_sat_bruteforce", "satisfies", "solver_bytes", "BRUTEFORCE_MAX_VARS"]

BRUTEFORCE_MAX_VARS = 24
# What a python-sat solver and sethlab's answer take, per variable and per literal (measured for
# cadical195: 210 bytes per variable index up to the largest one used, 39 per literal; the witness
# is a tuple of N Python ints), with room to spare.
SOLVER_BYTES_PER_VARIABLE = 256
SOLVER_BYTES_PER_LITERAL = 64
WITNESS_BYTES_PER_VARIABLE = 40


def solver_bytes(cnf) -> int:
    """What solving `cnf` (a normalized CNF) allocates: the solver's per-variable and per-literal tables and the witness."""
    largest = max((abs(l) for c in cnf.clauses for l in c), default=0)
    literals = sum(map(len, cnf.clauses))
    return (SOLVER_BYTES_PER_VARIABLE * largest + SOLVER_BYTES_PER_LITERAL * literals
            + WITNESS_BYTES_PER_VARIABLE * cnf.nv)


def _known_solvers() -> list[str]:
    return sorted(k for k in vars(SolverNames) if not k.startswith("_"))


def solve_sat(formula, solver: str = "cadical195", memory_budget=None) -> Answer:
    """Decide a formula with a python-sat solver (used as a context manager).

    What the solver and the witness will take is planned first and refused beyond the memory
    budget (a declared variable count of 10^9 would otherwise abort inside the solver).
    """
    cnf = as_cnf(formula)
    if solver not in _known_solvers():
        raise InvalidInstance(f"solver: unknown python-sat solver {solver!r}; choose from {', '.join(_known_solvers())}")
    require(solver_bytes(cnf), f"solving a formula with {cnf.nv} variables and {len(cnf.clauses)} clauses "
                               f"(the solver's tables and a witness of {cnf.nv} literals)", memory_budget)
    # trivial formulas are answered here: some bundled solvers crash on them (maplesat
    # segfaults on a formula without clauses in python-sat 1.9.dev24)
    if any(len(c) == 0 for c in cnf.clauses):
        return Answer(False, None)
    if not cnf.clauses:
        return Answer(True, tuple(-v for v in range(1, cnf.nv + 1)))
    with Solver(name=solver, bootstrap_with=cnf.clauses) as s:
        if not s.solve():
            return Answer(False, None)
        true_vars = {l for l in (s.get_model() or []) if l > 0}
    return Answer(True, tuple(v if v in true_vars else -v for v in range(1, cnf.nv + 1)))


def satisfies(formula, assignment) -> bool:
    """Does ``assignment`` (signed literals or ``{var: bool}``) satisfy every clause?"""
    cnf = as_cnf(formula)
    value = assignment_values(assignment, cnf.nv)
    return all(any(value[abs(l)] == (l > 0) for l in clause) for clause in cnf.clauses)


def assignment_values(assignment, nv: int) -> list[bool]:
    """Normalize an assignment to a list indexed 1..nv (index 0 unused); every var must be set."""
    value: list[bool | None] = [None] * (nv + 1)
    items = assignment.items() if isinstance(assignment, dict) else ((abs(int(l)), int(l) > 0) for l in assignment)
    for var, val in items:
        var = int(var)
        if not 1 <= var <= nv:
            raise InvalidInstance(f"assignment: variable {var} out of range 1..{nv}")
        if value[var] is not None and value[var] != bool(val):
            raise InvalidInstance(f"assignment: variable {var} set both true and false")
        value[var] = bool(val)
    missing = [v for v in range(1, nv + 1) if value[v] is None]
    if missing:
        raise InvalidInstance(f"assignment: variables {missing[:5]} are not set")
    return value


def solve_sat_bruteforce(formula, chunk: int = 1 << 16) -> Answer:
    """Try all ``2^N`` assignments, vectorized; the witness is the first satisfying
    assignment in the order where variable ``v`` is bit ``v−1`` of the index."""
    cnf = as_cnf(formula)
    n = cnf.nv
    if n > BRUTEFORCE_MAX_VARS:
        raise InvalidInstance(f"formula: brute force is limited to {BRUTEFORCE_MAX_VARS} variables, got {n}")
    total = 1 << n
    for start in range(0, total, chunk):
        idx = np.arange(start, min(start + chunk, total), dtype=np.int64)
        bits = ((idx[:, None] >> np.arange(n, dtype=np.int64)) & 1).astype(bool)  # rows: assignments
        ok = np.ones(idx.shape[0], dtype=bool)
        for clause in cnf.clauses:
            sat = np.zeros(idx.shape[0], dtype=bool)
            for lit in clause:
                col = bits[:, abs(lit) - 1]
                sat |= col if lit > 0 else ~col
            ok &= sat
            if not ok.any():
                break
        if ok.any():
            row = bits[int(np.argmax(ok))]
            return Answer(True, tuple(v if row[v - 1] else -v for v in range(1, n + 1)))
    return Answer(False, None)
