"""Random k-CNF formulas, optionally with a planted satisfying assignment (docs/problems.md §4.1)."""

from __future__ import annotations

import numpy as np
from pysat.formula import CNF

from sethlab.errors import InvalidInstance
from sethlab.generators._common import check_int, make_cnf, plan_cnf, rng_for

__all__ = ["random_kcnf"]


def _distinct_vars(rng: np.random.Generator, m: int, n: int, k: int) -> np.ndarray:
    """``m × k`` variables in ``1..n``, distinct within each row, uniform over k-subsets (ordered)."""
    if 2 * k > n:
        return np.argsort(rng.random((m, n)), axis=1)[:, :k] + 1
    v = rng.integers(1, n + 1, size=(m, k))
    while True:
        s = np.sort(v, axis=1)
        bad = (s[:, 1:] == s[:, :-1]).any(axis=1)
        if not bad.any():
            return v
        v[bad] = rng.integers(1, n + 1, size=(int(bad.sum()), k))


def _clauses(rng, m, n, k):
    v = _distinct_vars(rng, m, n, k)
    signs = rng.integers(0, 2, size=(m, k)).astype(bool)
    return np.where(signs, v, -v)


def random_kcnf(n_vars: int, n_clauses: int, k: int = 3, *, seed=None, planted: bool = False) -> CNF:
    """``n_clauses`` clauses of ``k`` distinct variables with random signs.

    With ``planted``, a hidden assignment is drawn first and clauses it falsifies
    are redrawn, so the formula is satisfiable (uniform over clauses it satisfies).
    """
    n = check_int(n_vars, "n_vars", 1)
    m = check_int(n_clauses, "n_clauses", 0)
    k = check_int(k, "k", 1)
    if k > n:
        raise InvalidInstance(f"k: clause width {k} exceeds n_vars = {n}")
    plan_cnf(m, m * k, f"a random {k}-CNF over {n} variables")
    rng = rng_for(seed)
    if not planted:
        return make_cnf(_clauses(rng, m, n, k).tolist(), n)
    hidden = np.concatenate([[False], rng.integers(0, 2, size=n).astype(bool)])
    kept = np.zeros((0, k), dtype=np.int64)
    while kept.shape[0] < m:
        batch = _clauses(rng, m, n, k)
        ok = (hidden[np.abs(batch)] == (batch > 0)).any(axis=1)
        kept = np.concatenate([kept, batch[ok]])
    return make_cnf(kept[:m].tolist(), n)
