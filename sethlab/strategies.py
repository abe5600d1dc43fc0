"""Hypothesis strategies for every source problem (docs/design.md, "Verifier"); `sethlab.testing` re-exports them.

Strategies are small and composable (hypothesis style) and shrink toward
small instances, so a failing check reports a minimal counterexample. Each
problem record names its default strategy (sethlab.reductions.problems).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st


@st.composite
def clause_lists(draw, min_vars: int = 1, max_vars: int = 8, max_clauses: int = 12, max_width: int = 4,
                 empty_clause: bool = True):
    """(N, clauses): clause lists over N variables with repeated literals, tautologies and, optionally, the empty clause."""
    n = draw(st.integers(min_vars, max_vars))
    lit = st.integers(1, n).flatmap(lambda v: st.sampled_from([v, -v]))
    clause = st.lists(lit, min_size=0 if empty_clause else 1, max_size=max_width)
    return n, draw(st.lists(clause, min_size=0, max_size=max_clauses))


def cnfs(**kwargs):
    """python-sat CNF formulas (nv = N, unused variables included); options as for `clause_lists`."""
    from pysat.formula import CNF

    def build(pair):
        n, clauses = pair
        cnf = CNF(from_clauses=[list(c) for c in clauses])
        cnf.nv = max(cnf.nv, n)
        return cnf

    return clause_lists(**kwargs).map(build)


def binary_rows(n_min: int, n_max: int, d: int):
    """Lists of 0/1 rows of length d."""
    return st.lists(st.lists(st.integers(0, 1), min_size=d, max_size=d), min_size=n_min, max_size=n_max)


def dense_rows(n_min: int, n_max: int, d: int):
    """Lists of 0/1 rows of length d, two ones for each zero on average (shrinking toward all ones)."""
    bit = st.sampled_from([1, 1, 0])
    return st.lists(st.lists(bit, min_size=d, max_size=d), min_size=n_min, max_size=n_max)


@st.composite
def ov_instances(draw, max_n: int = 12, max_d: int = 8, min_d: int = 1, plant: bool | None = None):
    """OVInstance with sides of 1..max_n vectors in dimension min_d..max_d.

    `plant=True` forces a YES instance; `plant=False` draws dense vectors (mostly
    NO instances); None mixes uniform, planted and dense draws so YES and NO both occur.
    """
    from sethlab.instances import OVInstance

    d = draw(st.integers(min_d, max_d))
    kind = {True: "planted", False: "dense"}.get(plant) or draw(st.sampled_from(["uniform", "planted", "dense"]))
    rows = dense_rows if kind == "dense" else binary_rows
    A = np.array(draw(rows(1, max_n, d)), dtype=np.uint8).reshape(-1, d)
    B = np.array(draw(rows(1, max_n, d)), dtype=np.uint8).reshape(-1, d)
    if kind == "planted":
        i = draw(st.integers(0, A.shape[0] - 1))
        j = draw(st.integers(0, B.shape[0] - 1))
        B[j] &= 1 - A[i]
    return OVInstance(A, B)


@st.composite
def kov_instances(draw, max_k: int = 4, max_n: int = 5, max_d: int = 6, plant: bool | None = None):
    """KOVInstance with 2..max_k lists of 1..max_n vectors in dimension 1..max_d; `plant=True` forces YES
    (a random tuple gets a zero wherever all its vectors have a one), None mixes planted and dense draws."""
    from sethlab.instances import KOVInstance

    k, d = draw(st.integers(2, max_k)), draw(st.integers(1, max_d))
    kind = {True: "planted", False: "dense"}.get(plant) or draw(st.sampled_from(["uniform", "planted", "dense"]))
    rows = dense_rows if kind == "dense" else binary_rows
    lists = [np.array(draw(rows(1, max_n, d)), dtype=np.uint8).reshape(-1, d) for _ in range(k)]
    if kind == "planted":
        picks = [draw(st.integers(0, L.shape[0] - 1)) for L in lists]
        for c in range(d):
            if all(L[i, c] for L, i in zip(lists, picks)):
                who = draw(st.integers(0, k - 1))
                lists[who][picks[who], c] = 0
    return KOVInstance.from_lists(*lists)


@st.composite
def gap_hamming_instances(draw, max_n: int = 24, d_range=(24, 48), t_range=(1, 4), yes: bool | None = None):
    """Planted Gap-Hamming instances (the promise holds by construction, docs/reductions.md §5.2); NO ones drop the planted row."""
    from sethlab.generators.gap_hamming import planted_gap_hamming
    from sethlab.instances import HammingInstance

    n = draw(st.integers(2, max_n))
    d = draw(st.integers(*d_range))
    t = draw(st.integers(*t_range))
    gap = draw(st.sampled_from([0.5, 1.0, 1.5]))
    seed = draw(st.integers(0, 2**16))
    inst, (i, _) = planted_gap_hamming(n, d, t, gap, seed=seed)
    if (yes if yes is not None else draw(st.booleans())):
        return inst
    return HammingInstance(np.delete(inst.A, i, axis=0), inst.B, inst.t, inst.gap)


def _matrix(rows, cols, bound):
    from hypothesis.extra.numpy import arrays

    return arrays(np.float64, (rows, cols), elements=st.floats(-bound, bound, allow_nan=False, width=64))


@st.composite
def attention_instances(draw, max_n: int = 8, max_d: int = 4, max_dv: int = 3, bound: float = 2.0):
    """AttentionInstance with ‖Q‖∞, ‖K‖∞ <= bound (values in [-1, 1]); nq, nk, d, dv drawn independently."""
    from sethlab.attention import AttentionInstance

    nq, nk = draw(st.integers(1, max_n)), draw(st.integers(1, max_n))
    d, dv = draw(st.integers(1, max_d)), draw(st.integers(1, max_dv))
    return AttentionInstance(draw(_matrix(nq, d, bound)), draw(_matrix(nk, d, bound)), draw(_matrix(nk, dv, 1.0)))


@st.composite
def gradient_instances(draw, max_n: int = 8, max_d: int = 4, max_dv: int = 3, bound: float = 2.0):
    """GradientInstance with ‖A1‖∞, ‖A2‖∞ <= bound and X with ‖X‖∞ <= 1/d (so ‖A1 X‖∞ <= bound)."""
    from sethlab.attention import GradientInstance

    nq, nk = draw(st.integers(1, max_n)), draw(st.integers(1, max_n))
    d, dv, m = draw(st.integers(1, max_d)), draw(st.integers(1, max_dv)), draw(st.integers(1, max_dv))
    return GradientInstance(
        draw(_matrix(nq, d, bound)), draw(_matrix(nk, d, bound)), draw(_matrix(nk, m, 1.0)),
        draw(_matrix(nq, dv, 1.0)), draw(_matrix(d, d, 1.0 / d)), draw(_matrix(m, dv, 1.0)),
    )
