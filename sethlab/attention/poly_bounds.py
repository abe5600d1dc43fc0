"""Certified error bounds of the polynomial method and the choice of degree (docs/polynomial.md §3.1, §3.3, §3.4; docs/rounding.md).

The polynomial engine fits the row model of `rounding` (docs/rounding.md, "Polynomial engine"):

1. weights: w̃_ij = P(ŝ_ij) with |P(s) − eˢ| <= η·eˢ on [−R, R] (`exp_poly`, float coefficients),
   at the scores ŝ of the stored queries A1X (within γ_d·R_abs of the exact ones), so
   |Ŝ − S| <= η_S·S with η_S from lo = 1 − (1 − η)e^{−e_x}, hi = (1 + η⁺)e^{e_x} − 1;
2. rounding: every term c_α x^α k^α X_jc of the feature sums carries at most
   K = r + (key-pass sum roundings) + 7g + 3 roundings (features, coefficients, casts, both
   products), so each value, row and gradient sum is perturbed per term by at most
   δ = γ_K·Σ_j |a_j| R_t^j · e^R/(1 − η), relative to P(ŝ) >= (1 − η)e^{−R} (R_t >= ⟨|x|,|k|⟩/d);
3. the row model then gives the forward and gradient bounds (`rounding.forward_error`,
   `rounding.gradient_error`), which reduce to docs/polynomial.md §3.3/3.4 at u = 0.

`dtype=None` plans for exact arithmetic (the theorems' setting): no rounding at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from sethlab.attention import exp_poly
from sethlab.attention.blocks import POLY_SUM_CHUNK
from sethlab.attention.exp_poly import ExpPoly
from sethlab.attention.features import rank
from sethlab.attention.rounding import (
    SUBNORMAL,
    RowModel,
    Scales,
    forward_error,
    gamma,
    gradient_error,
    least_sum_roundings,
    rel,
    sum_roundings,
    unit_roundoff,  # noqa: F401  (re-exported)
)
from sethlab.errors import CertificationError, InvalidInstance  # noqa: F401  (re-exported)

MAX_DEGREE = 400

# A layout maps a rank r to the rows per block of the engine's passes (the key pass sums nk
# rows in blocks of that size, the gradient sums A1ᵀF over query blocks of that size).
Layout = Callable[[int], int]


@dataclass(frozen=True)
class Certificate:
    """A polynomial with its certified figures (docs/rounding.md, "Polynomial engine").

    eta: relative error of P; rounding: δ, the per-term rounding of the feature sums; eta_S: the
    weights' relative error (η and the stored queries' rounding); error_bound: certified
    ‖result − exact‖∞; loss_error_bound: certified |L̃ − L| (gradient only).
    """

    poly: ExpPoly
    eta: float
    rounding: float
    eta_S: float
    error_bound: float
    loss_error_bound: float | None
    block_rows: int

    @property
    def eta_prime(self) -> float:
        """η_S under its docs/polynomial.md §3.3 name η' (|S̃ − S| <= η'·S)."""
        return self.eta_S


def normalized_error(lo: float, hi: float) -> float:
    """η_S with |Ŝ − S| <= η_S·S when every weight's ratio to eˢ lies in [1 − lo, 1 + hi] (docs/polynomial.md §3.3)."""
    if not lo < 1:
        return math.inf
    return (lo + hi) / (1 - lo)


def _weights_error(eta: float, above: float, e_x: float) -> float:
    """η_S of weights P(ŝ) with P/eˢ in [1 − eta, 1 + above] at scores ŝ within e_x of the exact ones."""
    lo = 1 - (1 - eta) * math.exp(-e_x)
    hi = (1 + above) * math.exp(e_x) - 1 if e_x < 700 else math.inf
    return normalized_error(lo, hi)


def _u(dtype: str | None) -> float:
    return 0.0 if dtype is None else unit_roundoff(dtype)


