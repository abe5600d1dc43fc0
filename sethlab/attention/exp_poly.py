"""Polynomials for exp with a certified relative error on [−R, R] (MATH.md 3.1).

Three families, each with a *proven* bound on sup |P(s) − eˢ| / eˢ for the
float64 coefficients actually used:

- ``taylor``: T_g(s) = Σ sʲ/j!; bound e^R·R^{g+1}/(g+1)! (Lagrange remainder),
  plus u·e^{2R} for rounding the coefficients 1/j!.
- ``shifted_taylor``: e^{−R}·T_g(s + R), one-sided (P <= eˢ up to the coefficient
  rounding, stated as `excess`); bound: the exact
  worst case 1 − e^{−2R}T_g(2R) (a Poisson tail, computed term by term and
  rounded up), capped by (2R)^{g+1}/(g+1)!, plus γ_{g+3}·e^{2R} for the
  coefficient rounding.
- ``chebyshev``: interpolation at Chebyshev nodes, built in exact rational
  arithmetic and certified by `certify_relative_error` (exact arithmetic on
  the stored coefficients; no sampling).

Every bound below 1 also proves P > 0 on [−R, R] (P >= (1 − η)eˢ).
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
# Degrees above this are not built for `chebyshev` (exact arithmetic grows as degree²).
CHEBYSHEV_MAX_DEGREE = 80


@dataclass(frozen=True)
class ExpPoly:
    """P(s) = Σ_j coeffs[j]·sʲ with |P(s) − eˢ| <= rel_error·eˢ on [−R, R] (MATH.md 3.1)."""

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
        """Σ_j |a_j|·tʲ (t = R by default): the size of the terms ⟨φ, ψ⟩ adds up (MATH.md 3.1 rounding)."""
        t = self.R if t is None else t
        return float(sum(abs(a) * t**j for j, a in enumerate(self.coeffs)))


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


def _up(x: float) -> float:
    """x rounded up generously (covers the few roundings of a closed-form evaluation)."""
    return x * (1 + 1e-12) if x > 0 else x


def taylor_bound(g: int, R: float) -> float:
    """e^R·R^{g+1}/(g+1)! + u·e^{2R}: certified relative error of T_g with float coefficients."""
    g, R = _check(g, R)
    return _up(math.exp(R + _log_pow_over_fact(R, g + 1)) + UNIT_ROUNDOFF * math.exp(2 * R))


def shifted_taylor_bound(g: int, R: float, exact: bool = True) -> float:
    """Certified relative error of e^{−R}T_g(s + R): the Poisson tail P(Poisson(2R) > g) (or the
    simple (2R)^{g+1}/(g+1)! if exact=False), plus γ_{g+3}·e^{2R} for the float coefficients."""
    g, R = _check(g, R)
    x = 2 * R
    simple = math.exp(_log_pow_over_fact(x, g + 1))
    main = min(simple, _poisson_tail_upper(x, g)) if exact else simple
    gamma = (g + 3) * UNIT_ROUNDOFF / (1 - (g + 3) * UNIT_ROUNDOFF)
    return _up(main + gamma * math.exp(2 * R))


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
        t = math.exp(-x + _log_pow_over_fact(x, j))
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
    return 2 * math.exp(R + _log_pow_over_fact(R / 2, g + 1))


# ---------------------------------------------------------------- constructions


def taylor(g: int, R: float) -> ExpPoly:
    """Plain Taylor T_g around 0 (MATH.md 3.1)."""
    g, R = _check(g, R)
    coeffs = tuple(1.0 / math.factorial(j) if j <= 170 else 0.0 for j in range(g + 1))
    return ExpPoly("taylor", g, R, coeffs, taylor_bound(g, R), False)


def shifted_taylor(g: int, R: float) -> ExpPoly:
    """e^{−R}·Σ_{j<=g} (s + R)ʲ/j!: always valid, positive, below eˢ (MATH.md 3.1)."""
    g, R = _check(g, R)
    coeffs = _shifted_coeffs(g, R)
    excess = _up((g + 3) * UNIT_ROUNDOFF / (1 - (g + 3) * UNIT_ROUNDOFF) * math.exp(2 * R))
    return ExpPoly("shifted_taylor", g, R, coeffs, shifted_taylor_bound(g, R), True, excess)


@lru_cache(maxsize=256)
def _shifted_coeffs(g: int, R: float) -> tuple:
    # a_j = e^{−R} Σ_{m=j}^{g} C(m, j) R^{m−j}/m!, all terms positive (no cancellation); log space avoids overflow.
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
    """Interpolant of eˢ at the g + 1 Chebyshev nodes of [−R, R], certified exactly (MATH.md 3.1)."""
    g, R = _check(g, R)
    if R == 0:
        raise InvalidInstance("R: the Chebyshev interpolant needs R > 0 (use taylor for R = 0)")
    if g > CHEBYSHEV_MAX_DEGREE:
        raise InvalidInstance(f"degree: chebyshev is built up to degree {CHEBYSHEV_MAX_DEGREE}, got {g}")
    return _chebyshev(g, R)


@lru_cache(maxsize=256)
def _chebyshev(g: int, R: float) -> ExpPoly:
    nodes = [R * math.cos((2 * i + 1) * math.pi / (2 * g + 2)) for i in range(g + 1)]
    xs = [Fraction(x) for x in nodes]
    ys = [Fraction(math.exp(x)) for x in nodes]
    # Newton divided differences, then expansion to the monomial basis, all exact.
    dd = list(ys)
    for level in range(1, g + 1):
        for i in range(g, level - 1, -1):
            dd[i] = (dd[i] - dd[i - 1]) / (xs[i] - xs[i - level])
    poly = [dd[g]]
    for i in range(g - 1, -1, -1):
        # poly ← poly·(s − x_i) + dd[i]
        new = [Fraction(0)] * (len(poly) + 1)
        for j, c in enumerate(poly):
            new[j + 1] += c
            new[j] -= c * xs[i]
        new[0] += dd[i]
        poly = new
    coeffs = tuple(float(c) for c in poly)
    return ExpPoly("chebyshev", g, R, coeffs, certify_relative_error(coeffs, R), False)


BUILDERS = {"taylor": taylor, "shifted_taylor": shifted_taylor, "chebyshev": chebyshev}


def build(kind: str, g: int, R: float) -> ExpPoly:
    """The polynomial of family `kind` and degree g for the range [−R, R]."""
    if kind not in BUILDERS:
        raise InvalidInstance(f"polynomial: must be one of {', '.join(KINDS)}, got {kind!r}")
    return BUILDERS[kind](g, R)


def available(kind: str, g: int, R: float) -> bool:
    """Whether `build(kind, g, R)` is defined."""
    if kind == "chebyshev":
        return R > 0 and g <= CHEBYSHEV_MAX_DEGREE
    return True


# ---------------------------------------------------------------- exact certificate


@lru_cache(maxsize=512)
def certify_relative_error(coeffs: tuple, R: float) -> float:
    """A proven upper bound on sup_{|s|<=R} |P(s) − eˢ|/eˢ for P(s) = Σ coeffs[j]·sʲ (exact arithmetic).

    With x = s/R ∈ [−1, 1]: D = P − T_N (T_N the Taylor polynomial of degree N) and
    E_M the Taylor polynomial of e^{−s}. Then |P − eˢ|e^{−s} <= |D·E_M| + ‖D‖·τ_M + τ_N,
    with τ_k = e^R·R^{k+1}/(k+1)! (both Taylor remainders) and ‖·‖ on [−1, 1] bounded by the
    sum of absolute Chebyshev coefficients, computed exactly in rationals.
    """
    R = float(R)
    if R == 0:
        return abs(coeffs[0] - 1.0) if coeffs else 1.0
    g = len(coeffs) - 1
    N = max(g, 1)
    while math.exp(R + _log_pow_over_fact(R, N + 1)) > _CERT_TAIL:
        N += 1
    Rq = Fraction(R)
    powers = [Fraction(1)]
    for _ in range(N):
        powers.append(powers[-1] * Rq)
    fact = [math.factorial(j) for j in range(N + 1)]
    D = [
        (Fraction(coeffs[j]) if j <= g else Fraction(0)) * powers[j] - powers[j] / fact[j] for j in range(N + 1)
    ]
    EM = [(powers[j] / fact[j]) * (-1 if j % 2 else 1) for j in range(N + 1)]
    cD = _monomial_to_chebyshev(D)
    cE = _monomial_to_chebyshev(EM)
    prod = _chebyshev_product(cD, cE)
    tau = math.exp(R + _log_pow_over_fact(R, N + 1))
    normD = float(sum(abs(c) for c in cD))
    main = float(sum(abs(c) for c in prod))
    return _up(main + normD * tau + tau) + 1e-300


def _monomial_to_chebyshev(c: list) -> list:
    """Chebyshev coefficients of Σ c_j xʲ, exactly (Horner with x·T_k = (T_{k+1} + T_{|k−1|})/2)."""
    out = [Fraction(0)]
    for a in reversed(c):
        new = [Fraction(0)] * (len(out) + 1)
        for k, v in enumerate(out):
            if v == 0:
                continue
            if k == 0:
                new[1] += v
            else:
                half = v / 2
                new[k + 1] += half
                new[k - 1] += half
        new[0] += a
        out = new
    return out


def _chebyshev_product(a: list, b: list) -> list:
    """Chebyshev coefficients of (Σ a_i T_i)(Σ b_j T_j): T_i T_j = (T_{i+j} + T_{|i−j|})/2."""
    out = [Fraction(0)] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        if x == 0:
            continue
        for j, y in enumerate(b):
            if y == 0:
                continue
            v = x * y / 2
            out[i + j] += v
            out[abs(i - j)] += v
    return out


def best_at_degree(g: int, R: float) -> ExpPoly:
    """The family with the smallest certified relative error at degree g."""
    cands = [build(k, g, R) for k in KINDS if available(k, g, R)]
    return min(cands, key=lambda p: p.rel_error)
