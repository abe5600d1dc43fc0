"""Exact attention restricted to each query's k highest-scoring keys (docs/approx.md, "top-k").

Not a fast method: the scores are computed exactly, row block by row block, and only the softmax
is restricted. It is the ceiling any sparse method (one that keeps k keys per query) can reach.
"""

from __future__ import annotations

import numpy as np

from sethlab.approx._common import as_instance, budget, checked, plan, positive_int, row_blocks, softmax_rows


def _check(k=32, memory_budget=None):
    return {"k": positive_int(k, "k"), "memory_budget": budget(memory_budget)}


@checked(_check)
def topk(Q, K=None, V=None, *, k: int = 32, memory_budget=None) -> np.ndarray:
    """softmax over each query's top-k scores (ties at the k-th score broken arbitrarily), times V, float64."""
    inst = as_instance(Q, K, V)
    kk = min(k, inst.nk)
    blocks = row_blocks(inst.nq, max(inst.nk, kk * inst.dv))
    b = blocks[0][1] - blocks[0][0]
    plan(8 * b * (3 * inst.nk + kk * inst.dv), f"top-k score blocks (nk = {inst.nk}, k = {kk})", memory_budget)
    out = np.empty((inst.nq, inst.dv))
    for lo, hi in blocks:
        s = inst.Q[lo:hi] @ inst.K.T / inst.d
        if kk == inst.nk:
            out[lo:hi] = softmax_rows(s) @ inst.V
            continue
        idx = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
        w = softmax_rows(np.take_along_axis(s, idx, axis=1))
        out[lo:hi] = np.einsum("ij,ijv->iv", w, inst.V[idx])
    return out
