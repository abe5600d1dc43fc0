"""The polynomial-method backend: attention and its gradient in O(n·r·d·dv) with a certified error (docs/polynomial.md §3).

exp(⟨q,k⟩/d) is replaced by P(⟨q,k⟩/d) = ⟨φ(q), ψ(k)⟩ (rank r = C(d+g, g)); then

- keys, one pass:    M = Σ_blocks ψ(K_b)ᵀ X_b,  X = [h, 1, A2 ⊗ h, A2]  (row-wise Kronecker, docs/polynomial.md §3.4)
- queries, one pass: Y_b = φ(Q_b) M gives w, S̃h, c, r and the d·(dv+1) sums that the gradient needs.

Each pass is one r × b feature block and one thin matrix product per block of rows; memory
O(r·b + r·(d+1)(dv+1)), never n × r or n × n. The degree comes from the certified bounds
of `poly_bounds` (eps=) or is given (degree=); `plan` states the cost before any work.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from sethlab.attention import exp_poly, poly_bounds
from sethlab.attention.blocks import POLY_SUM_CHUNK, block_rows, matmul_sum, row_blocks
from sethlab.attention.features import monomials_t, query_coefficients, rank
from sethlab.attention.instances import AttentionInstance, GradientInstance
from sethlab.attention.ops import dtype_name as normalize_dtype
from sethlab.attention.poly_bounds import CertificationError
from sethlab.attention.rounding import check_range
from sethlab.attention.rounding import scales as rounding_scales
from sethlab.errors import InvalidInstance
from sethlab.memory import MemoryBudgetExceeded, format_bytes, memory_budget

__all__ = [
    "Plan",
    "plan",
    "attention_poly",
    "loss_gradient_poly",
    "CertificationError",
    "MemoryBudgetExceeded",
]

# Elements of one r × b feature block (2^23: 64 MiB in float64), and at least MIN_ROWS rows:
# the thin products ψ(K_b)ᵀX_b fall off BLAS's fast path on short blocks (measured at d = 8,
# r = 43,758: 47 rows 10x slower than 256, 1,024 rows another 1.4x faster).
FEATURE_BLOCK_ELEMENTS = 1 << 23
MIN_ROWS = 512
MIN_BUDGET_ROWS = 64


@dataclass(frozen=True)
class Plan:
    """What a poly request needs, before any work: degree, rank, certified bound, flops, memory (docs/polynomial.md §3)."""

    kind: str  # "forward" or "gradient"
    polynomial: str  # family of `exp_poly`
    degree: int
    rank: int
    R: float
    eta: float  # certified relative error of P on [−R, R]
    rounding: float  # floating-point term δ (0 when planned for exact arithmetic)
    eta_prime: float  # relative error of the normalized matrix S̃
    error_bound: float  # certified ‖result − exact‖∞
    eps: float | None
    nq: int
    nk: int
    d: int
    dv: int
    dtype: str
    block_rows: int
    flops: float
    bytes: int
    memory_budget: int
    exact_flops: float  # the exact engine's matrix-product flops (docs/problems.md §2.2)
    exact_exps: int  # and its exponentials
    loss_error_bound: float | None  # gradient requests: certified |L̃ − L|
    certificate: poly_bounds.Certificate = field(repr=False, compare=False)

    @property
    def fits(self) -> bool:
        """Whether `bytes` is within `memory_budget`."""
        return self.bytes <= self.memory_budget

    @property
    def flop_ratio(self) -> float:
        """exact_flops / flops (exponentials not counted)."""
        return self.exact_flops / self.flops

    def to_dict(self) -> dict:
        """JSON-friendly dict (plain numbers and strings)."""
        out = {k: v for k, v in asdict(self).items() if k != "certificate"}
        out["fits"] = self.fits
        out["coefficients"] = list(self.certificate.poly.coeffs)
        return out

    def require_fits(self) -> None:
        """Raise MemoryBudgetExceeded naming the need and the budget."""
        if not self.fits:
            raise MemoryBudgetExceeded(
                f"memory_budget: the poly {self.kind} needs {format_bytes(self.bytes)} "
                f"(rank {self.rank} = C({self.d}+{self.degree}, {self.degree}), blocks of {self.block_rows} rows) "
                f"but the budget is {format_bytes(self.memory_budget)}; raise memory_budget= or "
                f"$SETHLAB_MEMORY_BUDGET, ask for a larger eps, or use method='exact'"
            )


def _kind(inst) -> tuple[str, int]:
    if isinstance(inst, AttentionInstance):
        return "forward", inst.dv
    if isinstance(inst, GradientInstance):
        return "gradient", inst.dv
    raise InvalidInstance(f"inst: expected AttentionInstance or GradientInstance, got {type(inst).__name__}")


def _check_degree(degree):
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 0:
        raise InvalidInstance(f"degree: must be a non-negative integer, got {degree!r}")
    if degree > poly_bounds.MAX_DEGREE:
        raise InvalidInstance(f"degree: at most {poly_bounds.MAX_DEGREE}, got {degree}")
    return int(degree)


def _certificate(sc, arith, eps, degree, layout):
    if (eps is None) == (degree is None):
        raise InvalidInstance("eps/degree: give exactly one of eps= (accuracy wanted) or degree= (polynomial degree)")
    if eps is not None:
        return poly_bounds.choose(sc, arith, eps, layout)
    degree = _check_degree(degree)
    if arith is not None and degree > exp_poly.FLOAT_MAX_DEGREE:
        raise CertificationError(
            f"degree: floating-point polynomials go up to degree {exp_poly.FLOAT_MAX_DEGREE} (1/j! underflows "
            f"beyond), got {degree}; plan(..., rounding=False) describes higher degrees in exact arithmetic"
        )
    cert = poly_bounds.at_degree(degree, sc, arith, layout)
    if not math.isfinite(cert.error_bound):
        raise CertificationError(
            f"degree: {degree} cannot be certified at R = {sc.R:.4g}: relative error η = {cert.eta:.3g} with "
            f"rounding δ = {cert.rounding:.3g} leaves no finite bound, so P may vanish (docs/polynomial.md §3.1; "
            f"docs/rounding.md); raise the degree or use method='exact'"
        )
    return cert


def _layout(kind, dv, d, nq, nk, itemsize, block_size, budget):
    """r ↦ (rows per block, bytes): the blocks shrink to fit the budget unless block_size is given."""
    cols = dv + 1 if kind == "forward" else (d + 1) * (dv + 1)

    def layout(r: int) -> tuple[int, int]:
        # fixed: the r × cols accumulator, its product buffer and numpy's temporary for it, the monomial
        # tables (int64/float64), the inputs and their host copies; per row of a block: features and
        # products. BLAS's own work buffers (allocated once per process) are not counted.
        fixed = itemsize * 3 * r * cols + 8 * r * (d + 4) + 8 * (3 * nk * (cols + d) + nq * (3 * d + 2 * dv))
        per_row = itemsize * (r + 3 * cols + d)
        default_rows = max(MIN_ROWS, FEATURE_BLOCK_ELEMENTS // r)
        b = block_rows(max(nq, nk), r, block_size if block_size is not None else default_rows)
        if block_size is None and fixed + per_row * b > budget:
            # shrink to fit, but not below MIN_BUDGET_ROWS: tiny blocks are slow and their many
            # accumulations widen the worst-case bound; the plan then reports that it does not fit
            b = max(min(b, MIN_BUDGET_ROWS), min(b, (budget - fixed) // per_row))
        return int(b), int(fixed + per_row * b)

    return layout, cols


def plan(
    inst,
    *,
    eps: float | None = None,
    degree: int | None = None,
    memory_budget: int | float | str | None = None,
    dtype: str = "float64",
    block_size: int | None = None,
    rounding: bool = True,
    ops=None,
) -> Plan:
    """Degree, rank, certified bound, flops and memory of a poly request; no work on the instance.

    `rounding=False` plans for exact arithmetic (the setting of the theorems: no floating-point term).
    The plan never raises for memory; `attention_poly` / `loss_gradient_poly` do (`Plan.require_fits`).
    """
    kind, dv = _kind(inst)
    if ops is not None:
        dtype = ops.dtype_name
    dtype = normalize_dtype(dtype)
    arith = dtype if rounding else None
    sc = rounding_scales(inst)
    d, nq, nk = inst.d, inst.nq, inst.nk
    itemsize = 8 if dtype == "float64" else 4
    budget = _budget(memory_budget, ops)
    layout, cols = _layout(kind, dv, d, nq, nk, itemsize, block_size, budget)
    cert = _certificate(sc, arith, eps, degree, lambda r: layout(r)[0])
    g = cert.poly.degree
    r = rank(d, g)
    b, nbytes = layout(r)
    flops = float((nq + nk) * r + 2 * (nq + nk) * r * cols + 2 * r * cols + nq * cols * (d + 3))
    if kind == "forward":
        exact_flops = 2.0 * nq * nk * (d + dv + 1)
    else:
        exact_flops = 2.0 * nq * nk * (2 * d + 2 * dv + 2)
    return Plan(
        kind=kind,
        polynomial=cert.poly.kind,
        degree=g,
        rank=r,
        R=sc.R,
        eta=cert.eta,
        rounding=cert.rounding,
        eta_prime=cert.eta_S,
        error_bound=cert.error_bound,
        eps=None if eps is None else float(eps),
        nq=nq,
        nk=nk,
        d=d,
        dv=dv,
        dtype=dtype,
        block_rows=b,
        flops=flops,
        bytes=nbytes,
        memory_budget=budget,
        exact_flops=exact_flops,
        exact_exps=nq * nk,
        loss_error_bound=cert.loss_error_bound,
        certificate=cert,
    )


def _budget(explicit, ops):
    return memory_budget(explicit, ops)


def _info(p: Plan) -> dict:
    """The result's figures: error_bound, rank, degree (popped by api.py), the rest land in details."""
    extra = {} if p.loss_error_bound is None else {"loss_error_bound": p.loss_error_bound}
    return extra | {
        "error_bound": p.error_bound,
        "rank": p.rank,
        "degree": p.degree,
        "polynomial": p.polynomial,
        "eta": p.eta,
        "rounding_term": p.rounding,
        "eta_prime": p.eta_prime,
        "R": p.R,
        "eps": p.eps,
        "block_rows": p.block_rows,
        "flops": p.flops,
        "bytes": p.bytes,
    }


