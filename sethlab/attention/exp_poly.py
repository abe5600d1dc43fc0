"""Polynomials for exp with a certified relative error on [−R, R] (docs/polynomial.md §3.1).

Three families, each with a *proven* bound on sup |P(s) − eˢ| / eˢ for the
float64 coefficients actually used:

- ``taylor``: T_g(s) = Σ sʲ/j!; bound e^R·R^{g+1}/(g+1)! (Lagrange remainder),
  plus u·e^{2R} for rounding the coefficients 1/j!.
- ``shifted_taylor``: e^{−R}·T_g(s + R), one-sided (P <= eˢ up to the coefficient
  rounding, stated as `excess`); bound: the exact
  worst case 1 − e^{−2R}T_g(2R) (a Poisson tail, computed term by term and
  rounded up), capped by (2R)^{g+1}/(g+1)!, plus γ_{max(g+3, 5)}·e^{2R} for the
  coefficient rounding (coefficients from exact rationals, <= 4 roundings each).
- ``chebyshev``: the truncated Chebyshev series of eˢ (Bessel coefficients),
  converted to monomials exactly and certified by `certify_relative_error`
  (exact arithmetic on the stored coefficients; no sampling).

Every bound below 1 also proves P > 0 on [−R, R] (P >= (1 − η)eˢ); for odd g plain
Taylor has a real root, and its bound then exceeds 1 wherever the root is in range.
`exact_arithmetic_bound` gives the closed forms for exact coefficients (planning only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np

from sethlab.errors import InvalidInstance

KINDS = ("taylor", "shifted_taylor", "chebyshev")
ONE_SIDED = {"taylor": False, "shifted_taylor": True, "chebyshev": False}
UNIT_ROUNDOFF = 2.0**-53
# Tails of the exact-arithmetic certificate are pushed below this (absolute, relative-error units).
_CERT_TAIL = 1e-40
# `chebyshev` is built up to this degree (exact arithmetic grows as degree²) and score range
# (beyond it u·e^{2R} > 1e39: nothing is certifiable in floating point anyway).
CHEBYSHEV_MAX_DEGREE = 80
CHEBYSHEV_MAX_R = 64.0
# Float coefficients are offered up to this degree: 1/170! is the last normal float64 reciprocal factorial.
FLOAT_MAX_DEGREE = 170


@dataclass(frozen=True)
class ExpPoly:
    """P(s) = Σ_j coeffs[j]·sʲ with |P(s) − eˢ| <= rel_error·eˢ on [−R, R] (docs/polynomial.md §3.1)."""

    kind: str
    degree: int
    R: float
    coeffs: tuple
    rel_error: float
    one_sided: bool
    excess: float = 0.0  # one-sided only: P(s) <= (1 + excess)·eˢ (coefficient rounding)

    def __call__(self, s):
        """P(s) by Horner's rule (numpy, any shape)."""
        s = np.asarray(s, dtype=np.float64)
        out = np.zeros_like(s)
        for a in reversed(self.coeffs):
            out = out * s + a
        return out

    def abs_sum(self, t: float | None = None) -> float:
        """Σ_j |a_j|·tʲ (t = R by default): the size of the terms ⟨φ, ψ⟩ adds up (docs/polynomial.md §3.1 rounding)."""
        t = self.R if t is None else t
        try:
            return float(sum(abs(a) * t**j for j, a in enumerate(self.coeffs)))
        except OverflowError:
            return math.inf


def _check(g, R):
    if isinstance(g, bool) or not isinstance(g, (int, np.integer)) or g < 0:
        raise InvalidInstance(f"degree: must be a non-negative integer, got {g!r}")
    if not (isinstance(R, (int, float, np.floating)) and math.isfinite(R) and R >= 0):
        raise InvalidInstance(f"R: the score range must be a finite number >= 0, got {R!r}")
    return int(g), float(R)


def _log_pow_over_fact(x: float, k: int) -> float:
    """ln(x^k / k!), −inf for x = 0 < k."""
    if x == 0:
        return 0.0 if k == 0 else -math.inf
    return k * math.log(x) - math.lgamma(k + 1)


