"""Certified error bounds of the polynomial method and the choice of degree (MATH.md 3.1, 3.3, 3.4).

Chain of bounds, each proven in MATH.md:

1. the polynomial: |P(s) − eˢ| <= η·eˢ on [−R, R] (`exp_poly`);
2. floating point: the features cancel, adding δ = C_ROUND·(g+1)·u·ρ with
   ρ = Σ_j |a_j| R^j · e^R >= max_ij Σ_α |φ_α(q_i) ψ_α(k_j)| / e^{s_ij} (MATH.md 3.1);
3. normalization: Ã/A ∈ [1 − lo, 1 + hi] gives |S̃ − S| <= η'·S with η' = (lo + hi)/(1 − lo)
   (lo = hi = η + δ; one-sided P: lo = η + δ, hi = δ + its coefficient-rounding excess),
   which is MATH.md's 2η/(1−η) and η/(1−η) at δ = 0;
4. forward: ‖T − Att‖∞ <= η'‖V‖∞ (3.3); gradient: (nq/d)‖A1‖∞‖A2‖∞·P_err (3.4), with
   nq·‖A1‖∞ sharpened to the largest column sum max_a Σ_i |A1_ia| (Hölder, same proof).

Rounding model (the one assumption): C_ROUND = 8 is twice the 4(g+1) roundings a term
φ_α ψ_α picks up in the features and coefficients (proven to first order); the other half covers
the accumulation of the rank-r and key sums in blocked BLAS, whose typical error grows like √r·u,
not the worst case r·u. Sums that the exact engine also performs are, as there, taken as exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sethlab.attention import exp_poly
from sethlab.attention.exp_poly import ExpPoly
from sethlab.errors import CertificationError, InvalidInstance  # noqa: F401  (re-exported)

C_ROUND = 8
MAX_DEGREE = 400



def unit_roundoff(dtype_name: str = "float64") -> float:
    """u = 2^−53 (float64) or 2^−24 (float32)."""
    if dtype_name == "float64":
        return 2.0**-53
    if dtype_name == "float32":
        return 2.0**-24
    raise InvalidInstance(f"dtype: must be float64 or float32, got {dtype_name!r}")


def rounding_term(poly: ExpPoly, u: float) -> float:
    """δ = C_ROUND·(g+1)·u·Σ|a_j|R^j·e^R, the relative error rounding adds to U Wᵀ (MATH.md 3.1)."""
    if u == 0:
        return 0.0
    rho = poly.abs_sum() * exp_poly._exp(poly.R)
    return C_ROUND * (poly.degree + 1) * u * rho


def normalized_error(eta: float, delta: float, one_sided: bool, excess: float = 0.0) -> float:
    """η' with |S̃_ij − S_ij| <= η'·S_ij, or inf when Ã may vanish (MATH.md 3.3).

    Ã/A lies in [1 − lo, 1 + hi] with lo = η + δ and hi = η + δ, or hi = δ + excess for a
    one-sided P (P <= (1 + excess)eˢ).
    """
    lo = eta + delta
    hi = delta + excess if one_sided else eta + delta
    if lo >= 1:
        return math.inf
    return (lo + hi) / (1 - lo)


@dataclass(frozen=True)
class ForwardModel:
    """The forward bound ‖T − Att‖∞ <= η'·‖V‖∞ (MATH.md 3.3)."""

    bound_V: float

    kind = "forward"

    def bound(self, eta_prime: float) -> float:
        return eta_prime * self.bound_V if math.isfinite(eta_prime) else math.inf


@dataclass(frozen=True)
class GradientModel:
    """The gradient bound (1/d)·‖A1‖₁,col·‖A2‖∞·(3η'(Qmax + Δq) + 2Δq) (MATH.md 3.4), Cmax = ‖h‖∞ + ‖E‖∞.

    ‖A1‖₁,col = max_a Σ_i |A1_ia| <= nq·‖A1‖∞ (MATH.md's factor): entry (a, b) of A1ᵀ(p̃ − p)A2/d
    is at most (1/d)·Σ_i |A1_ia|·‖A2‖∞·Σ_j |p̃_ij − p_ij|, and every row's Σ_j is <= P_err.
    `col_l1_A1` = None uses nq·‖A1‖∞.
    """

    nq: int
    d: int
    dv: int
    bound_A1: float
    bound_A2: float
    bound_h: float
    bound_E: float
    col_l1_A1: float | None = None

    kind = "gradient"

    def bound(self, eta_prime: float) -> float:
        if not math.isfinite(eta_prime):
            return math.inf
        H = self.bound_h
        qmax = self.dv * (H + self.bound_E) * H
        dq = self.dv * eta_prime * H * H
        p_err = 3 * eta_prime * (qmax + dq) + 2 * dq
        rows = self.nq * self.bound_A1
        if self.col_l1_A1 is not None:
            rows = min(rows, self.col_l1_A1)
        return rows / self.d * self.bound_A2 * p_err

    def loss_bound(self, eta_prime: float) -> float:
        """|L̃ − L| <= nq·dv·η'·H·(H + ‖E‖∞): |c̃ − c| <= η'H and |c̃ + c| <= 2(H + ‖E‖∞) entrywise."""
        if not math.isfinite(eta_prime):
            return math.inf
        return self.nq * self.dv * eta_prime * self.bound_h * (self.bound_h + self.bound_E)


