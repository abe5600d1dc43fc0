"""Exact attention and loss gradient in one streaming pass over query-row blocks (docs/problems.md §2.1-2.2).

Per block I: P = exp(s_I − rowmax) unnormalized; one product P·[h, 1] gives S h
and the row sums l together; then p_I = P ∘ ((c/l) hᵀ − r/l), again one product
against [h, 1]ᵀ. Four matrix products and one exponential per score; memory
two b×nk buffers. The two products over the nk keys are summed in chunks of
`blocks.EXACT_SUM_CHUNK` keys, which is what makes their worst-case rounding small
(docs/rounding.md, "Sums"); every result carries that worst-case bound.
"""

from __future__ import annotations

import numpy as np

from sethlab.attention.blocks import EXACT_SUM_CHUNK, block_rows, matmul_sum, row_blocks
from sethlab.attention.instances import AttentionInstance, GradientInstance
from sethlab.attention.rounding import check_range, exact_forward_bound, exact_gradient_bound, scales
from sethlab.errors import MemoryBudgetExceeded
from sethlab.memory import format_bytes, memory_budget


def memory_bytes(inst, itemsize: int, b: int) -> tuple[int, int]:
    """(fixed bytes, bytes per row of a block) the exact engine allocates for `inst` (docs/problems.md §2.2).

    Per row of a block: the nk-wide weight buffer (and the gradient's second one). Fixed: the
    working-precision copies of the inputs, the float64 temporaries made while casting them, the
    output, the instance's own A1X and h, and the small per-block sums.
    """
    nq, nk, d, dv = inst.nq, inst.nk, inst.d, inst.dv
    if isinstance(inst, AttentionInstance):
        per_row = itemsize * nk
        fixed = itemsize * (nq * d + nk * d + nk * (dv + 1) + nq * dv) + 8 * (nq * d + nk * (dv + 1))
        per_row += itemsize * 2 * (dv + 1)
    else:
        per_row = itemsize * (2 * nk + 4 * (dv + 1) + 2 * d)
        fixed = (itemsize * (2 * nq * d + 2 * nk * d + 2 * nk * (dv + 1) + nq * dv + d * d)
                 + 8 * (nq * d + nk * (dv + 1) + nq * d + nk * dv + nk * d))
    return int(fixed), int(per_row)


def plan_rows(inst, ops, block_size: int | None = None, budget=None) -> int:
    """Rows per block within the memory budget: the default shrinks to fit, a given block_size is refused."""
    b = block_rows(inst.nq, inst.nk, block_size, ops.block_elements)
    itemsize = 8 if ops.dtype_name == "float64" else 4
    fixed, per_row = memory_bytes(inst, itemsize, b)
    limit = memory_budget(budget, ops)
    if fixed + per_row * b <= limit:
        return b
    fit = (limit - fixed) // per_row
    if block_size is None and fit >= 1:
        return int(fit)
    kind = "attention" if isinstance(inst, AttentionInstance) else "loss gradient"
    raise MemoryBudgetExceeded(
        f"memory_budget: the exact {kind} with blocks of {b if block_size is not None else max(fit, 1)} rows "
        f"over {inst.nk} keys (nq = {inst.nq}, d = {inst.d}, dv = {inst.dv}) needs "
        f"{format_bytes(fixed + per_row * (b if block_size is not None else 1))} but the budget is "
        f"{format_bytes(limit)}; use a smaller block_size, or raise memory_budget= or $SETHLAB_MEMORY_BUDGET"
    )


def _with_ones(ops, M: np.ndarray):
    """[M, 1]: the extra column turns a row sum into part of a matrix product."""
    return ops.asarray(np.hstack([M, np.ones((M.shape[0], 1))]))


