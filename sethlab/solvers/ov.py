"""Exact Orthogonal Vectors (docs/problems.md §4.2): blocked matrix products, never nA × nB at once."""

from __future__ import annotations

import numpy as np

from sethlab.errors import InvalidInstance
from sethlab.instances import OVInstance
from sethlab.solvers._blocks import (
    block_shape,
    blocked_argmin,
    blocked_pairs_at_most,
    choose_method,
    inner_product_kernel,
)
from sethlab.solvers.answer import Answer

__all__ = ["solve_ov", "orthogonal_pairs", "as_ov"]


def as_ov(A, B=None) -> OVInstance:
    """An ``OVInstance`` from an instance, or from the two sides."""
    if B is None:
        if isinstance(A, OVInstance):
            return A
        raise InvalidInstance(f"A: expected an OVInstance or two matrices, got {type(A).__name__} alone")
    return OVInstance(A, B)


def _setup(inst: OVInstance, block, method):
    method = choose_method(method, inst.d)
    kernel, words = inner_product_kernel(inst.A, inst.B, method)
    bi, bj = block_shape(block, words)
    return kernel, bi, bj


def solve_ov(A, B=None, *, block=None, method: str = "auto") -> Answer:
    """Is some ``<A[i], B[j]> = 0``? Witness: the first such ``(i, j)`` in row-major order.

    ``method``: ``"gemm"`` (float32 products, exact for d < 2^23), ``"packed"``
    (uint64 words, AND + popcount), or ``"auto"`` (gemm while exact).
    ``block``: an int or ``(bi, bj)``; memory beyond the inputs is one block.
    """
    inst = as_ov(A, B)
    kernel, bi, bj = _setup(inst, block, method)
    value, i, j = blocked_argmin(inst.nA, inst.nB, kernel, bi, bj, stop_at=0)
    if value == 0:
        return Answer(True, (i, j))
    return Answer(False, None)


def orthogonal_pairs(A, B=None, *, limit: int | None = None, block=None, method: str = "auto") -> np.ndarray:
    """Every orthogonal ``(i, j)``, sorted row-major, as an int64 array of shape (k, 2);
    more than ``limit`` of them raises ``InvalidInstance``."""
    inst = as_ov(A, B)
    kernel, bi, bj = _setup(inst, block, method)
    return blocked_pairs_at_most(inst.nA, inst.nB, kernel, bi, bj, 0, limit)