def required_eta_prime(model, eps: float) -> float:
    """The largest η' whose bound is <= eps (bisection on the monotone bound; inf if any η' works)."""
    if model.bound(1e300) <= eps:
        return math.inf
    lo, hi = 0.0, 1.0
    while model.bound(hi) <= eps:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if model.bound(mid) <= eps:
            lo = mid
        else:
            hi = mid
    return lo


@dataclass(frozen=True)
class Certificate:
    """A polynomial with its certified figures: η (polynomial), δ (rounding), η' and the final bound."""

    poly: ExpPoly
    eta: float
    rounding: float
    eta_prime: float
    error_bound: float


def certify(poly: ExpPoly, model, u: float) -> Certificate:
    """The certified bound of `model` when `poly` replaces exp, rounding included."""
    delta = rounding_term(poly, u)
    eta_p = normalized_error(poly.rel_error, delta, poly.one_sided, poly.excess)
    return Certificate(poly, poly.rel_error, delta, eta_p, model.bound(eta_p))


def at_degree(g: int, R: float, model, u: float) -> Certificate:
    """The family with the smallest certified bound at degree g (MATH.md 3.1: use whichever is best).

    u = 0 plans for exact arithmetic: exact-coefficient bounds and no rounding term.
    """
    kinds = [k for k in exp_poly.KINDS if exp_poly.available(k, g, R, exact_arithmetic=u == 0)] or ["taylor"]
    cands = [certify(exp_poly.build(k, g, R, exact_arithmetic=u == 0), model, u) for k in kinds]
    return min(cands, key=lambda c: c.error_bound)


def choose(R: float, model, u: float, eps: float, max_degree: int = MAX_DEGREE) -> Certificate:
    """The lowest degree (any family) whose certified bound is <= eps; CertificationError if none can be.

    u = 0 plans for exact arithmetic (the theorems' setting), with exact-coefficient bounds.

    Degrees rise until a family meets eps. The search stops early once the rounding term alone
    exceeds the η' that eps allows: higher degrees only add rounding (MATH.md 3.1).
    """
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
        raise InvalidInstance(f"eps: must be a positive finite number, got {eps!r}")
    need = required_eta_prime(model, eps)
    for g in range(max_degree + 1):
        best = None
        floor = math.inf
        for kind in exp_poly.KINDS:
            if u == 0:  # exact arithmetic (planning the theorems' setting): closed-form bounds only
                if not exp_poly.available(kind, g, R, exact_arithmetic=True):
                    continue
                eta = exp_poly.exact_arithmetic_bound(kind, g, R)
                if model.bound(normalized_error(eta, 0.0, exp_poly.ONE_SIDED[kind])) > eps:
                    continue  # build the polynomial (coefficients) only for a degree that meets eps
                c = certify(exp_poly.build(kind, g, R, exact_arithmetic=True), model, u)
            else:
                if not exp_poly.available(kind, g, R):
                    continue
                if kind == "chebyshev" and max(exp_poly.chebyshev_estimate(g, R), u * exp_poly._exp(2 * R)) / 4 > need:
                    continue  # cannot meet eps at this degree; skip the exact certificate
                c = certify(exp_poly.build(kind, g, R), model, u)
            floor = min(floor, normalized_error(0.0, c.rounding, True))
            if c.error_bound <= eps and (best is None or c.error_bound < best.error_bound):
                best = c
        if best is not None:
            return best
        if u > 0 and floor > need:
            raise CertificationError(
                f"eps: {eps:g} cannot be certified: at R = {R:.4g} the floating-point rounding term "
                f"{C_ROUND}(g+1)·u·Σ|a_j|R^j·e^R alone gives η' >= {floor:.3g} at degree {g}, above the "
                f"{need:.3g} that eps allows (MATH.md 3.1); use method='exact', float64, or a larger eps"
            )
    raise CertificationError(
        f"eps: {eps:g} needs a degree above {max_degree} at R = {R:.4g}; use method='exact' or a larger eps"
    )
