"""Exact Hamming closest pair and the Gap-Hamming decision (docs/problems.md §4.4).

Distances come from ``dist(a, b) = |a| + |b| − 2<a, b>`` on blocked float32
matrix products (exact for d < 2^23), or from XOR + popcount on packed words.
"""

from __future__ import annotations

import numpy as np

from sethlab.errors import InvalidInstance
from sethlab.instances import HammingInstance, OVInstance
from sethlab.solvers._blocks import block_shape, blocked_argmin, blocked_pairs_at_most, choose_method, hamming_kernel
from sethlab.solvers.answer import Answer

__all__ = ["closest_pair", "close_pairs", "promise_violation", "solve_hamming"]


def _sides(A, B):
    if B is None:
        if isinstance(A, (HammingInstance, OVInstance)):
            return A.A, A.B
        raise InvalidInstance(f"A: expected a HammingInstance or two matrices, got {type(A).__name__} alone")
    inst = OVInstance(A, B)  # the same 0/1 validation as every instance
    return inst.A, inst.B


def _setup(A, B, block, method):
    method = choose_method(method, A.shape[1])
    kernel, words = hamming_kernel(A, B, method)
    bi, bj = block_shape(block, words)
    return kernel, bi, bj


def closest_pair(A, B=None, *, block=None, method: str = "auto") -> tuple[int, int, int]:
    """``(i, j, distance)`` of a closest pair; ties go to the first in row-major order."""
    A, B = _sides(A, B)
    kernel, bi, bj = _setup(A, B, block, method)
    value, i, j = blocked_argmin(A.shape[0], B.shape[0], kernel, bi, bj, stop_at=0)
    return i, j, int(round(value))


def close_pairs(A, B=None, radius: int = 0, *, limit: int | None = None, block=None,
                method: str = "auto") -> np.ndarray:
    """Every ``(i, j)`` with distance ``<= radius``, sorted row-major, int64 array (k, 2);
    more than ``limit`` of them raises ``InvalidInstance``."""
    A, B = _sides(A, B)
    kernel, bi, bj = _setup(A, B, block, method)
    return blocked_pairs_at_most(A.shape[0], B.shape[0], kernel, bi, bj, radius, limit)


def _violation(inst: HammingInstance, i: int, j: int, dist: int) -> str | None:
    if inst.t <= dist < inst.far:
        return (f"closest pair ({i}, {j}) at distance {dist}, neither < t = {inst.t} nor >= (1+gap)t "
                f"rounded up = {inst.far}: the answer is undefined")
    return None


def promise_violation(inst: HammingInstance, *, block=None, method: str = "auto") -> str | None:
    """Why `inst` breaks the Gap-Hamming promise (its closest pair is in [t, far)), or None if it keeps it."""
    if not isinstance(inst, HammingInstance):
        raise InvalidInstance(f"inst: expected a HammingInstance, got {type(inst).__name__}")
    return _violation(inst, *closest_pair(inst, block=block, method=method))


def solve_hamming(inst: HammingInstance, *, strict: bool = False, block=None, method: str = "auto") -> Answer:
    """Gap-Hamming (docs/problems.md §4.4): YES iff some pair has distance ``< t``; witness: the
    closest pair. NO otherwise. With ``strict``, an instance whose minimum lies in
    ``[t, far)`` (the promise gap) raises ``InvalidInstance`` instead of answering NO.
    """
    if not isinstance(inst, HammingInstance):
        raise InvalidInstance(f"inst: expected a HammingInstance, got {type(inst).__name__}")
    i, j, dist = closest_pair(inst, block=block, method=method)
    if dist < inst.t:
        return Answer(True, (i, j))
    broken = _violation(inst, i, j, dist)
    if strict and broken:
        raise InvalidInstance(f"inst: promise violated: {broken}")
    return Answer(False, None)