def weight_blocks(q, k, ops, b: int):
    """Yield (lo, hi, P) with P = exp(s_I − rowmax) for s = q kᵀ/d, the unnormalized softmax of one block of b rows.

    P lives in one b×nk buffer reused by the next block (memory O(b·nk), docs/problems.md §2.2).
    """
    nq, nk = q.shape[0], k.shape[0]
    Qs = ops.asarray(q / q.shape[1])
    Kt = ops.asarray(k.T)
    buf = ops.empty((b, nk))
    for lo, hi in row_blocks(nq, b):
        P = ops.matmul(Qs[lo:hi], Kt, out=buf[: hi - lo])
        yield lo, hi, ops.shifted_exp_(P)


def attention_exact(inst: AttentionInstance, ops, block_size: int | None = None, memory_budget=None):
    """(Att(Q, K, V) as a backend nq×dv array, info with its worst-case rounding bound)."""
    check_range(scales(inst), ops.dtype_name)
    b = plan_rows(inst, ops, block_size, memory_budget)
    dv = inst.dv
    V1 = _with_ones(ops, inst.V)
    out = ops.empty((inst.nq, dv))
    NV, tmp = ops.empty((b, dv + 1)), ops.empty((b, dv + 1))
    for lo, hi, P in weight_blocks(inst.Q, inst.K, ops, b):
        nv = matmul_sum(ops, P, V1, NV[: hi - lo], tmp[: hi - lo], EXACT_SUM_CHUNK)
        out[lo:hi] = nv[:, :dv] / nv[:, dv:]
    return out, {"error_bound": exact_forward_bound(inst, ops.dtype_name)}


def gradient_blocks(inst: GradientInstance, ops, b: int):
    """Yield (lo, hi, p_I, c_I) for consecutive blocks of b query rows (docs/problems.md §2.2).

    p_I is the b×nk block of p = S∘q − diag(r)S and c_I the residual block; both
    live in buffers reused by the next block, so a consumer that keeps them copies them.
    """
    nk, dv = inst.nk, inst.dv
    h1 = _with_ones(ops, inst.h)
    h1t = h1.T.contiguous() if ops.name == "torch" else np.ascontiguousarray(h1.T)
    E = ops.asarray(inst.E)
    buf_z = ops.empty((b, nk))
    NH, tmp = ops.empty((b, dv + 1)), ops.empty((b, dv + 1))
    for lo, hi, P in weight_blocks(inst.A1X, inst.A2, ops, b):
        nh = matmul_sum(ops, P, h1, NH[: hi - lo], tmp[: hi - lo], EXACT_SUM_CHUNK)
        inv_l = 1.0 / nh[:, dv:]
        Sh = nh[:, :dv] * inv_l
        c = Sh - E[lo:hi]
        r = (c * Sh).sum(1, keepdims=True)
        Cr = ops.hstack([c * inv_l, -r * inv_l])
        Z = ops.matmul(Cr, h1t, out=buf_z[: hi - lo])
        yield lo, hi, ops.mul_(Z, P), c


def loss_gradient_exact(inst: GradientInstance, ops, block_size: int | None = None, memory_budget=None):
    """(∂L/∂X as a backend d×d array, L(X), info with the worst-case rounding bounds of both)."""
    check_range(scales(inst), ops.dtype_name)
    b = plan_rows(inst, ops, block_size, memory_budget)
    A1 = ops.asarray(inst.A1)
    A2 = ops.asarray(inst.A2)
    d = inst.d
    G = ops.zeros((d, d))
    PA, tmp = ops.empty((b, d)), ops.empty((b, d))
    loss = 0.0
    for lo, hi, p, c in gradient_blocks(inst, ops, b):
        G += ops.matmul(A1[lo:hi].T, matmul_sum(ops, p, A2, PA[: hi - lo], tmp[: hi - lo], EXACT_SUM_CHUNK))
        loss += 0.5 * ops.sum_all(c * c)
    bound, loss_bound = exact_gradient_bound(inst, ops.dtype_name, rows_block=b)
    return G / d, loss, {"error_bound": bound, "loss_error_bound": loss_bound}