def _exp(x: float) -> float:
    """e^x, inf past float64's range (bounds become vacuous rather than raising)."""
    return math.exp(x) if x < 709.0 else math.inf


def _up(x: float) -> float:
    """x rounded up generously (covers the few roundings of a closed-form evaluation)."""
    return x * (1 + 1e-12) if x > 0 else x


def taylor_bound(g: int, R: float) -> float:
    """e^R·R^{g+1}/(g+1)! + u·e^{2R}: certified relative error of T_g with float coefficients
    (each 1/j! correctly rounded; valid up to FLOAT_MAX_DEGREE, where 1/j! is still a normal float)."""
    g, R = _check(g, R)
    return _up(_exp(R + _log_pow_over_fact(R, g + 1)) + UNIT_ROUNDOFF * _exp(2 * R))


def shifted_taylor_bound(g: int, R: float, exact: bool = True) -> float:
    """Certified relative error of e^{−R}T_g(s + R): the Poisson tail P(Poisson(2R) > g) (or the
    simple (2R)^{g+1}/(g+1)! if exact=False), plus γ_{g+3}·e^{2R} for the float coefficients."""
    g, R = _check(g, R)
    x = 2 * R
    simple = _exp(_log_pow_over_fact(x, g + 1))
    main = min(simple, _poisson_tail_upper(x, g)) if exact else simple
    return _up(main + _shifted_rounding(g, R))


def _shifted_rounding(g: int, R: float) -> float:
    """γ_k·e^{2R}, k = max(g + 3, 5): each float coefficient e^{−R}·T_{g−j}(R)/j! carries <= 4 roundings
    (exact rational sum, exp, product); all terms positive, so Σ|Δa_j||s|ʲ/eˢ <= γ_k·P(R)·e^R <= γ_k·e^{2R}."""
    k = max(g + 3, 5)
    return k * UNIT_ROUNDOFF / (1 - k * UNIT_ROUNDOFF) * _exp(2 * R)


def _poisson_tail_upper(x: float, g: int) -> float:
    """An upper bound on e^{−x} Σ_{j>g} xʲ/j! = 1 − e^{−x}T_g(x), without cancellation.

    Terms are summed until they fall below 1e−30 of the sum and j + 1 > 2x; the rest is bounded
    by a geometric series (ratio x/(j+1) <= 1/2). Each term carries a relative error of a few
    ulps (from lgamma), covered by the final 1e−9 margin.
    """
    if x == 0:
        return 0.0
    total = 0.0
    j = g + 1
    while True:
        t = _exp(-x + _log_pow_over_fact(x, j))
        total += t
        if j + 1 > 2 * x and t <= 1e-30 * total:
            ratio = x / (j + 1)
            return (total + t * ratio / (1 - ratio)) * (1 + 1e-9)
        j += 1


def chebyshev_estimate(g: int, R: float) -> float:
    """Heuristic (not certified) relative error of the Chebyshev interpolant: 2e^R(R/2)^{g+1}/(g+1)!.

    The absolute interpolation error 2(R/2)^{g+1}/(g+1)!·e^ξ divided by e^{−R} at the left end;
    it tracks the certificate within a factor 3 for R <= 8. Used only to decide whether
    certifying the interpolant at degree g is worth the work.
    """
    g, R = _check(g, R)
    return 2 * _exp(R + _log_pow_over_fact(R / 2, g + 1))


# ---------------------------------------------------------------- constructions


def taylor(g: int, R: float) -> ExpPoly:
    """Plain Taylor T_g around 0 (docs/polynomial.md §3.1)."""
    g, R = _check(g, R)
    coeffs = tuple(1.0 / math.factorial(j) if j <= FLOAT_MAX_DEGREE else 0.0 for j in range(g + 1))
    bound = taylor_bound(g, R) if g <= FLOAT_MAX_DEGREE else math.inf  # 1/j! underflows past 170
    return ExpPoly("taylor", g, R, coeffs, bound, False)