def _key_pass(ops, Kt, X, g, coef, b, buf):
    """M = diag(c)·Σ_blocks ψ(K_b)ᵀ X_b  (r × cols): one feature block per block of rows, its product
    summed in chunks of POLY_SUM_CHUNK rows into M in order (docs/rounding.md, "Sums")."""
    nk = X.shape[0]
    M = ops.zeros((coef.shape[0], X.shape[1]))
    tmp = ops.empty(M.shape)
    for lo, hi in row_blocks(nk, b):
        F = monomials_t(ops, Kt[:, lo:hi], g, out=buf)
        matmul_sum(ops, F, X[lo:hi], M, tmp, POLY_SUM_CHUNK, accumulate=True)
    M *= coef
    return M


def _query_blocks(ops, Qt, M, g, b, buf):
    """Yield (lo, hi, Y_b = φ(Q_b)·M) over query blocks, the rank-r sum in chunks of POLY_SUM_CHUNK."""
    nq = Qt.shape[1]
    cols = M.shape[1]
    Y, tmp = ops.empty((b, cols)), ops.empty((b, cols))
    for lo, hi in row_blocks(nq, b):
        F = monomials_t(ops, Qt[:, lo:hi], g, out=buf)
        yield lo, hi, matmul_sum(ops, F.T, M, Y[: hi - lo], tmp[: hi - lo], POLY_SUM_CHUNK)


