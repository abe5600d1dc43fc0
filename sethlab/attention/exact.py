"""Exact attention and loss gradient in one streaming pass over query-row blocks (MATH.md 2.1-2.2).

Per block I: P = exp(s_I − rowmax) unnormalized; one product P·[h, 1] gives S h
and the row sums l together; then p_I = P ∘ ((c/l) hᵀ − r/l), again one product
against [h, 1]ᵀ. Four matrix products and one exponential per score; memory
two b×nk buffers.
"""

from __future__ import annotations

import numpy as np

from sethlab.attention.blocks import block_rows, row_blocks
from sethlab.attention.instances import AttentionInstance, GradientInstance


def _with_ones(ops, M: np.ndarray):
    """[M, 1]: the extra column turns a row sum into part of a matrix product."""
    return ops.asarray(np.hstack([M, np.ones((M.shape[0], 1))]))


def weight_blocks(q, k, ops, block_size: int | None = None):
    """Yield (lo, hi, P) with P = exp(s_I − rowmax) for s = q kᵀ/d, the unnormalized softmax of one row block.

    P lives in one b×nk buffer reused by the next block (memory O(b·nk), MATH.md 2.2).
    """
    nq, nk = q.shape[0], k.shape[0]
    b = block_rows(nq, nk, block_size, ops.block_elements)
    Qs = ops.asarray(q / q.shape[1])
    Kt = ops.asarray(k.T)
    buf = ops.empty((b, nk))
    for lo, hi in row_blocks(nq, b):
        P = ops.matmul(Qs[lo:hi], Kt, out=buf[: hi - lo])
        yield lo, hi, ops.shifted_exp_(P)


def attention_exact(inst: AttentionInstance, ops, block_size: int | None = None):
    """Att(Q, K, V) as a backend array (nq×dv)."""
    dv = inst.dv
    V1 = _with_ones(ops, inst.V)
    out = ops.empty((inst.nq, dv))
    for lo, hi, P in weight_blocks(inst.Q, inst.K, ops, block_size):
        NV = ops.matmul(P, V1)
        out[lo:hi] = NV[:, :dv] / NV[:, dv:]
    return out


def gradient_blocks(inst: GradientInstance, ops, block_size: int | None = None):
    """Yield (lo, hi, p_I, c_I) for consecutive query-row blocks (MATH.md 2.2).

    p_I is the b×nk block of p = S∘q − diag(r)S and c_I the residual block; both
    live in buffers reused by the next block, so a consumer that keeps them copies them.
    """
    nk, dv = inst.nk, inst.dv
    h1 = _with_ones(ops, inst.h)
    h1t = h1.T.contiguous() if ops.name == "torch" else np.ascontiguousarray(h1.T)
    E = ops.asarray(inst.E)
    buf_z = ops.empty((block_rows(inst.nq, nk, block_size, ops.block_elements), nk))
    for lo, hi, P in weight_blocks(inst.A1X, inst.A2, ops, block_size):
        NH = ops.matmul(P, h1)
        inv_l = 1.0 / NH[:, dv:]
        Sh = NH[:, :dv] * inv_l
        c = Sh - E[lo:hi]
        r = (c * Sh).sum(1, keepdims=True)
        Cr = ops.hstack([c * inv_l, -r * inv_l])
        Z = ops.matmul(Cr, h1t, out=buf_z[: hi - lo])
        yield lo, hi, ops.mul_(Z, P), c


def loss_gradient_exact(inst: GradientInstance, ops, block_size: int | None = None):
    """(∂L/∂X as a backend d×d array, L(X)) by streaming `gradient_blocks`."""
    A1 = ops.asarray(inst.A1)
    A2 = ops.asarray(inst.A2)
    G = ops.zeros((inst.d, inst.d))
    loss = 0.0
    for lo, hi, p, c in gradient_blocks(inst, ops, block_size):
        G += ops.matmul(A1[lo:hi].T, ops.matmul(p, A2))
        loss += 0.5 * ops.sum_all(c * c)
    return G / inst.d, loss