def shifted_taylor(g: int, R: float) -> ExpPoly:
    """e^{−R}·Σ_{j<=g} (s + R)ʲ/j!: always valid, positive, below eˢ (docs/polynomial.md §3.1)."""
    g, R = _check(g, R)
    coeffs = _shifted_coeffs(g, R)
    excess = _up(_shifted_rounding(g, R))
    bound = shifted_taylor_bound(g, R) if g <= FLOAT_MAX_DEGREE and R <= 700 else math.inf
    return ExpPoly("shifted_taylor", g, R, coeffs, bound, True, excess)


@lru_cache(maxsize=256)
def _shifted_coeffs(g: int, R: float) -> tuple:
    # a_j = e^{−R} Σ_{m=j}^{g} C(m, j) R^{m−j}/m! = e^{−R}·T_{g−j}(R)/j!: the rational part exactly,
    # then one rounding, one exp and one product (<= 4 roundings, `_shifted_rounding`).
    if R <= 700 and g <= FLOAT_MAX_DEGREE:
        Rq = Fraction(R)
        partial = [Fraction(1)]
        term = Fraction(1)
        for k in range(1, g + 1):
            term = term * Rq / k
            partial.append(partial[-1] + term)
        e = math.exp(-R)
        return tuple(e * float(partial[g - j] / math.factorial(j)) for j in range(g + 1))
    # beyond float range (never certifiable in floating point): log space, for exact-arithmetic plans only
    out = []
    for j in range(g + 1):
        logs = [
            math.log(math.comb(m, j)) + _log_pow_over_fact(R, m - j) + math.lgamma(m - j + 1) - math.lgamma(m + 1)
            if R > 0 or m == j
            else -math.inf
            for m in range(j, g + 1)
        ]
        top = max(logs)
        out.append(math.exp(top - R) * math.fsum(math.exp(v - top) for v in logs))
    return tuple(out)


def chebyshev(g: int, R: float) -> ExpPoly:
    """Truncated Chebyshev series of eˢ on [−R, R], I_0(R) + 2Σ_{k<=g} I_k(R)T_k(s/R), certified exactly (docs/polynomial.md §3.1).

    The Bessel coefficients are computed in floating point; their conversion to the monomial
    basis is exact (integers), so the only roundings are the final float coefficients, and
    `certify_relative_error` certifies those stored coefficients.
    """
    g, R = _check(g, R)
    if R == 0:
        raise InvalidInstance("R: the Chebyshev series needs R > 0 (use taylor for R = 0)")
    if g > CHEBYSHEV_MAX_DEGREE:
        raise InvalidInstance(f"degree: chebyshev is built up to degree {CHEBYSHEV_MAX_DEGREE}, got {g}")
    if R > CHEBYSHEV_MAX_R:
        raise InvalidInstance(f"R: chebyshev is built for R <= {CHEBYSHEV_MAX_R:g}, got {R:g}")
    return _chebyshev(g, R)


def _bessel_i(k: int, x: float) -> float:
    """I_k(x) = Σ_m (x/2)^{2m+k}/(m!(m+k)!), positive terms summed in log space."""
    h = x / 2
    logs = []
    m = 0
    while True:
        v = (2 * m + k) * math.log(h) - math.lgamma(m + 1) - math.lgamma(m + k + 1)
        logs.append(v)
        if m > h and v < logs[0] - 80:
            break
        m += 1
    top = max(logs)
    return math.exp(top) * math.fsum(math.exp(v - top) for v in logs)


@lru_cache(maxsize=256)
def _chebyshev(g: int, R: float) -> ExpPoly:
    coeffs = _chebyshev_coeffs(g, R)
    return ExpPoly("chebyshev", g, R, coeffs, certify_relative_error(coeffs, R), False)


@lru_cache(maxsize=256)
def _chebyshev_coeffs(g: int, R: float) -> tuple:
    if R == 0:
        return (1.0,) + (0.0,) * g
    cheb = [Fraction(_bessel_i(k, R)) * (1 if k == 0 else 2) for k in range(g + 1)]
    mono = _chebyshev_to_monomial(cheb)  # coefficients in x = s/R
    Rq = Fraction(R)
    return tuple(float(c / Rq**j) for j, c in enumerate(mono))


