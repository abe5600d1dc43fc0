"""Exact attention and loss gradient in one streaming pass over query-row blocks (docs/problems.md §2.1-2.2).

Per block I: P = exp(s_I − rowmax) unnormalized; one product P·[h, 1] gives S h
and the row sums l together; then p_I = P ∘ ((c/l) hᵀ − r/l), again one product
against [h, 1]ᵀ. Four matrix products and one exponential per score; memory
two b×nk buffers. The two products over the nk keys are summed in chunks of
`blocks.EXACT_SUM_CHUNK` keys, which is what makes their worst-case rounding small
(docs/rounding.md, "Sums"); every result carries that worst-case bound.
"""

from __future__ import annotations

import threading

import numpy as np

from sethlab.attention.blocks import EXACT_SUM_CHUNK, MAX_BLOCK_ELEMENTS, block_rows, matmul_sum, row_blocks
from sethlab.attention.instances import AttentionInstance, GradientInstance
from sethlab.attention.rounding import check_range, exact_forward_bound, exact_gradient_bound, scales
from sethlab.errors import InvalidInstance, MemoryBudgetExceeded
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


# numpy: rows per block. About 2^18 scores (2 MiB) per block, between 128 and 256 rows, keeps a block's
# seven passes in cache: measured on 2 cores (per call, blocks on the pool) at nk = 1024, d = 20: 256 rows
# 2.7 ms, 128 rows 3.0 ms; nk = 4096, d = 24: 128 rows 45 ms, 256 rows 54 ms; nk = 16384, d = 64: 128 rows
# 2.27 s, 64 rows 2.48 s; all 1.5-2.5x faster than whole-matrix blocks.
NUMPY_BLOCK_ROWS = (128, 256)
BLOCK_SCORES = 1 << 18
# Below this many scores a call runs its blocks on one thread: the pool's hand-off costs more than it saves
# (measured at nq = nk = 256: 2.4x the floor on one thread, 3.0x on two).
PARALLEL_SCORES = 1 << 18


