"""Exact attention and loss gradient in one streaming pass over query-row blocks (docs/problems.md §2.1-2.2).

Per block I: P = exp(s_I − rowmax) unnormalized; one product P·[h, 1] gives S h
and the row sums l together; then p_I = P ∘ ((c/l) hᵀ − r/l), again one product
against [h, 1]ᵀ. Four matrix products and one exponential per score; memory
two b×nk buffers. The products over the nk keys are summed in chunks (`Ops.sum_chunk`: at most
`blocks.EXACT_SUM_CHUNK` keys, fewer where numpy's BLAS has a faster small-product kernel), which is what
makes their worst-case rounding small (docs/rounding.md, "Sums"); every result carries that worst-case
bound, for the chunks it used.

Two shortcuts, each with its own bound: scores within ±650 (float64) are exponentiated
without the row-max shift, and values with few distinct rows group the keys so that
one product per group replaces the last three passes (docs/problems.md §2.2). The
quadrature's many calls share one engine (`ExactGradient.many`).
"""

from __future__ import annotations

import threading

import numpy as np

from sethlab.attention.blocks import MAX_BLOCK_ELEMENTS, block_rows, matmul_sum, row_blocks
from sethlab.attention.instances import AttentionInstance, GradientInstance
from sethlab.attention.rounding import check_range, exact_forward_bound, exact_gradient_bound, scales, shift_free
from sethlab.errors import InvalidInstance, MemoryBudgetExceeded
from sethlab.memory import format_bytes, memory_budget


# A key side whose values h have at most this many distinct rows takes the grouped pass (docs/problems.md §2.2,
# "Few distinct values"): its G products over the keys replace three b×nk passes. Each group costs a few small
# operations per block, so a handful of groups is where it pays; the reduction's 0/1 values give G <= 2.
MAX_VALUE_GROUPS = 8


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
        # the ungrouped pass's two nk-wide buffers, or the grouped pass's one and its G row sums of d + 1
        per_row = itemsize * (2 * nk + 4 * (dv + 1) + 2 * d + MAX_VALUE_GROUPS * (d + 1))
        fixed = (itemsize * (2 * nq * d + 2 * nk * d + 2 * nk * (dv + 1) + nq * dv + d * d)
                 + 8 * (nq * d + nk * (dv + 1) + nq * d + nk * dv + nk * d))
    return int(fixed), int(per_row)


# numpy engine: (scores per block, fewest rows, most rows) for each set of kernels (`Ops.prepare_exp`).
# numpy's own (OpenBLAS): about 2^18 scores (2 MiB) per block, 128-256 rows, keeps a block's passes in cache:
# measured on 2 cores (per call, blocks on the pool) at nk = 1024, d = 20: 256 rows 2.7 ms, 128 rows 3.0 ms;
# nk = 4096, d = 24: 128 rows 45 ms, 256 rows 54 ms; nk = 16384, d = 64: 128 rows 2.27 s, 64 rows 2.48 s.
# torch's (MKL) lose less out of cache, and larger blocks mean fewer of the small per-block operations that
# hold the GIL: OV images, per call, 2^20 scores against 2^18: n = 256 0.15 against 0.20 ms, n = 1024 1.13
# against 1.71 ms, n = 4096 18.5 against 22.0 ms; 2^21 no better, 2^22 worse.
BLOCK_PLAN = {"numpy": (1 << 18, 128, 256), "torch": (1 << 20, 128, 1024)}
# Below this many scores a call runs its blocks on one thread: the pool's hand-off costs more than it saves
# (measured at nq = nk = 256: 2.4x the floor on one thread, 3.0x on two).
PARALLEL_SCORES = 1 << 18
# A pass over several instances (`ExactGradient.many`) takes enough of them for this many blocks per thread, and
# never more than MAX_PASS_INSTANCES (nor more than the memory budget holds): each pass has a fixed cost (its
# start on the pool, its last block alone on one thread). Measured per call, 2 cores, OV images: n = 256 0.23 ms
# with passes of 16 calls, 0.21-0.22 with 48-64; n = 1024 2.1 ms against 1.9-2.0. Instances too small to fill
# a block are stacked, at most MAX_STACK to a block.
PASS_BLOCKS = 64
MAX_PASS_INSTANCES = 64
MAX_STACK = 16
STACKS_PER_THREAD = 2