def term_roundings(g: int, r: int, nk: int, rows: int) -> int:
    """K: roundings of one term c_α x^α k^α X_jc of a feature sum (docs/rounding.md, "Polynomial engine").

    query monomial 3g − 1 (x/d and its cast per coordinate, g − 1 products), key monomial 2g − 1
    (cast, products), coefficient 2g + 2 (multinomial table, a_j times it, cast), column value 2,
    M ← coef·M 1, the key pass over nk rows in blocks of `rows` and chunks of POLY_SUM_CHUNK, the
    query pass over the rank r in chunks of POLY_SUM_CHUNK.
    """
    return (sum_roundings(r, POLY_SUM_CHUNK) + sum_roundings(nk, POLY_SUM_CHUNK, rows) + 7 * g + 3)


def _log_underflow_reach(poly: ExpPoly, sc: Scales) -> float:
    """log Ω, Ω >= the product of the factors that can multiply any intermediate of a feature term.

    A term is c_α·(x/d)^α·k^α·X_jc with |c_α| <= |a_j|·d^j, |x/d| <= Bx, |k| <= Bk, |X_jc| <= max(H, αH):
    an error committed in any intermediate (an underflow) reaches the term multiplied by at most Ω.
    """
    bx = max(1.0, sc.max_input / max(1, sc.d))
    bk = max(1.0, sc.alpha)
    logs = [math.log(abs(a)) + j * (math.log(max(1, sc.d)) + math.log(bx) + math.log(bk))
            for j, a in enumerate(poly.coeffs) if a]
    return max(logs, default=0.0) + math.log(max(1.0, sc.H, sc.alpha * sc.H))


def certify(poly: ExpPoly, sc: Scales, dtype: str | None, layout: Layout) -> Certificate:
    """The certified bound of the engine in `dtype` (None: exact arithmetic) when `poly` replaces exp."""
    g = poly.degree
    r = rank(sc.d, g)
    rows = layout(r)
    eta = poly.rel_error
    R = sc.R
    u = _u(dtype)
    if dtype is None:
        e_x = delta = under = 0.0
    else:
        e_x = gamma(sc.query_roundings, u) * sc.R_abs
        R_t = sc.R_abs * (1 + gamma(sc.query_roundings, u))
        K = term_roundings(g, r, sc.nk, rows)
        lead = poly.abs_sum(R_t) * (math.exp(R) if R < 700 else math.inf)
        delta = gamma(K, u) * lead / (1 - eta) if eta < 1 else math.inf
        lam = SUBNORMAL[dtype]
        log_reach = _log_underflow_reach(poly, sc) + math.log(r * (7 * g + 4)) + R
        under = 4 * lam * math.exp(log_reach) / (1 - eta) if eta < 1 and log_reach < 700 else math.inf
    eta_S = _weights_error(eta, poly.excess if poly.one_sided else eta, e_x)
    if sc.kind == "forward":
        row = RowModel(eta_S, delta, delta, delta, 1, under_values=under * (1 + sc.H))
        return Certificate(poly, eta, delta, eta_S, forward_error(sc, row, u), None, rows)
    delta_F = rel(delta, gamma(sc.dv + 2, u), delta / (1 - delta) if delta < 1 else math.inf)
    row = RowModel(eta_S, delta, delta, delta_F, 1, under_values=under * (1 + sc.H),
                   under_grad=under * (1 + sc.alpha) * (1 + 4 * sc.dv * (sc.H + sc.E) * sc.H))
    grad, loss = gradient_error(sc, row, u, sum_roundings(sc.nq, POLY_SUM_CHUNK, rows))
    return Certificate(poly, eta, delta, eta_S, grad, loss, rows)


def overflow_checks(poly: ExpPoly, sc: Scales, rank_r: int) -> dict:
    """The magnitudes of the feature sums, for `rounding.check_range` (inf when they overflow)."""
    log_reach = _log_underflow_reach(poly, sc) + math.log(max(1, rank_r) * max(1, sc.nk))
    return {"feature sums": math.exp(log_reach) if log_reach < 709 else math.inf}


