"""Random OV instances: one planted orthogonal pair, or a certified absence of any (docs/problems.md §4.2).

Accidental orthogonal pairs are broken by setting one shared coordinate to 1 on
non-planted vectors only. Setting bits never creates orthogonality, so one pass
over the list suffices; the result is then re-checked with the exact solver.
"""

from __future__ import annotations

import numpy as np

from sethlab.errors import InvalidInstance
from sethlab.generators._common import check_int, check_prob, plan_arrays, rng_for
from sethlab.instances import OVInstance
from sethlab.solvers.ov import orthogonal_pairs, solve_ov

__all__ = ["planted_ov", "no_pair_ov"]

PAIR_LIMIT = 1_000_000  # more accidental pairs than this: the density is too low to be useful


def _sizes(n, d, n_b, min_d):
    nA = check_int(n, "n", 1)
    nB = nA if n_b is None else check_int(n_b, "n_b", 1)
    d = check_int(d, "d", min_d)
    # the float64 draws, the 0/1 sides, the solver's float32 copies, and the instance's own copy
    plan_arrays((8 + 1 + 4 + 1) * (nA + nB) * d, f"an OV instance of {nA} + {nB} vectors of dimension {d}")
    return nA, nB, d


def _random_sides(rng, nA, nB, d, p):
    A = (rng.random((nA, d)) < p).astype(np.uint8)
    B = (rng.random((nB, d)) < p).astype(np.uint8)
    return A, B


def _break_pairs(A, B, rng, planted=None):
    """Give every orthogonal pair except ``planted`` a shared 1, touching only non-planted rows."""
    try:
        pairs = orthogonal_pairs(A, B, limit=PAIR_LIMIT)
    except InvalidInstance:
        raise InvalidInstance(
            f"density: more than {PAIR_LIMIT} random pairs are orthogonal; raise density or d") from None
    pi, pj = planted if planted is not None else (-1, -1)
    support_a = np.flatnonzero(A[pi]) if planted is not None else None
    support_b = np.flatnonzero(B[pj]) if planted is not None else None
    for i, j in pairs.tolist():
        if (i, j) == (pi, pj):
            continue
        if i == pi:    # A[pi] is planted: put a 1 of B[j] on A[pi]'s support
            B[j, rng.choice(support_a)] = 1
        elif j == pj:  # B[pj] is planted: put a 1 of A[i] on B[pj]'s support
            A[i, rng.choice(support_b)] = 1
        else:
            c = rng.integers(0, A.shape[1])
            A[i, c] = B[j, c] = 1


def planted_ov(n: int, d: int, *, seed=None, density: float = 0.5, n_b: int | None = None
               ) -> tuple[OVInstance, tuple[int, int]]:
    """Random ``n × d`` and ``n_b × d`` sides (entries 1 with probability ``density``) with
    exactly one orthogonal pair, at a uniformly random position; returns it too.
    Needs ``d >= 2`` (both planted vectors nonzero with disjoint supports)."""
    nA, nB, d = _sizes(n, d, n_b, 2)
    p = check_prob(density, "density")
    rng = rng_for(seed)
    A, B = _random_sides(rng, nA, nB, d, p)
    i, j = int(rng.integers(0, nA)), int(rng.integers(0, nB))
    a = rng.random(d) < p
    b = (rng.random(d) < p) & ~a
    c1, c2 = rng.choice(d, size=2, replace=False)
    a[c1], b[c1], a[c2], b[c2] = True, False, False, True
    A[i], B[j] = a, b
    _break_pairs(A, B, rng, planted=(i, j))
    inst = OVInstance(A, B)
    found = orthogonal_pairs(inst, limit=2)
    if found.tolist() != [[i, j]]:  # the construction guarantees this; never return an unchecked instance
        raise RuntimeError(f"planted_ov: expected exactly the pair {(i, j)}, found {found.tolist()}")
    return inst, (i, j)


def no_pair_ov(n: int, d: int, *, seed=None, density: float = 0.5, n_b: int | None = None) -> OVInstance:
    """Random sides with no orthogonal pair, certified by ``solve_ov`` before returning."""
    nA, nB, d = _sizes(n, d, n_b, 1)
    p = check_prob(density, "density")
    rng = rng_for(seed)
    A, B = _random_sides(rng, nA, nB, d, p)
    _break_pairs(A, B, rng)
    inst = OVInstance(A, B)
    answer = solve_ov(inst)
    if answer.yes:
        raise RuntimeError(f"no_pair_ov: orthogonal pair {answer.witness} survived")
    return inst