def plan_rows(inst, ops, block_size: int | None = None, budget=None) -> tuple[int, int]:
    """(rows per block, blocks at once) within the memory budget: the default shrinks to fit, a given
    block_size is refused. Each block running at once holds its own work buffers."""
    nq, nk = inst.nq, inst.nk
    if block_size is None and ops.name == "numpy":
        lo, hi = NUMPY_BLOCK_ROWS
        b = max(1, min(nq, max(lo, min(hi, BLOCK_SCORES // max(nk, 1))), MAX_BLOCK_ELEMENTS // max(nk, 1)))
    else:
        b = block_rows(nq, nk, block_size, ops.block_elements)
    blocks = -(-nq // b)
    workers = min(ops.workers, blocks) if nq * nk >= PARALLEL_SCORES else 1
    itemsize = 8 if ops.dtype_name == "float64" else 4
    fixed, per_row = memory_bytes(inst, itemsize, b)
    limit = memory_budget(budget, ops)
    while workers > 1 and fixed + per_row * b * workers > limit:
        workers -= 1
    if fixed + per_row * b * workers <= limit:
        return b, workers
    fit = (limit - fixed) // per_row
    if block_size is None and fit >= 1:
        return int(fit), 1
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


def _run_blocks(ops, fn, nq: int, nk: int, b: int, workers: int, consume=lambda result: None) -> None:
    """consume(fn(lo, hi)) over the row blocks in block order: on `workers` threads (ops.map_blocks) or one
    after the other, BLAS at one thread either way (ops.py, "Threading rule"), so every block's products
    are the same to the bit whatever ran them."""
    blocks = row_blocks(nq, b)
    if workers > 1:
        ops.map_blocks(fn, blocks, consume, workers)
        return
    with ops.single_thread():
        for lo, hi in blocks:
            consume(fn(lo, hi))


class _Scratch:
    """Work buffers per thread: each block running at once gets its own, reused by its next block."""

    def __init__(self, make):
        self._make, self._local = make, threading.local()

    def get(self):
        bufs = getattr(self._local, "bufs", None)
        if bufs is None:
            bufs = self._local.bufs = self._make()
        return bufs


def _weights(ops, Qs, Kt, lo: int, hi: int, buf, parallel: bool):
    """P = exp(s_I − rowmax) for the rows lo:hi of s = Qs·Kt, in `buf` (the unnormalized softmax of one block)."""
    P = ops.matmul(Qs[lo:hi], Kt, out=buf[: hi - lo])
    return ops.shifted_exp_(P, parallel=parallel)


def attention_exact(inst: AttentionInstance, ops, block_size: int | None = None, memory_budget=None):
    """(Att(Q, K, V) as a backend nq×dv array, info with its worst-case rounding bound)."""
    check_range(scales(inst), ops.dtype_name)
    b, workers = plan_rows(inst, ops, block_size, memory_budget)
    ops.prepare_exp(inst.nq * inst.nk)
    nk, dv = inst.nk, inst.dv
    V1 = _with_ones(ops, inst.V)
    Qs, Kt = ops.asarray(inst.Q / inst.d), ops.asarray(inst.K.T)
    out = ops.empty((inst.nq, dv))
    scratch = _Scratch(lambda: (ops.empty((b, nk)), ops.empty((b, dv + 1)), ops.empty((b, dv + 1))))
    parallel = workers == 1 and inst.nq * inst.nk >= PARALLEL_SCORES  # one large block at a time: may use the pool

    def block(lo, hi):
        buf, NV, tmp = scratch.get()
        P = _weights(ops, Qs, Kt, lo, hi, buf, parallel)
        nv = matmul_sum(ops, P, V1, NV[: hi - lo], tmp[: hi - lo], EXACT_SUM_CHUNK)
        out[lo:hi] = nv[:, :dv] / nv[:, dv:]

    _run_blocks(ops, block, inst.nq, inst.nk, b, workers)
    return out, {"error_bound": exact_forward_bound(inst, ops.dtype_name)}


class _GradientPass:
    """The per-block work of the exact gradient (docs/problems.md §2.2). The key side (A2ᵀ, h, E) is set up
    once; `queries` sets the query side of one instance; buffers live per thread and are reused."""

    def __init__(self, inst: GradientInstance, ops, b: int):
        self.ops, self.b, self.dv, self.d = ops, b, inst.dv, inst.d
        self.Kt = ops.asarray(inst.A2.T)
        self.h1 = _with_ones(ops, inst.h)
        self.h1t = self.h1.T.contiguous() if ops.name == "torch" else np.ascontiguousarray(self.h1.T)
        self.E = ops.asarray(inst.E)
        nk, dv = inst.nk, inst.dv
        self.scratch = _Scratch(lambda: (ops.empty((b, nk)), ops.empty((b, nk)), ops.empty((b, dv + 1)),
                                         ops.empty((b, dv + 1))))
        self.queries(inst)

    def queries(self, inst: GradientInstance) -> None:
        self.Qs = self.ops.asarray(inst.A1X / inst.d)

    def block(self, lo: int, hi: int, parallel: bool = True):
        """(p_I, c_I): the block of p = S∘q − diag(r)S and the residual block, in this thread's buffers."""
        ops, dv = self.ops, self.dv
        buf_p, buf_z, NH, tmp = self.scratch.get()
        P = _weights(ops, self.Qs, self.Kt, lo, hi, buf_p, parallel)
        nh = matmul_sum(ops, P, self.h1, NH[: hi - lo], tmp[: hi - lo], EXACT_SUM_CHUNK)
        inv_l = 1.0 / nh[:, dv:]
        Sh = nh[:, :dv] * inv_l
        c = Sh - self.E[lo:hi]
        r = (c * Sh).sum(1, keepdims=True)
        Cr = ops.hstack([c * inv_l, -r * inv_l])
        Z = ops.matmul(Cr, self.h1t, out=buf_z[: hi - lo])
        return ops.mul_(Z, P, parallel=parallel), c


def gradient_blocks(inst: GradientInstance, ops, b: int):
    """Yield (lo, hi, p_I, c_I) for consecutive blocks of b query rows (docs/problems.md §2.2).

    p_I is the b×nk block of p = S∘q − diag(r)S and c_I the residual block; both
    live in buffers reused by the next block, so a consumer that keeps them copies them.
    """
    g = _GradientPass(inst, ops, b)
    for lo, hi in row_blocks(inst.nq, b):
        yield (lo, hi, *g.block(lo, hi))


class ExactGradient:
    """The exact gradient engine set up for a run of instances that share A2, A3, Y and E (docs/problems.md §2.2).

    The plan (rows per block, threads), the key side and the per-thread buffers are made once; each call
    still computes the whole gradient at its own A1·X and states its own worst-case bound. The quadrature's
    X = λ·I calls are such a run (docs/quadrature.md). Each block's d×d contribution and loss are kept and
    summed in block order, so the result does not depend on which thread ran which block.
    """

    def __init__(self, inst: GradientInstance, ops, block_size: int | None = None, memory_budget=None):
        # Every product of the engine runs with BLAS at one thread, the instance's own small products
        # (A1·X, the bound's magnitudes) too: a threaded BLAS call just before a pass on the pool leaves
        # BLAS's threads spinning on the cores the pool needs (measured: 55 ms -> 85-95 ms a call at n = 4096).
        with ops.single_thread():
            check_range(scales(inst), ops.dtype_name)
            self.ops, self.shape = ops, (inst.nq, inst.nk, inst.d, inst.dv)
            self.b, self.workers = plan_rows(inst, ops, block_size, memory_budget)
            self.exp = ops.prepare_exp(inst.nq * inst.nk)
            self.A2 = ops.asarray(inst.A2)
            self.keys = _GradientPass(inst, ops, self.b)
        b, d = self.b, inst.d
        self.pa = _Scratch(lambda: (ops.empty((b, d)), ops.empty((b, d))))
        self._first = inst
        self._key_arrays = (inst.A2, inst.A3, inst.E, inst.Y)
        self._lock = threading.Lock()  # one call at a time: a call sets the query side the blocks read

    def shares_keys(self, inst: GradientInstance) -> bool:
        """Whether `inst` has the first instance's A2, A3, E and Y (the key side this engine holds)."""
        return all(a.shape == b.shape and (a is b or np.array_equal(a, b))
                   for a, b in zip(self._key_arrays, (inst.A2, inst.A3, inst.E, inst.Y)))

    def __call__(self, inst: GradientInstance, checked: bool = False):
        """(∂L/∂X as a backend d×d array, L(X), info with the worst-case rounding bounds of both).

        `inst` must share A2, A3, E and Y with the first instance (checked unless `checked` says the
        caller did); calls from several threads run one at a time."""
        if not checked and not self.shares_keys(inst):
            raise InvalidInstance("inst: an ExactGradient serves instances with its first instance's A2, A3, E "
                                  "and Y; this one differs (use loss_gradient for it)")
        with self._lock, self.ops.single_thread():
            return self._call(inst)

    def _call(self, inst: GradientInstance):
        if inst is not self._first:
            check_range(scales(inst), self.ops.dtype_name)
            self.keys.queries(inst)
        self._first = None
        ops, b, d, g = self.ops, self.b, inst.d, self.keys
        A1, A2 = ops.asarray(inst.A1), self.A2
        parallel = self.workers == 1 and inst.nq * inst.nk >= PARALLEL_SCORES  # one large block at a time

        def block(lo, hi):
            p, c = g.block(lo, hi, parallel)
            PA, tmp = self.pa.get()
            return ops.matmul(A1[lo:hi].T, matmul_sum(ops, p, A2, PA[: hi - lo], tmp[: hi - lo], EXACT_SUM_CHUNK)), \
                0.5 * ops.sum_all(c * c)

        G = ops.zeros((d, d))
        loss = [0.0]

        def add(result):  # in block order: the sum does not depend on which thread ran which block
            nonlocal G
            G += result[0]
            loss[0] += result[1]

        _run_blocks(ops, block, inst.nq, inst.nk, b, self.workers, add)
        loss = loss[0]
        bound, loss_bound = exact_gradient_bound(inst, ops.dtype_name, rows_block=b)
        return G / d, loss, {"error_bound": bound, "loss_error_bound": loss_bound}


def loss_gradient_exact(inst: GradientInstance, ops, block_size: int | None = None, memory_budget=None):
    """(∂L/∂X as a backend d×d array, L(X), info with the worst-case rounding bounds of both)."""
    return ExactGradient(inst, ops, block_size, memory_budget)(inst)