def _setup(inst, ops, eps, degree, block_size, memory_budget):
    p = plan(inst, eps=eps, degree=degree, block_size=block_size, memory_budget=memory_budget, ops=ops)
    p.require_fits()
    sc = rounding_scales(inst)
    check_range(sc, p.dtype, poly_bounds.overflow_checks(p.certificate.poly, sc, p.rank))
    coef = ops.asarray(query_coefficients(p.d, p.certificate.poly.coeffs)[:, None])
    buf = ops.empty((p.rank * p.block_rows,))
    return p, coef, buf


def attention_poly(inst: AttentionInstance, ops, *, eps=None, degree=None, block_size=None, memory_budget=None):
    """(T ≈ Att(Q, K, V) as a backend nq × dv array, info) with ‖T − Att‖∞ <= info['error_bound'] (docs/polynomial.md §3.3)."""
    if not isinstance(inst, AttentionInstance):
        raise InvalidInstance(f"inst: expected AttentionInstance, got {type(inst).__name__}")
    p, coef, buf = _setup(inst, ops, eps, degree, block_size, memory_budget)
    d, dv, g, b = p.d, p.dv, p.degree, p.block_rows
    V1 = ops.asarray(np.hstack([inst.V, np.ones((inst.nk, 1))]))
    M = _key_pass(ops, ops.asarray(inst.K.T), V1, g, coef, b, buf)
    out = ops.empty((inst.nq, dv))
    for lo, hi, Y in _query_blocks(ops, ops.asarray((inst.Q / d).T), M, g, b, buf):
        out[lo:hi] = Y[:, :dv] / Y[:, dv:]
    return out, _info(p)


