"""Exact k-Orthogonal Vectors (docs/problems.md §4.3): the products of the first k − 1 lists in blocks,
each block against the last list by a float32 matrix product (exact for d < 2^23), never all at once."""

from __future__ import annotations

import math

import numpy as np

from sethlab.errors import InvalidInstance
from sethlab.instances import KOVInstance
from sethlab.memory import require
from sethlab.solvers._blocks import FLOAT32_EXACT_DIM
from sethlab.solvers.answer import Answer

__all__ = ["solve_kov"]

BLOCK = 4096  # tuples of the first k − 1 lists per block


def solve_kov(inst: KOVInstance, *, block: int = BLOCK, memory_budget=None) -> Answer:
    """Is there one vector per list whose coordinatewise product is all zero? Witness: the first such
    tuple of indices (i_1, …, i_k) in lexicographic order; None for NO."""
    if not isinstance(inst, KOVInstance):
        raise InvalidInstance(f"inst: expected a KOVInstance, got {type(inst).__name__}")
    if isinstance(block, bool) or not isinstance(block, int) or block < 1:
        raise InvalidInstance(f"block: must be a positive integer, got {block!r}")
    if inst.d >= FLOAT32_EXACT_DIM:
        raise InvalidInstance(f"inst: dimension {inst.d} is beyond the exact float32 products (< 2^23)")
    lists = inst.lists
    heads, last = lists[:-1], lists[-1].astype(np.float32)
    shape = tuple(L.shape[0] for L in heads)
    total = math.prod(shape)
    b = min(block, total)
    require(4 * last.size + b * inst.d * 5 + 4 * b * last.shape[0],
            f"solving a {inst.k}-OV instance with lists of {inst.sizes.tolist()} vectors of dimension {inst.d}",
            memory_budget)
    for lo in range(0, total, b):
        idx = np.unravel_index(np.arange(lo, min(total, lo + b)), shape)
        prod = heads[0][idx[0]].astype(bool)
        for L, ix in zip(heads[1:], idx[1:]):
            prod &= L[ix].astype(bool)
        inner = prod.astype(np.float32) @ last.T
        hits = np.flatnonzero(inner.ravel() == 0)
        if hits.size:
            r, j = divmod(int(hits[0]), last.shape[0])
            return Answer(True, tuple(int(ix[r]) for ix in idx) + (j,))
    return Answer(False, None)
