"""Random k-OV instances with one planted orthogonal k-tuple (docs/problems.md §4.3)."""

from __future__ import annotations

import numpy as np

from sethlab.generators._common import check_int, check_prob, plan_arrays, rng_for
from sethlab.instances import KOVInstance

__all__ = ["planted_kov"]


def planted_kov(k: int, n: int, d: int, *, seed=None, density: float = 0.5) -> tuple[KOVInstance, tuple[int, ...]]:
    """k lists of n random vectors in {0,1}^d (a 1 with probability `density`) and one planted tuple
    (i_1, …, i_k), drawn uniformly, whose coordinatewise product is zero: wherever all k planted
    vectors have a 1, one of them, drawn at random, gets a 0. Returns the instance and the tuple
    (other tuples may be orthogonal too; the answer is YES either way)."""
    k = check_int(k, "k", 2)
    n = check_int(n, "n", 1)
    d = check_int(d, "d", 1)
    p = check_prob(density, "density")
    plan_arrays((8 + 1 + 1) * k * n * d, f"a {k}-OV instance of {k} lists of {n} vectors of dimension {d}")
    rng = rng_for(seed)
    lists = [(rng.random((n, d)) < p).astype(np.uint8) for _ in range(k)]
    planted = tuple(int(rng.integers(0, n)) for _ in range(k))
    rows = np.stack([L[i] for L, i in zip(lists, planted)])
    for c in np.flatnonzero(rows.all(axis=0)):
        who = int(rng.integers(0, k))
        lists[who][planted[who], c] = 0
    return KOVInstance.from_lists(*lists), planted