def _floor(g: int, sc: Scales, dtype: str) -> float:
    """A lower bound on the certified bound of every polynomial of degree >= g (any family, any layout).

    δ >= γ_K·|P(R)|·e^R/(1 − η) >= γ_K·e^{2R}; K >= sum_roundings(r, chunk) + min(nk, 2√nk) + 7g + 3
    for every block size; the bound grows with δ, η_S and K, and r and g grow with the degree.
    """
    u = _u(dtype)
    r = rank(sc.d, g)
    K = sum_roundings(r, POLY_SUM_CHUNK) + least_sum_roundings(sc.nk) + 7 * g + 3
    delta = gamma(K, u) * (math.exp(2 * sc.R) if sc.R < 350 else math.inf)
    e_x = gamma(sc.query_roundings, u) * sc.R_abs
    eta_S = normalized_error(1 - math.exp(-e_x), math.expm1(e_x) if e_x < 700 else math.inf)
    if sc.kind == "forward":
        return forward_error(sc, RowModel(eta_S, delta, delta, delta, 1), u)
    delta_F = rel(delta, gamma(sc.dv + 2, u))
    return gradient_error(sc, RowModel(eta_S, delta, delta, delta_F, 1), u, least_sum_roundings(sc.nq))[0]


def at_degree(g: int, sc: Scales, dtype: str | None, layout: Layout) -> Certificate:
    """The family with the smallest certified bound at degree g (docs/polynomial.md §3.1: use whichever is best).

    dtype=None plans for exact arithmetic: exact-coefficient bounds and no rounding term.
    """
    exact = dtype is None
    kinds = [k for k in exp_poly.KINDS if exp_poly.available(k, g, sc.R, exact_arithmetic=exact)] or ["taylor"]
    cands = [certify(exp_poly.build(k, g, sc.R, exact_arithmetic=exact), sc, dtype, layout) for k in kinds]
    return min(cands, key=lambda c: c.error_bound)


def choose(sc: Scales, dtype: str | None, eps: float, layout: Layout, max_degree: int = MAX_DEGREE) -> Certificate:
    """The lowest degree (any family) whose certified bound is <= eps; CertificationError if none can be.

    Degrees rise until a family meets eps. The search stops once the rounding floor alone (what
    any polynomial of that or a higher degree must pay) exceeds eps (docs/polynomial.md §3.1).
    """
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
        raise InvalidInstance(f"eps: must be a positive finite number, got {eps!r}")
    R = sc.R
    for g in range(max_degree + 1):
        if dtype is not None:
            floor = _floor(g, sc, dtype)
            if floor > eps:
                raise CertificationError(
                    f"eps: {eps:g} cannot be certified in floating point: at R = {R:.4g} the worst-case rounding of "
                    f"degree {g} and above (rank {rank(sc.d, g)}, {sc.nk} keys) alone gives a bound of "
                    f"{floor:.3g} (docs/rounding.md); use method='exact', float64, or a larger eps"
                )
        best = None
        for kind in exp_poly.KINDS:
            if dtype is None:  # exact arithmetic (planning the theorems' setting): closed-form bounds only
                if not exp_poly.available(kind, g, R, exact_arithmetic=True):
                    continue
                eta = exp_poly.exact_arithmetic_bound(kind, g, R)
                if eta >= 1 or _exact_arith_bound(sc, eta, exp_poly.ONE_SIDED[kind]) > eps:
                    continue  # build the polynomial (coefficients) only for a degree that meets eps
                c = certify(exp_poly.build(kind, g, R, exact_arithmetic=True), sc, None, layout)
            else:
                if not exp_poly.available(kind, g, R):
                    continue
                if kind == "chebyshev" and _exact_arith_bound(sc, exp_poly.chebyshev_estimate(g, R) / 4, False) > eps:
                    continue  # cannot meet eps at this degree; skip the exact certificate
                c = certify(exp_poly.build(kind, g, R), sc, dtype, layout)
            if c.error_bound <= eps and (best is None or c.error_bound < best.error_bound):
                best = c
        if best is not None:
            return best
    raise CertificationError(
        f"eps: {eps:g} needs a degree above {max_degree} at R = {R:.4g}; use method='exact' or a larger eps"
    )


def _exact_arith_bound(sc: Scales, eta: float, one_sided: bool) -> float:
    """The bound in exact arithmetic for a polynomial of relative error eta (no rounding, no coefficients)."""
    if not eta < 1:
        return math.inf
    eta_S = normalized_error(eta, 0.0 if one_sided else eta)
    row = RowModel(eta_S, 0.0, 0.0, 0.0, 1)
    if sc.kind == "forward":
        return forward_error(sc, row, 0.0)
    return gradient_error(sc, row, 0.0)[0]

