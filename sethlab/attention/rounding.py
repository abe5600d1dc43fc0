"""Worst-case floating-point error bounds of the attention engines (docs/rounding.md).

Every bound here is proven in the standard model fl(a ∘ b) = (a ∘ b)(1 + δ),
|δ| <= u, for every input and every summation order: a length-n inner product
in any order (so whatever blocking a BLAS uses) satisfies |fl(xᵀy) − xᵀy| <=
γ_n |x|ᵀ|y|, γ_n = n·u/(1 − n·u) (Higham, Accuracy and Stability of Numerical
Algorithms, 2nd ed., §3.1). Nothing is fitted to measurements. Two things are
assumed and measured by the tests: exp, cos and sin of numpy and torch are
within `ULPS` units in the last place, and results that underflow commit an
absolute error of at most the subnormal spacing (added as explicit terms).

Both engines (exact, docs/problems.md §2.2; polynomial, docs/polynomial.md §3) are analysed through
one *row model* (docs/rounding.md, "Row model"): per query row the engine's
output equals the exact formula evaluated with softmax weights Ŝ_ij,
|Ŝ_ij − S_ij| <= η_S·S_ij, with per-term relative perturbations δ_N, δ_l and δ_F
in its value sums, row sums and gradient sums, followed by a few roundings.
`forward_error` and `gradient_error` turn such a model into the bound on
‖result − exact‖∞; `exact_rows` and (in poly_bounds) the polynomial engine
supply the model parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sethlab.attention.blocks import EXACT_SUM_CHUNK
from sethlab.attention.instances import AttentionInstance, row_stats, score_range, score_range_from
from sethlab.errors import InvalidInstance

UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24}
SUBNORMAL = {"float64": 2.0**-1074, "float32": 2.0**-149}  # spacing of subnormal numbers
LARGEST = {"float64": float(np.finfo(np.float64).max), "float32": float(np.finfo(np.float32).max)}
# Assumed accuracy of exp, cos and sin in numpy and torch (CPU and CUDA), in ulps of the result.
# Measured (tests/attention/test_elementary_ulps.py, 10^6+ arguments against long double):
# numpy float64 exp 0.70, float32 exp 2.36; torch float64 0.52, float32 0.56; numpy cos/sin 0.52.
# CUDA documents <= 1 ulp (double exp) and <= 2 ulp (expf).
ULPS = 4.0
# Relative slack for evaluating a bound formula itself in float64: every formula here is a sum
# and product of at most a few thousand non-negative numbers, so its computed value is within
# γ_4000 < 1e-12 of the exact value of the formula.
EVAL_SLACK = 1e-12


def unit_roundoff(dtype: str = "float64") -> float:
    """u = 2^−53 (float64) or 2^−24 (float32)."""
    if dtype not in UNIT_ROUNDOFF:
        raise InvalidInstance(f"dtype: must be float64 or float32, got {dtype!r}")
    return UNIT_ROUNDOFF[dtype]


def gamma(k: float, u: float) -> float:
    """γ_k = k·u/(1 − k·u), inf once k·u >= 1/2 (the bound is then not informative)."""
    ku = k * u
    return ku / (1 - ku) if ku < 0.5 else math.inf


def rel(*parts: float) -> float:
    """Π(1 + x) − 1: relative perturbations composed."""
    out = 1.0
    for x in parts:
        out *= 1 + x
    return out - 1 if math.isfinite(out) else math.inf


def upper(x, k: int = 64):
    """x (a float or an array) inflated past the rounding of k float64 operations on non-negative numbers."""
    return x * (1 + 2 * (k + 2) * 2.0**-53)


def sum_roundings(n: int, chunk: int | None = None, block: int | None = None) -> int:
    """Roundings a term of a length-n product-sum picks up, its product included (docs/rounding.md, "Sums").

    The n terms come in blocks of `block` (None: one block), each block as products over chunks of
    at most `chunk` terms (None: the whole block), every product accumulated in order into one sum
    (`blocks.matmul_sum`). A term then sees at most (chunk length) roundings inside its BLAS product,
    whatever order the BLAS uses, plus one per later accumulation: at most c + (number of products).
    A single product of length n: n.
    """
    n = int(n)
    b = n if block is None else max(1, min(int(block), n))
    c = b if chunk is None else max(1, min(int(chunk), b))
    full, rest = divmod(n, b)
    steps = full * -(-b // c) + (-(-rest // c) if rest else 0)
    return n if steps <= 1 else c + steps


def least_sum_roundings(n: int) -> int:
    """A lower bound on `sum_roundings(n, b)` over every block size b: min(n, ⌈2√n⌉) (b + n/b >= 2√n)."""
    n = int(n)
    return min(n, math.ceil(2 * math.sqrt(n)))


def _exp(x: float) -> float:
    return math.exp(x) if x < 709 else math.inf


def _div(a: float, b: float) -> float:
    """a / (1 − b) for a relative b, inf once b >= 1."""
    return a / (1 - b) if b < 1 else math.inf


# ---------------------------------------------------------------- instance scales


@dataclass(frozen=True)
class Scales:
    """A-priori magnitudes of one instance, each an upper bound (docs/rounding.md, "Instance scales").

    `R_abs` bounds Σ_k |x_ik||k_jk|/d with |x| <= |A1||X| (gradient) or |Q| (forward), so also every
    exact score; `R` bounds the scores of the stored queries (A1X as computed, or Q);
    `query_roundings` (d, or 0) and `value_roundings` (m, or 0) count the float64 roundings in the
    stored A1X = A1·X and h = A3·Y; `H` bounds |h| (or |V|), `E` |E|, `alpha` |A2| (or |K|),
    `L1` the largest column sum Σ_i |A1_ia|, `span_V` the largest spread max_j V_jl − min_j V_jl.
    """

    kind: str
    nq: int
    nk: int
    d: int
    dv: int
    m: int
    R_abs: float
    R: float
    query_roundings: int
    value_roundings: int
    H: float
    E: float
    alpha: float
    L1: float
    span_V: float
    max_input: float


def scales(inst) -> Scales:
    """The `Scales` of an AttentionInstance or GradientInstance (O((nq + nk)·d²) work, cached on the instance).

    Magnitudes beyond float64 come out as inf (and `check_range` refuses them).
    """
    cached = inst.__dict__.get("_rounding_scales")
    if cached is not None:
        return cached
    with np.errstate(over="ignore", invalid="ignore"):
        sc = _scales(inst)
    inst.__dict__["_rounding_scales"] = sc
    return sc


def _scales(inst) -> Scales:
    if isinstance(inst, AttentionInstance):
        aq, ak = np.abs(inst.Q), np.abs(inst.K)
        V = inst.V
        spread = float((V.max(axis=0) - V.min(axis=0)).max())
        sc = Scales("forward", inst.nq, inst.nk, inst.d, inst.dv, inst.dv, score_range(aq, ak), inst.score_range,
                    0, 0, inst.bound_V, 0.0, inst.bound_K, float(aq.sum(axis=0).max()), upper(spread, 4),
                    max(inst.bound_Q, inst.bound_K, inst.bound_V))
    else:
        d, m = inst.d, inst.m
        lam = inst.X_scalar
        if lam is None:
            a1x = upper(inst.abs_A1 @ np.abs(inst.X), d)  # >= |A1||X| entrywise (d-term sums of non-negatives)
            r_abs = score_range_from(row_stats(a1x, nonnegative=True), inst.key_stats, d)
            r, a1x_max = inst.score_range, inst.bound_A1X
        else:
            # X = λI: |A1||X| = |λ||A1| and the stored A1X = fl(λ·A1) entrywise (the other d − 1 terms of each
            # sum are exact zeros), so |A1X| <= (1 + u)|λ||A1|: both score ranges are |λ| times |A1|'s, raised
            # past that product and the entry rounding (docs/rounding.md, "Instance scales")
            base = score_range_from(inst.abs_A1_stats, inst.key_stats, d)
            lam_sub = SUBNORMAL["float64"]  # the product |λ|·base may underflow
            r_abs, r = upper(abs(lam) * base, 2) + lam_sub, upper(abs(lam) * base, 3) + lam_sub
            a1x_max = upper(abs(lam) * inst.bound_A1, 3) + lam_sub
        hbar = upper(inst.abs_h_max, m)
        sc = Scales("gradient", inst.nq, inst.nk, d, inst.dv, m, r_abs, r, d, m, hbar, inst.bound_E, inst.bound_A2,
                    upper(inst.col_l1_A1, inst.nq), 2 * hbar, max(a1x_max, inst.bound_A2, inst.bound_A1, hbar,
                                                                  inst.bound_E))
    return sc


def check_range(sc: Scales, dtype: str, extra: dict | None = None) -> None:
    """Refuse, before computing, an instance whose intermediate values could overflow `dtype` (docs/rounding.md).

    The exact engine never forms exp of a positive number; what can overflow are the scores, the
    value sums and the gradient's products. Each a-priori magnitude must stay below a quarter of
    the largest finite number.
    """
    limit = LARGEST[dtype] / 4
    u = UNIT_ROUNDOFF[dtype]
    H = sc.H * (1 + gamma(sc.value_roundings + 1, u))
    checks = {
        "input entries": sc.max_input,
        "scores": 2 * sc.R_abs * (1 + gamma(sc.d + sc.query_roundings + 3, u)),
        "value sums": sc.nk * H,
    }
    if sc.kind == "gradient":
        C = H + sc.E
        q = sc.dv * C * H * 2
        checks.update({"gradient terms": sc.nk * sc.alpha * q + sc.L1 * sc.alpha * q, "loss": sc.nq * sc.dv * C * C})
    checks.update(extra or {})
    for what, value in checks.items():
        if not (value < limit):
            size = "overflow even float64" if not math.isfinite(value) else f"reach {value:.3g}"
            raise InvalidInstance(
                f"instance: its {what} {size}, beyond what {dtype} holds ({LARGEST[dtype]:.3g}) with room for "
                f"the computation; scale the entries down (nothing was computed)"
            )


# ---------------------------------------------------------------- the row model


@dataclass(frozen=True)
class RowModel:
    """Per-row perturbations of an engine (docs/rounding.md, "Row model").

    eta_S:   |Ŝ_ij − S_ij| <= eta_S·S_ij for the weights both sums use;
    delta_N: per-term relative error of the value sums Σ_j Ŝ_ij h_jl (the stored h, cast, summed);
    delta_l: that of the row sums Σ_j Ŝ_ij;
    delta_F: that of the gradient sums Σ_j Ŝ_ij A2_jb (q̂_ij − r̂_i), relative to Σ_j Ŝ|A2|(|ĉ||ĥ| + |r̂|);
    div:     roundings of the normalization (1: one division; 2: a reciprocal, then a product);
    under:   absolute underflow terms (forward output; gradient: the value sums and p-sums).
    """

    eta_S: float
    delta_N: float
    delta_l: float
    delta_F: float
    div: int
    under_values: float = 0.0
    under_grad: float = 0.0


def forward_error(sc: Scales, row: RowModel, u: float) -> float:
    """Certified ‖T̂ − Att(Q, K, V)‖∞ of an engine described by `row` (docs/rounding.md, "Forward")."""
    v = sc.H
    dl = _div(row.delta_l, row.delta_l)  # 1/(1 + ω) − 1 with |ω| <= δ_l
    k = gamma(row.div, u)
    main = v * (rel(row.eta_S, row.delta_N) * (1 + k) * (1 + dl) + rel(k, dl)) + row.under_values
    # both T and the computed convex combination lie in [min V, max V]: never more than the spread
    cap = sc.span_V + v * (row.delta_N * (1 + k) * (1 + dl) + rel(k, dl)) + row.under_values
    return upper(min(main, cap), 200) * (1 + EVAL_SLACK)


_SUBNORMAL_OF_U = {UNIT_ROUNDOFF[k]: SUBNORMAL[k] for k in UNIT_ROUNDOFF}


def _subnormal(u: float) -> float:
    """The subnormal spacing λ of the precision whose unit roundoff is u (0 in exact arithmetic, u = 0)."""
    return _SUBNORMAL_OF_U.get(u, 0.0)


def gradient_error(sc: Scales, row: RowModel, u: float, k_rows: int | None = None) -> tuple[float, float]:
    """(certified ‖ĝ − ∂L/∂X‖∞, certified |L̂ − L|) for an engine described by `row` (docs/rounding.md, "Gradient").

    `k_rows` counts the roundings of a term of A1ᵀF, a sum over the nq query rows (the engines
    accumulate it block by block: `sum_roundings(nq, chunk, block)`; default nq).
    """
    nq, d, dv = sc.nq, sc.d, sc.dv
    H = sc.H
    dh = gamma(sc.value_roundings, u) * H  # |ĥ − h| for the stored h = fl(A3·Y)
    Hh = H + dh  # >= |ĥ|
    E = sc.E
    C = H + E  # >= |c|
    Q = dv * C * H  # >= |q_ij|, |r_i|
    alpha = sc.alpha
    k_div = gamma(row.div, u)
    inv = _div(row.delta_l, row.delta_l)
    delta1 = rel(row.delta_N, k_div, inv)
    e_a = dh + rel(row.eta_S, delta1) * Hh + row.under_values  # |Sh − S·h| per entry
    e_c = e_a + u * E + u * (H + e_a + (1 + u) * E)  # |ĉ − c|
    Cb = C + e_c
    g_dv = gamma(dv, u)
    e_r = g_dv * dv * Cb * (H + e_a) + dv * (e_c * (H + e_a) + C * e_a)  # |r̂ − r|
    e_q = dv * (e_c * Hh + C * dh)  # |q̂ − q|
    Rb = Q + e_r
    Qh = dv * Cb * Hh
    p_err = row.eta_S * (Qh + Rb) + e_q + e_r + row.delta_F * (1 + row.eta_S) * (Qh + Rb)
    f_err = alpha * p_err + row.under_grad  # |F̂_ib − F_ib|, F = p·A2
    k_g = gamma((nq if k_rows is None else k_rows) + 1, u)  # A1 cast, then the blocked sum over query rows
    lam = _subnormal(u)
    # underflow: each of the nq products A1_ia·F̂_ib may lose up to λ/2 (<= λ after the sum's growth),
    # and the division by d another λ/2; relative terms alone vanish when the entries are tiny
    grad = (sc.L1 * (f_err + k_g * (2 * alpha * Q + f_err)) * (1 + u) + u * sc.L1 * alpha * 2 * Q
            + 2 * nq * lam) / d + lam
    n_c = nq * dv
    # likewise the n_c squares c·c and at most nq halvings (one a block) may each lose λ/2
    loss = 0.5 * n_c * (e_c * (2 * C + e_c) + gamma(n_c + 1, u) * Cb * Cb) + (n_c + nq) * lam
    return upper(grad, 200) * (1 + EVAL_SLACK), upper(loss, 50) * (1 + EVAL_SLACK)


# ---------------------------------------------------------------- the exact engine


# Scores within ±SHIFT_FREE of 0 are exponentiated without the shift by the row maximum: every weight exp(ŝ)
# is then a normal number (e^-650 > 10^-283, e^-60 > 10^-27), with room for the sums (`shift_free`).
SHIFT_FREE = {"float64": 650.0, "float32": 60.0}


def score_rounding(sc: Scales, u: float) -> float:
    """e_s: every computed score ŝ = fl(fl(x̂/d)·k) of the exact engine is within this of the exact one."""
    return gamma(sc.d + 3 + sc.query_roundings, u) * sc.R_abs


def score_reach(sc: Scales, u: float) -> float:
    """A bound on every computed score |ŝ| of the exact engine: R_abs plus its rounding e_s."""
    return sc.R_abs + score_rounding(sc, u)


def shift_free(sc: Scales, dtype: str) -> bool:
    """Whether the exact engine may skip the row-maximum shift for this instance (docs/rounding.md, "Exact engine").

    Every |ŝ| <= SHIFT_FREE[dtype], and every unnormalized sum and scaled residual (at most nk·e^|ŝ|
    times the values, keys and residual products) stays below a quarter of the largest float."""
    u = UNIT_ROUNDOFF[dtype]
    reach = score_reach(sc, u)
    if not reach <= SHIFT_FREE[dtype]:
        return False
    # sums of up to nk weights of e^reach times values or keys; residuals scaled by 1/l <= e^reach
    grow = 2 * _exp(reach) * sc.nk * max(1.0, sc.H, sc.alpha) * max(1.0, sc.H + sc.E, 2 * sc.dv * (sc.H + sc.E) * sc.H)
    return grow < LARGEST[dtype] / 4


def exact_rows(sc: Scales, u: float, lam: float, chunk: int = EXACT_SUM_CHUNK, groups: int = 0,
               shifted: bool = True) -> RowModel:
    """The row model of the streaming exact engine (docs/problems.md §2.2; docs/rounding.md, "Exact engine").

    Scores ŝ = fl(fl(x̂/d)·k) carry γ_{d+3} (plus the stored A1X's γ_d); the shift by the row
    maximum rounds once (|ŝ − m̂| <= 2 max|ŝ|); exp is within ULPS ulps. Value and row sums are
    chunked products of length nk; the gradient's p_ij = ŵ_ij·Ẑ_ij with Ẑ a length-(dv+1)
    product of reciprocal-scaled residuals. The grouped gradient pass (`groups` = G > 0 groups of
    equal value rows) adds G roundings to each sum and G underflow terms (docs/rounding.md, "Grouped keys").
    Without the shift (`shifted=False`, only where `shift_free`) the subtraction's rounding is gone and the
    row sum is at least the row maximum's weight, e^−(R_abs + e_s).
    """
    nk, dv = sc.nk, sc.dv
    e_s = score_rounding(sc, u)
    span = 2 * (sc.R_abs + e_s) if shifted else 0.0
    eta_w = _exp(e_s + u * span) * (1 + 2 * ULPS * u) - 1
    eta_S = _div(2 * eta_w, eta_w) if eta_w < 1 else math.inf
    k_nk = sum_roundings(nk, chunk) + groups
    delta_l = gamma(k_nk, u)
    delta_N = gamma(k_nk + 1, u)
    delta_F = rel(gamma(k_nk + dv + 6, u), _div(delta_l, delta_l))
    # underflow: a weight below the smallest normal number errs by <= ULPS·λ, a product by <= λ;
    # the row sum is >= 1 − 2·ULPS·u (the row maximum's weight), at most nk (+ G) such terms per sum
    w_min = (1 - 2 * ULPS * u) * (1.0 if shifted else math.exp(-score_reach(sc, u)))
    Hh = sc.H * (1 + gamma(sc.value_roundings + 1, u))
    under_values = 2 * (nk + groups) * lam * (ULPS * Hh + 1) / w_min + lam
    Q = dv * (Hh + sc.E) * Hh * 4
    under_grad = 2 * (nk + groups) * lam * (ULPS * Q + 2) * sc.alpha / w_min + 2 * (nk + groups) * lam
    if groups:  # the grouped pass scales its sums Σ ŵ·A2 by z_g <= Q/l afterwards: their underflow grows with it
        under_grad += (nk + groups) * lam * Q / w_min
    return RowModel(eta_S, delta_N, delta_l, delta_F, 1 if sc.kind == "forward" else 2, under_values, under_grad)


def exact_forward_bound(inst, dtype: str = "float64", chunk: int = EXACT_SUM_CHUNK, shifted: bool = True) -> float:
    """Certified ‖fl(T) − Att(Q, K, V)‖∞ of the exact engine in `dtype` (shifted: whether it subtracted the row maxima)."""
    sc = scales(inst)
    u = unit_roundoff(dtype)
    return forward_error(sc, exact_rows(sc, u, SUBNORMAL[dtype], chunk, shifted=shifted), u)


def exact_gradient_bound(inst, dtype: str = "float64", chunk: int = EXACT_SUM_CHUNK,
                         rows_block: int | None = None, groups: int = 0, shifted: bool = True) -> tuple[float, float]:
    """(certified ‖fl(g) − ∂L/∂X‖∞, certified |fl(L) − L|) of the exact engine in `dtype` (rows_block: query rows
    per block; groups: the grouped pass's groups of equal value rows, 0 for the ungrouped pass; shifted:
    whether it subtracted the row maxima)."""
    sc = scales(inst)
    u = unit_roundoff(dtype)
    row = exact_rows(sc, u, SUBNORMAL[dtype], chunk, groups, shifted)
    g, loss = gradient_error(sc, row, u, sum_roundings(sc.nq, block=rows_block))
    return g + SUBNORMAL[dtype] * (sc.nq + 2), loss + SUBNORMAL[dtype] * sc.nq * sc.dv