def _chebyshev_to_monomial(c: list) -> list:
    """Monomial coefficients of Σ c_k T_k(x), exactly (T_{k+1} = 2x·T_k − T_{k−1} on integer coefficients)."""
    n = len(c)
    out = [Fraction(0)] * n
    prev, cur = [1], [0, 1]  # T_0, T_1 as integer coefficient lists
    for k in range(n):
        t = prev if k == 0 else cur
        if k >= 2:
            nxt = [0] + [2 * v for v in cur]
            for j, v in enumerate(prev):
                nxt[j] -= v
            prev, cur = cur, nxt
            t = cur
        for j, v in enumerate(t):
            if v:
                out[j] += c[k] * v
    return out


BUILDERS = {"taylor": taylor, "shifted_taylor": shifted_taylor, "chebyshev": chebyshev}


def build(kind: str, g: int, R: float, exact_arithmetic: bool = False) -> ExpPoly:
    """The polynomial of family `kind` and degree g for the range [−R, R].

    exact_arithmetic=True states the bound of the exact-coefficient polynomial instead (the
    setting of the theorems, for planning only): no coefficient rounding, closed forms throughout.
    """
    if kind not in BUILDERS:
        raise InvalidInstance(f"polynomial: must be one of {', '.join(KINDS)}, got {kind!r}")
    if exact_arithmetic:
        g, R = _check(g, R)
        if not available(kind, g, R, exact_arithmetic=True):
            raise InvalidInstance(f"R: {kind} is not available at R = {R:g}, degree {g}")
        coeffs = _chebyshev_coeffs(g, R) if kind == "chebyshev" else BUILDERS[kind](g, R).coeffs
        return ExpPoly(kind, g, R, coeffs, exact_arithmetic_bound(kind, g, R), ONE_SIDED[kind])
    return BUILDERS[kind](g, R)


def exact_arithmetic_bound(kind: str, g: int, R: float) -> float:
    """Proven relative error of the exact-coefficient polynomial (no floating point).

    taylor: e^R R^{g+1}/(g+1)!; shifted_taylor: the Poisson tail; chebyshev (truncated series):
    e^R·2Σ_{k>g} I_k(R) <= e^R·2(R/2)^{g+1}/(g+1)!·e^{R²/(4(g+2))}/(1 − R/(2(g+2))), using
    I_{k+1}/I_k <= R/(2(k+1)) termwise; inf when R >= 2(g+2).
    """
    g, R = _check(g, R)
    if kind == "taylor":
        return _up(_exp(R + _log_pow_over_fact(R, g + 1)))
    if kind == "shifted_taylor":
        return _up(min(_exp(_log_pow_over_fact(2 * R, g + 1)), _poisson_tail_upper(2 * R, g)))
    if kind == "chebyshev":
        q = R / (2 * (g + 2))
        if q >= 1:
            return math.inf
        return _up(2 * _exp(R + _log_pow_over_fact(R / 2, g + 1) + R * R / (4 * (g + 2))) / (1 - q))
    raise InvalidInstance(f"polynomial: must be one of {', '.join(KINDS)}, got {kind!r}")


def available(kind: str, g: int, R: float, exact_arithmetic: bool = False) -> bool:
    """Whether `build(kind, g, R, exact_arithmetic)` is defined."""
    if kind == "chebyshev":
        if exact_arithmetic:  # closed-form bound; only the Bessel coefficients limit R
            return 0 < R <= 600
        return 0 < R <= CHEBYSHEV_MAX_R and g <= CHEBYSHEV_MAX_DEGREE
    return exact_arithmetic or g <= FLOAT_MAX_DEGREE


# ---------------------------------------------------------------- exact certificate


