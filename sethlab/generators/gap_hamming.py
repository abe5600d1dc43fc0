"""Planted Gap-Hamming instances (docs/reductions.md §5.2): one pair at distance ``< t``, every other
pair at distance ``>= far = ceil((1+gap)·t)``, verified with the exact solver."""

from __future__ import annotations

import numpy as np

from sethlab.errors import InvalidInstance
from sethlab.generators._common import check_int, plan_arrays, rng_for
from sethlab.instances import HammingInstance, far_radius
from sethlab.solvers.hamming import close_pairs

__all__ = ["planted_gap_hamming", "no_pair_gap_hamming"]

MAX_ROUNDS = 200


def _sizes(n, d, t, gap, n_b):
    """(nA, nB, d, t, far), checked and planned before anything is drawn."""
    nA = check_int(n, "n", 1)
    nB = nA if n_b is None else check_int(n_b, "n_b", 1)
    d = check_int(d, "d", 1)
    plan_arrays((1 + 4 + 1) * (nA + nB) * d, f"a Gap-Hamming instance of {nA} + {nB} vectors of dimension {d}")
    probe = HammingInstance(np.zeros((1, d)), np.zeros((1, d)), t, gap)  # validates t and gap
    t, far = probe.t, probe.far
    if far > d:
        raise InvalidInstance(f"gap: far radius ceil((1+gap)·t) = {far} exceeds the dimension d = {d}")
    return nA, nB, d, t, far


def planted_gap_hamming(n: int, d: int, t: int, gap: float, *, seed=None, n_b: int | None = None,
                        near_distance: int | None = None) -> tuple[HammingInstance, tuple[int, int]]:
    """Uniform random ``n × d`` / ``n_b × d`` sides; the planted pair at a random position
    is at ``near_distance`` (default ``t − 1``). Vectors closer than ``far`` to a
    partner are redrawn until no such pair is left (random pairs sit near ``d/2``,
    so ``far`` must be well below that). Returns the instance and the planted pair."""
    nA, nB, d, t, far = _sizes(n, d, t, gap, n_b)
    r = t - 1 if near_distance is None else check_int(near_distance, "near_distance", 0, t - 1)
    rng = rng_for(seed)
    A = rng.integers(0, 2, size=(nA, d), dtype=np.uint8)
    B = rng.integers(0, 2, size=(nB, d), dtype=np.uint8)
    pi, pj = int(rng.integers(0, nA)), int(rng.integers(0, nB))
    B[pj] = A[pi]
    B[pj, rng.choice(d, size=r, replace=False)] ^= 1
    _push_far(A, B, rng, far, (pi, pj))
    inst = HammingInstance(A, B, t, gap)
    found = close_pairs(inst, radius=far - 1, limit=2)
    if found.tolist() != [[pi, pj]] or far_radius(t, gap) != far:
        raise RuntimeError(f"planted_gap_hamming: expected only {(pi, pj)} below {far}, found {found.tolist()}")
    return inst, (pi, pj)


def _push_far(A, B, rng, far: int, keep=None) -> None:
    """Redraw vectors (never the pair `keep`) until every other pair is at distance >= far, in place."""
    nA, nB, d = A.shape[0], B.shape[0], A.shape[1]
    pi, pj = keep if keep is not None else (-1, -1)
    for _ in range(MAX_ROUNDS):
        try:
            close = close_pairs(A, B, far - 1, limit=10 * (nA + nB))
        except InvalidInstance:
            raise InvalidInstance(
                f"gap: more than {10 * (nA + nB)} random pairs are closer than far = {far} "
                f"(random pairs sit near d/2 = {d / 2}); lower t or gap, or raise d") from None
        pairs = [(i, j) for i, j in close.tolist() if (i, j) != (pi, pj)]
        if not pairs:
            break
        redraw_a = sorted({i for i, j in pairs if i != pi})
        redraw_b = sorted({j for i, j in pairs if i == pi})
        A[redraw_a] = rng.integers(0, 2, size=(len(redraw_a), d), dtype=np.uint8)
        B[redraw_b] = rng.integers(0, 2, size=(len(redraw_b), d), dtype=np.uint8)
    else:
        raise InvalidInstance(
            f"gap: could not push every non-planted pair to distance >= {far} in {MAX_ROUNDS} rounds "
            f"(random pairs sit near d/2 = {d / 2}); lower t or gap, or raise d")


def no_pair_gap_hamming(n: int, d: int, t: int, gap: float, *, seed=None, n_b: int | None = None) -> HammingInstance:
    """Uniform random sides with every pair at distance ``>= far = ceil((1+gap)·t)``: a NO instance of
    Gap-Hamming (no pair closer than t), verified with the exact solver."""
    nA, nB, d, t, far = _sizes(n, d, t, gap, n_b)
    rng = rng_for(seed)
    A = rng.integers(0, 2, size=(nA, d), dtype=np.uint8)
    B = rng.integers(0, 2, size=(nB, d), dtype=np.uint8)
    _push_far(A, B, rng, far)
    inst = HammingInstance(A, B, t, gap)
    if close_pairs(inst, radius=far - 1, limit=2).size:
        raise RuntimeError("no_pair_gap_hamming: a pair closer than far survived")
    return inst