def _even_rows(nq: int, b: int, cap: int) -> int:
    """Rows per block near b that cut nq rows into equal blocks (1024 rows: 4 of 256, not 4 of 255 and one of 4),
    at most a quarter above b and never above cap."""
    blocks = max(1, round(nq / b))
    even = -(-nq // blocks)
    if even > b + b // 4 or even > cap:
        even = -(-nq // -(-nq // b))
    return max(1, min(even, cap, nq))


def plan_rows(inst, ops, block_size: int | None = None, budget=None) -> tuple[int, int]:
    """(rows per block, threads) within the memory budget: the default shrinks to fit, a given block_size is
    refused. Each block running at once holds its own work buffers; a pass runs on at most `threads`
    (`pass_workers`)."""
    nq, nk = inst.nq, inst.nk
    if block_size is None and ops.name == "numpy":
        scores, lo, hi = BLOCK_PLAN[ops.kernels]
        b = max(1, min(nq, max(lo, min(hi, scores // max(nk, 1))), MAX_BLOCK_ELEMENTS // max(nk, 1)))
        b = _even_rows(nq, b, MAX_BLOCK_ELEMENTS // max(nk, 1))
    else:
        b = block_rows(nq, nk, block_size, ops.block_elements)
    workers = ops.workers
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


def pass_workers(threads: int, tasks: int, scores: int) -> int:
    """Threads for a pass of `tasks` blocks holding `scores` scores in all: one below PARALLEL_SCORES (the
    pool's hand-off would cost more than it saves), else up to the planned `threads`."""
    return max(1, min(threads, tasks)) if scores >= PARALLEL_SCORES else 1


def _run_tasks(ops, fn, tasks, workers: int, consume=lambda result: None) -> None:
    """consume(fn(*task)) over the tasks in order: on `workers` threads (ops.map_blocks) or one after the
    other, BLAS at one thread either way (ops.py, "Threading rule"), so every block's products are the
    same to the bit whatever ran them."""
    if workers > 1:
        ops.map_blocks(fn, tasks, consume, workers)
        return
    with ops.single_thread():
        for task in tasks:
            consume(fn(*task))


class _Scratch:
    """Work buffers per thread: each block running at once gets its own, reused by its next block."""

    def __init__(self, make):
        self._make, self._local = make, threading.local()

    def get(self):
        bufs = getattr(self._local, "bufs", None)
        if bufs is None:
            bufs = self._local.bufs = self._make()
        return bufs


def _weights(ops, Qs, Kt, buf, parallel: bool, shifted: bool = True):
    """P = exp(s − rowmax) for the query rows Qs, s = Qs·Kt, in `buf` (the unnormalized softmax of one block);
    P = exp(s) where the scores are small enough not to need the shift (`rounding.shift_free`)."""
    P = ops.matmul(Qs, Kt, out=buf)
    return ops.shifted_exp_(P, parallel=parallel) if shifted else ops.exp_(P, parallel=parallel)


def attention_exact(inst: AttentionInstance, ops, block_size: int | None = None, memory_budget=None):
    """(Att(Q, K, V) as a backend nq×dv array, info with its worst-case rounding bound)."""
    check_range(scales(inst), ops.dtype_name)
    shifted = not shift_free(scales(inst), ops.dtype_name)
    ops.prepare_exp(inst.nq * inst.nk)
    b, threads = plan_rows(inst, ops, block_size, memory_budget)
    workers = pass_workers(threads, -(-inst.nq // b), inst.nq * inst.nk)
    nk, dv = inst.nk, inst.dv
    V1 = _with_ones(ops, inst.V)
    Qs, Kt = ops.asarray(inst.Q / inst.d), ops.asarray(inst.K.T)
    out = ops.empty((inst.nq, dv))
    scratch = _Scratch(lambda: (ops.empty((b, nk)), ops.empty((b, dv + 1)), ops.empty((b, dv + 1))))
    chunk = ops.sum_chunk(b, dv + 1)
    parallel = workers == 1 and inst.nq * inst.nk >= PARALLEL_SCORES  # one large block at a time: may use the pool

    def block(lo, hi):
        buf, NV, tmp = scratch.get()
        P = _weights(ops, Qs[lo:hi], Kt, buf[: hi - lo], parallel, shifted)
        nv = matmul_sum(ops, P, V1, NV[: hi - lo], tmp[: hi - lo], chunk)
        out[lo:hi] = nv[:, :dv] / nv[:, dv:]

    _run_tasks(ops, block, row_blocks(inst.nq, b), workers)
    return out, {"error_bound": exact_forward_bound(inst, ops.dtype_name, chunk, shifted=shifted)}


def value_groups(h: np.ndarray, limit: int = MAX_VALUE_GROUPS):
    """(key order, column ranges, distinct rows) when h has at most `limit` distinct rows, else None.

    The keys are reordered so each group of equal rows of h is one contiguous range of columns; the
    softmax over the keys does not depend on their order."""
    nk, dv = h.shape
    if nk == 0 or dv == 0 or len(np.unique(h[:, 0])) > limit:
        return None
    rows, inverse = np.unique(h, axis=0, return_inverse=True)
    if len(rows) > limit:
        return None
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    ends = np.cumsum(np.bincount(inverse, minlength=len(rows)))
    starts = np.concatenate([[0], ends[:-1]])
    return order, [(int(a), int(b)) for a, b in zip(starts, ends)], rows


class _GradientPass:
    """The per-block work of the exact gradient (docs/problems.md §2.2): F_I = p_I·A2 and the residual c_I.

    The key side is set up once; the query side (A1X/d) comes with each block, so blocks of several
    instances with this key side can run at once. Buffers live per thread and are reused. Where h has
    few distinct rows (`value_groups`) the keys are grouped and p is never formed.
    """

    def __init__(self, inst: GradientInstance, ops, b: int, grouped: bool = True):
        self.ops, self.b, self.dv, self.d = ops, b, inst.dv, inst.d
        nk, dv, d = inst.nk, inst.dv, inst.d
        self.E = ops.asarray(inst.E)
        groups = value_groups(inst.h) if grouped else None
        self.groups = 0 if groups is None else len(groups[1])
        # the grouped pass's weights in sub-blocks of rows (`Ops.sub_rows`), every product over the keys in
        # chunks of `chunk` keys (`Ops.sum_chunk`; the bound counts them)
        self.sub = ops.sub_rows(b, nk, d + 1) if groups else b
        self.chunk = ops.sum_chunk(self.sub, d + 1 if groups else max(d, dv + 1))
        if groups is None:
            self.Kt = ops.asarray(inst.A2.T)
            self.A2 = ops.asarray(inst.A2)
            self.h1 = _with_ones(ops, inst.h)
            self.h1t = self.h1.T.contiguous() if ops.name == "torch" else np.ascontiguousarray(self.h1.T)
            self.scratch = _Scratch(lambda: (ops.empty((b, nk)), ops.empty((b, nk)), ops.empty((b, dv + 1)),
                                             ops.empty((b, dv + 1)), ops.empty((b, d)), ops.empty((b, d))))
        else:
            order, self.cols, eta = groups
            A2 = inst.A2[order]
            G = len(self.cols)
            # each group's keys, scores and weights contiguous: per-group products then read whole buffers
            # (at nk = 257 two 256×128 score products took 37 µs against 49 for one 256×257)
            self.Ktg = [ops.asarray(A2[lo:hi].T) for lo, hi in self.cols]
            self.A2g = [_with_ones(ops, A2[lo:hi]) for lo, hi in self.cols]
            self.eta1 = ops.asarray(np.hstack([eta, np.ones((G, 1))]))
            widths = [hi - lo for lo, hi in self.cols]
            self.scratch = _Scratch(lambda: ([ops.empty((self.sub, w)) for w in widths], ops.empty((G, b, d + 1)),
                                             ops.empty((self.sub, d + 1)), ops.empty((b, dv + 1))))

    def queries(self, inst: GradientInstance):
        """The query side of one instance: its A1X/d in the working precision.

        With X = λI each entry of A1X is fl(λ·a) (the other d − 1 terms of its sum are exact zeros), so it
        is made by one product with λ instead of a d×d matrix product; the caller has range-checked it."""
        lam = inst.X_scalar
        if lam is None:
            return self.ops.asarray(inst.A1X / inst.d)
        return self.ops.asarray(np.multiply(inst.A1, lam) / inst.d)

    def stacked_queries(self, insts: list):
        """The query sides of several instances, one above the other; for X = λ_k·I with one A1 by two products
        over the whole stack (the same numbers as `queries`, entry by entry)."""
        A1, lams = insts[0].A1, [inst.X_scalar for inst in insts]
        if None in lams or any(inst.A1 is not A1 for inst in insts):
            return self.ops.vstack([self.queries(inst) for inst in insts])
        Q = np.multiply(np.array(lams)[:, None, None], A1[None])
        Q /= insts[0].d
        return self.ops.asarray(Q.reshape(-1, A1.shape[1]))

    def p_block(self, Qs, E, parallel: bool = True, shifted: bool = True):
        """(p_I, c_I) for the query rows Qs (A1X/d) with residual targets E: the block of p = S∘q − diag(r)S
        and the residual block (ungrouped pass only)."""
        ops, dv, n = self.ops, self.dv, Qs.shape[0]
        buf_p, buf_z, NH, tmp, _, _ = self.scratch.get()
        P = _weights(ops, Qs, self.Kt, buf_p[:n], parallel, shifted)
        nh = matmul_sum(ops, P, self.h1, NH[:n], tmp[:n], self.chunk)
        inv_l = 1.0 / nh[:, dv:]
        Sh = nh[:, :dv] * inv_l
        c = Sh - E
        r = (c * Sh).sum(1, keepdims=True)
        Cr = ops.hstack([c * inv_l, -r * inv_l])
        Z = ops.matmul(Cr, self.h1t, out=buf_z[:n])
        return ops.mul_(Z, P, parallel=parallel), c

    def block(self, Qs, E, parallel: bool = True, shifted: bool = True):
        """(F_I, c_I): F_I = p_I·A2 (rows × d) and the residual block for the query rows Qs, E, in this
        thread's buffers (shifted: subtract the row maxima before exp)."""
        if self.groups:
            return self._grouped(Qs, E, parallel, shifted)
        p, c = self.p_block(Qs, E, parallel, shifted)
        *_, F, tmp = self.scratch.get()
        n = Qs.shape[0]
        return matmul_sum(self.ops, p, self.A2, F[:n], tmp[:n], self.chunk), c

    def _grouped(self, Qs, E, parallel: bool, shifted: bool):
        """The block with the keys in groups of equal values η_g: with U_g = P_g·[A2_g, 1] (row sums l_g in
        its last column), [S h, l] = Σ_g l_g [η_g, 1] (S h still to be divided by l) and
        F = Σ_g z_g U_g[:, :d], where z_g = [c/l, −r/l]·[η_g, 1] is the p_ij/P_ij shared by the group's keys
        (docs/problems.md §2.2). The sums over the G groups are products, each term with at most G
        roundings in any order (docs/rounding.md, "Grouped keys"). The weights are made and summed in
        sub-blocks of rows, so each product fits BLAS's small-product kernel (`Ops.sub_rows`)."""
        ops, d, dv, n = self.ops, self.d, self.dv, Qs.shape[0]
        bufs, R, tmp, CR = self.scratch.get()
        k = -(-n // self.sub)
        for lo, hi in row_blocks(n, -(-n // k)):
            P = [ops.matmul(Qs[lo:hi], Kt, out=buf[: hi - lo]) for Kt, buf in zip(self.Ktg, bufs)]
            if shifted:
                ops.shifted_exp_parts_(P, parallel=parallel)
            else:
                for part in P:
                    ops.exp_(part, parallel=parallel)
            for g, (part, A2g) in enumerate(zip(P, self.A2g)):
                matmul_sum(ops, part, A2g, R[g, lo:hi], tmp[: hi - lo], self.chunk)
        nhl = ops.matmul(R[:, :n, d].T, self.eta1)  # [Σ_g l_g η_g, Σ_g l_g]
        inv_l = 1.0 / nhl[:, dv:]
        Sh = nhl[:, :dv] * inv_l
        c = Sh - E
        r = (c * Sh).sum(1, keepdims=True)
        ops.mul_into(c, inv_l, CR[:n, :dv])
        ops.mul_into(-r, inv_l, CR[:n, dv:])
        zt = ops.matmul(self.eta1, CR[:n].T)  # G × rows: z_g for each row
        return ops.einsum("gi,gid->id", zt, R[:, :n, :d]), c


def gradient_blocks(inst: GradientInstance, ops, b: int):
    """Yield (lo, hi, p_I, c_I) for consecutive blocks of b query rows (docs/problems.md §2.2).

    p_I is the b×nk block of p = S∘q − diag(r)S and c_I the residual block; both
    live in buffers reused by the next block, so a consumer that keeps them copies them.
    """
    g = _GradientPass(inst, ops, b, grouped=False)
    Qs = g.queries(inst)
    for lo, hi in row_blocks(inst.nq, b):
        yield (lo, hi, *g.p_block(Qs[lo:hi], g.E[lo:hi]))


class ExactGradient:
    """The exact gradient engine set up for a run of instances that share A2, A3, Y and E (docs/problems.md §2.2).

    The plan (rows per block, threads), the key side and the per-thread buffers are made once; each call
    still computes the whole gradient at its own A1·X and states its own worst-case bound. The quadrature's
    X = λ·I calls are such a run (docs/quadrature.md). `many` takes several at once: their blocks go
    through one pass, and instances too small to fill a block are stacked, `stack` to a block, so small
    instances keep every core busy. Each instance's contributions are summed in its block order, so a
    result does not depend on which thread ran which block; what is stacked with what is fixed by the
    instances' positions, their number in the pass and the memory plan, never by timing.
    """

    def __init__(self, inst: GradientInstance, ops, block_size: int | None = None, memory_budget=None):
        # Every product of the engine runs with BLAS at one thread, the instance's own small products
        # (A1·X, the bound's magnitudes) too: a threaded BLAS call just before a pass on the pool leaves
        # BLAS's threads spinning on the cores the pool needs (measured: 55 ms -> 85-95 ms a call at n = 4096).
        nq, nk, d = inst.nq, inst.nk, inst.d
        with ops.single_thread():
            check_range(scales(inst), ops.dtype_name)
            self.ops, self.shape = ops, (nq, nk, d, inst.dv)
            self.kernels = ops.prepare_exp(nq * nk)  # first: the block plan depends on the kernels
            self.b, self.threads = plan_rows(inst, ops, block_size, memory_budget)
            self.blocks = list(row_blocks(nq, self.b))
            self.stack, self.window = self._plan_pass(inst, block_size, memory_budget)
            self.keys = _GradientPass(inst, ops, self.b if self.stack == 1 else self.stack * nq)
        self.E_stack = ops.asarray(np.tile(inst.E, (self.stack, 1))) if self.stack > 1 else self.keys.E
        self._first = inst
        self._key_arrays = (inst.A2, inst.A3, inst.E, inst.Y)
        self._lock = threading.Lock()  # one pass at a time: the per-thread buffers belong to it

    def _plan_pass(self, inst, block_size, budget) -> tuple[int, int]:
        """(stack, window): instances per block and per pass, within the memory budget.

        Instances whose scores fill less than a block (`BLOCK_PLAN`) are stacked (numpy only; torch's own
        threads fill a block already). A pass takes enough instances for PASS_BLOCKS blocks per thread, in
        whole stacks, two at least on a pool (the next instance's blocks fill the threads while the last
        blocks of one finish), at most MAX_PASS_INSTANCES. Each instance of a pass may hold its A1X, its
        query side and its d×d partial sums at once; the budget must hold them with the block buffers."""
        nq, nk, d = inst.nq, inst.nk, inst.d
        itemsize = 8 if self.ops.dtype_name == "float64" else 4
        limit = memory_budget(budget, self.ops)
        per_instance = nq * d * (8 + 2 * itemsize) + 3 * d * d * 8 + 2 * nq * inst.dv * itemsize
        stack = 1
        if self.ops.name == "numpy" and block_size is None and len(self.blocks) == 1:
            stack = max(1, min(MAX_STACK, BLOCK_PLAN[self.ops.kernels][0] // max(nq * nk, 1) + 1))
        while True:
            rows = self.b if stack == 1 else stack * nq
            fixed, per_row = memory_bytes(inst, itemsize, rows)
            room = (limit - fixed - per_row * rows * self.threads) // per_instance
            if stack == 1 or room >= stack:
                break
            stack = 1
        want = max(2 if self.threads > 1 else 1, -(-PASS_BLOCKS * self.threads * stack // len(self.blocks)))
        window = min(MAX_PASS_INSTANCES, want, max(1, room))
        return stack, max(stack, window // stack * stack)

    @property
    def groups(self) -> int:
        """Groups of equal value rows the pass uses (0: ungrouped)."""
        return self.keys.groups

    def shares_keys(self, inst: GradientInstance) -> bool:
        """Whether `inst` has the first instance's A2, A3, E and Y (the key side this engine holds)."""
        return all(a.shape == b.shape and (a is b or np.array_equal(a, b))
                   for a, b in zip(self._key_arrays, (inst.A2, inst.A3, inst.E, inst.Y)))

    def __call__(self, inst: GradientInstance, checked: bool = False):
        """(∂L/∂X as a backend d×d array, L(X), info with the worst-case rounding bounds of both).

        `inst` must share A2, A3, E and Y with the first instance (checked unless `checked` says the
        caller did); calls from several threads run one at a time."""
        return self.many([inst], checked)[0]

    def many(self, insts, checked: bool = False) -> list:
        """[(∂L/∂X, L(X), info)] for each instance, in order, in passes of `window` instances (what the memory
        plan counted on).

        Each instance is range-checked before any of its blocks runs; one that is refused raises, and
        the results of the others are not returned."""
        insts = list(insts)
        if not checked:
            for inst in insts:
                if not self.shares_keys(inst):
                    raise InvalidInstance("inst: an ExactGradient serves instances with its first instance's A2, "
                                          "A3, E and Y; this one differs (use loss_gradient for it)")
        results = []
        with self._lock, self.ops.single_thread():
            for lo in range(0, len(insts), self.window):
                results += self._pass(insts[lo : lo + self.window])
        return results

    def _pass(self, insts: list) -> list:
        ops, g, (nq, nk, d, _) = self.ops, self.keys, self.shape
        n = len(insts)
        if self.stack > 1:  # one task per stack of whole instances, STACKS_PER_THREAD stacks a thread at least
            per = min(self.stack, max(1, -(-n // (STACKS_PER_THREAD * self.threads))))
            tasks = [(k, min(k + per, n), 0, nq) for k in range(0, n, per)]
        else:
            tasks = [(k, k + 1, lo, hi) for k in range(n) for lo, hi in self.blocks]
        workers = pass_workers(self.threads, len(tasks), n * nq * nk)
        parallel = workers == 1 and nq * nk >= PARALLEL_SCORES  # one large block at a time: may use the pool
        # Everything made in Python per instance comes first, on this thread: the range checks, the shifts, the
        # bounds and the query sides. Made during the pass it held the interpreter's lock that the other thread
        # needs between its operations: at n = 256 a task ran 2-3x longer beside another than alone.
        shifted = []
        for inst in insts:
            if inst is not self._first:
                check_range(scales(inst), ops.dtype_name)
            shifted.append(not shift_free(scales(inst), ops.dtype_name))
        self._first = None
        for k0, k1, _, _ in tasks:
            if k1 - k0 > 1:  # a stack skips the shift only if each of its instances may
                shifted[k0:k1] = [any(shifted[k0:k1])] * (k1 - k0)
        bounds = [exact_gradient_bound(inst, ops.dtype_name, g.chunk, rows_block=self.b, groups=g.groups,
                                       shifted=shifted[k]) for k, inst in enumerate(insts)]
        A1 = [ops.asarray(inst.A1) for inst in insts]
        if self.stack > 1:
            Qs = {k0: g.stacked_queries(insts[k0:k1]) if k1 - k0 > 1 else g.queries(insts[k0]) for k0, k1, _, _ in tasks}
        else:
            Qs = {k: g.queries(inst) for k, inst in enumerate(insts)}

        one_A1 = all(a is A1[0] for a in A1)  # the quadrature's instances share A1: a stack's A1ᵀF in one call

        def block(k0, k1, lo, hi):
            """[(k, A1_Iᵀ F_I, ½Σc_I²)] for instances k0..k1−1 (stacked) or rows lo:hi of instance k0."""
            m = k1 - k0
            if m == 1:
                F, c = g.block(Qs[k0][lo:hi], g.E[lo:hi], parallel, shifted[k0])
                return [(k0, ops.matmul(A1[k0][lo:hi].T, F), 0.5 * ops.sum_all(c * c))]
            F, c = g.block(Qs[k0], self.E_stack[: m * nq], parallel, shifted[k0])
            if one_A1:  # per instance: a length-nq product and a sum of its nq·dv squares, as below
                Gs = ops.matmul(A1[k0].T, F.reshape(m, nq, d))
                losses = (c * c).reshape(m, -1).sum(1)
                return [(k0 + i, Gs[i], 0.5 * float(losses[i])) for i in range(m)]
            return [(k, ops.matmul(A1[k].T, F[(k - k0) * nq : (k - k0 + 1) * nq]),
                     0.5 * ops.sum_all(c[(k - k0) * nq : (k - k0 + 1) * nq] ** 2)) for k in range(k0, k1)]

        parts = [[None, 0.0, 0] for _ in insts]
        results = []
        per_instance = 1 if self.stack > 1 else len(self.blocks)

        def add(items):  # in task order: an instance's sums do not depend on which thread ran which block
            for k, G, loss in items:
                acc = parts[k]
                acc[0] = G if acc[0] is None else acc[0] + G
                acc[1] += loss
                acc[2] += 1
            while len(results) < n and parts[len(results)][2] == per_instance:
                k = len(results)
                bound, loss_bound = bounds[k]
                results.append((parts[k][0] / d, parts[k][1], {"error_bound": bound, "loss_error_bound": loss_bound}))
                parts[k] = None
                Qs.pop(k, None)  # a finished instance's query side (or its stack's, once the last is in) is let go

        _run_tasks(ops, block, tasks, workers, add)
        return results


def loss_gradient_exact(inst: GradientInstance, ops, block_size: int | None = None, memory_budget=None):
    """(∂L/∂X as a backend d×d array, L(X), info with the worst-case rounding bounds of both)."""
    return ExactGradient(inst, ops, block_size, memory_budget)(inst)