def gradient_columns(inst: GradientInstance) -> np.ndarray:
    """X = [h, 1, A2 ⊗ h, A2] (nk × (d+1)(dv+1)): column a·dv + l of A2 ⊗ h is A2[:, a]·h[:, l] (docs/polynomial.md §3.4)."""
    A2, h = inst.A2, inst.h
    nk, d, dv = inst.nk, inst.d, inst.dv
    kron = (A2[:, :, None] * h[:, None, :]).reshape(nk, d * dv)
    return np.hstack([h, np.ones((nk, 1)), kron, A2])


def loss_gradient_poly(inst: GradientInstance, ops, *, eps=None, degree=None, block_size=None, memory_budget=None):
    """(g̃ ≈ ∂L/∂X as a backend d × d array, L̃, info), ‖g̃ − ∂L/∂X‖∞ <= info['error_bound'] (docs/polynomial.md §3.4).

    Per query row i, with Y_i = φ(q_i)·M: w_i = Y_i[1], S̃h_i = Y_i[h]/w_i, c_i = S̃h_i − E_i,
    r_i = ⟨c_i, S̃h_i⟩ and F_i[a] = Σ_l (c_il/w_i)·Y_i[A2_a h_l] − (r_i/w_i)·Y_i[A2_a];
    then g̃ = A1ᵀF/d. The loss L̃ = ½Σc² comes from the same approximate forward pass;
    info['loss_error_bound'] certifies |L̃ − L|.
    """
    if not isinstance(inst, GradientInstance):
        raise InvalidInstance(f"inst: expected GradientInstance, got {type(inst).__name__}")
    p, coef, buf = _setup(inst, ops, eps, degree, block_size, memory_budget)
    d, dv, g, b = p.d, p.dv, p.degree, p.block_rows
    M = _key_pass(ops, ops.asarray(inst.A2.T), ops.asarray(gradient_columns(inst)), g, coef, b, buf)
    A1 = ops.asarray(inst.A1)
    E = ops.asarray(inst.E)
    G, tmp = ops.zeros((d, d)), ops.empty((d, d))
    loss = 0.0
    k0, k1 = dv + 1, dv + 1 + d * dv
    for lo, hi, Y in _query_blocks(ops, ops.asarray((inst.A1X / d).T), M, g, b, buf):
        w = Y[:, dv : dv + 1]
        Sh = Y[:, :dv] / w
        c = Sh - E[lo:hi]
        r = (c * Sh).sum(1, keepdims=True)
        Ah = Y[:, k0:k1].reshape(hi - lo, d, dv)
        F = (Ah * (c / w)[:, None, :]).sum(2) - (r / w) * Y[:, k1:]
        matmul_sum(ops, A1[lo:hi].T, F, G, tmp, POLY_SUM_CHUNK, accumulate=True)
        loss += 0.5 * ops.sum_all(c * c)
    return G / d, loss, _info(p)
