"""Pigeonhole formulas PHP(pigeons, holes): unsatisfiable when pigeons > holes."""

from __future__ import annotations

from pysat.formula import CNF

from sethlab.generators._common import check_int, make_cnf, plan_cnf, rng_for, shuffle_cnf

__all__ = ["pigeonhole"]


def pigeonhole(n_holes: int, n_pigeons: int | None = None, *, seed=None) -> CNF:
    """Every pigeon sits in a hole, no hole holds two (variable ``p*holes + h + 1``).

    ``n_pigeons`` defaults to ``n_holes + 1`` (UNSAT). ``seed=None`` gives the
    canonical formula; a seed renames variables and shuffles clauses and literals.
    """
    holes = check_int(n_holes, "n_holes", 1)
    pigeons = holes + 1 if n_pigeons is None else check_int(n_pigeons, "n_pigeons", 1)
    pairs = holes * pigeons * (pigeons - 1) // 2
    plan_cnf(pigeons + pairs, pigeons * holes + 2 * pairs, f"the pigeonhole formula PHP({pigeons}, {holes})")
    var = lambda p, h: p * holes + h + 1  # noqa: E731
    clauses = [[var(p, h) for h in range(holes)] for p in range(pigeons)]
    clauses += [[-var(p, h), -var(q, h)] for h in range(holes)
                for p in range(pigeons) for q in range(p + 1, pigeons)]
    cnf = make_cnf(clauses, pigeons * holes)
    return cnf if seed is None else shuffle_cnf(cnf, rng_for(seed))