@lru_cache(maxsize=512)
def certify_relative_error(coeffs: tuple, R: float) -> float:
    """A proven upper bound on sup_{|s|<=R} |P(s) − eˢ|/eˢ for P(s) = Σ coeffs[j]·sʲ (exact arithmetic).

    With x = s/R ∈ [−1, 1]: D = P − T_N (T_N the Taylor polynomial of degree N) and
    E_M the Taylor polynomial of e^{−s}. Then |P − eˢ|e^{−s} <= |D·E_M| + ‖D‖·τ_N + τ_N,
    with τ_N = e^R·R^{N+1}/(N+1)! (both Taylor remainders) and ‖·‖ on [−1, 1] bounded by the
    sum of absolute Chebyshev coefficients. Everything is exact integer arithmetic over one
    common denominator; only the final sums are rounded, upwards.
    """
    R = float(R)
    if R == 0:
        return _up(abs(coeffs[0] - 1.0)) if coeffs else 1.0
    g = len(coeffs) - 1
    N = max(g, 1)
    while _exp(R + _log_pow_over_fact(R, N + 1)) > _CERT_TAIL:
        N += 1
    # Every number below is an integer over den = 2^e·N!: R = r·2^−t, a_j = m_j·2^−f_j.
    Rq = Fraction(R)
    r_num, t = Rq.numerator, Rq.denominator.bit_length() - 1
    fs = [Fraction(a) for a in coeffs]
    f = max([x.denominator.bit_length() - 1 for x in fs] + [0])
    e = f + t * N
    fN = math.factorial(N)
    # D_j·den = a_j R^j den − R^j den/j!
    D = []
    for j in range(N + 1):
        rj = r_num**j << (t * (N - j))  # R^j·2^{tN}
        a = (fs[j].numerator << (f - (fs[j].denominator.bit_length() - 1))) if j <= g else 0  # a_j·2^f
        D.append(a * rj * fN - (rj << f) * (fN // math.factorial(j)))
    EM = [((r_num**j) << (t * (N - j))) * (fN // math.factorial(j)) * (-1 if j % 2 else 1) for j in range(N + 1)]
    cD, sD = _mono_to_cheb_int(D)  # value = cD / (den_D·2^sD)
    cE, sE = _mono_to_cheb_int(EM)
    den_D = (1 << e) * fN
    den_E = (1 << (t * N)) * fN
    prod = _cheb_product_int(cD, cE)  # value = prod / (den_D·den_E·2^{sD+sE+1})
    tau = _exp(R + _log_pow_over_fact(R, N + 1))
    normD = _ratio_up(sum(abs(v) for v in cD), den_D << sD)
    main = _ratio_up(sum(abs(v) for v in prod), (den_D * den_E) << (sD + sE + 1))
    return _up(main + normD * tau + tau) + 1e-300


def _ratio_up(num: int, den: int) -> float:
    """num/den as a float rounded up (relative 2^−50 margin)."""
    return float(Fraction(num, den)) * (1 + 2.0**-50)


def _mono_to_cheb_int(p: list) -> tuple:
    """Chebyshev coefficients of Σ p_j xʲ (integers) as (c, s) with value c_m / 2^s, exactly.

    xʲ = 2^{1−j} Σ_k C(j, k) T_{j−2k}, the T_0 term halved: with s = deg, every weight is an integer.
    """
    n = len(p) - 1
    s = n
    c = [0] * (n + 1)
    for j, pj in enumerate(p):
        if not pj:
            continue
        for k in range(j // 2 + 1):
            m = j - 2 * k
            w = math.comb(j, k) << (s - j + 1) if m > 0 else math.comb(j, k) << (s - j)
            c[m] += pj * w
    return c, s


def _cheb_product_int(a: list, b: list) -> list:
    """2·(Σ a_i T_i)(Σ b_j T_j) in the Chebyshev basis (T_i T_j = (T_{i+j} + T_{|i−j|})/2), integers."""
    out = [0] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        if not x:
            continue
        for j, y in enumerate(b):
            if y:
                v = x * y
                out[i + j] += v
                out[abs(i - j)] += v
    return out


def best_at_degree(g: int, R: float) -> ExpPoly:
    """The family with the smallest certified relative error at degree g."""
    cands = [build(k, g, R) for k in KINDS if available(k, g, R)]
    return min(cands, key=lambda p: p.rel_error)
