"""Gauss-Legendre nodes and weights on [0, 1] with proven bounds on their errors (docs/quadrature.md, "Nodes").

numpy's `leggauss` is documented up to degree 100 and carries no error bound;
the certified rule of the gradient reduction uses thousands of nodes. Here the
nodes are found by Newton's method in θ (x = cos θ) and then *verified*: with
P_m(cos θ) = Σ_k c_k cos((m − 2k)θ), c_k = a_k a_{m−k} > 0, a_k = C(2k, k)/4^k
(Σ c_k = P_m(1) = 1), every evaluation has an a-priori error bound e_P, so a
sign change of the computed P_m beyond ±e_P on [lo, hi] proves a root there.
m disjoint brackets hold the m roots, one each. The weight 1/D(θ*)² on [0, 1]
(D = dP_m/dθ) is enclosed with the Legendre equation P'' + cot θ P' +
m(m+1)P = 0, which bounds how fast D can change across the bracket.

Assumptions: the standard rounding model, and cos/sin within `rounding.ULPS`
ulps (measured by tests/attention/test_elementary_ulps.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from sethlab.attention.rounding import ULPS, UNIT_ROUNDOFF, gamma, rel, upper
from sethlab.errors import CertificationError, InvalidInstance

U = UNIT_ROUNDOFF["float64"]
# Beyond this many nodes the O(m²) verification takes minutes; no instance of sethlab needs it.
MAX_NODES = 1 << 15


@dataclass(frozen=True)
class VerifiedRule:
    """Nodes λ̂_k (ascending) and weights ŵ_k on [0, 1] with |λ̂_k − λ*_k| <= node_error[k] and
    |ŵ_k − w*_k| <= weight_error[k], where (λ*, w*) is the exact m-point Gauss-Legendre rule."""

    nodes: np.ndarray
    weights: np.ndarray
    node_error: np.ndarray
    weight_error: np.ndarray


_U_LONG = float(np.finfo(np.longdouble).eps) / 2  # long double's unit roundoff (u itself where it is double)


def _coefficients(m: int) -> np.ndarray:
    """c_k = a_k a_{m−k} (k = 0..m), a_k = Π_{i<=k} (2i − 1)/(2i), in long double then rounded to float64.

    Each c_k is within e_F = γ_{2m+1}(u_long) + u of the exact value (`_evaluation_errors`).
    """
    a = np.empty(m + 1, dtype=np.longdouble)
    a[0] = 1
    i = np.arange(1, m + 1, dtype=np.longdouble)
    a[1:] = np.cumprod((2 * i - 1) / (2 * i))
    return (a * a[::-1]).astype(np.float64)


def _split(m: int) -> int:
    """B: every n <= m is written n = B·a + b (0 <= b < B), B ≈ √(m + 1)."""
    return max(1, math.isqrt(m + 1))


def _tables(m: int, c: np.ndarray):
    """F[b, a] = f_j and Fn[b, a] = f_j·n_j for n_j = B·a + b: P_m(cos θ) = Σ_j f_j cos(n_j θ)."""
    B = _split(m)
    A = m // B + 1
    n = np.arange(m % 2, m + 1, 2)
    f = c[(m - n) // 2] * np.where(n == 0, 1.0, 2.0)  # f_j = 2c_k (n > 0) or c_k (n = 0): Σ_j f_j = Σ_k c_k = 1
    F = np.zeros((B, A))
    Fn = np.zeros((B, A))
    F[n % B, n // B] = f
    Fn[n % B, n // B] = f * n
    return B, A, F, Fn


def _evaluate(theta: np.ndarray, m: int, tables, derivative: bool = True):
    """(P̂, D̂) at each θ: P_m(cos θ) and dP_m/dθ as Σ_a Re/Im(e^{iBaθ}·Σ_b F[b, a] e^{ibθ}) (two real GEMMs)."""
    B, A, F, Fn = tables
    tb = theta[:, None] * np.arange(B)
    ta = theta[:, None] * (B * np.arange(A))
    c1, s1, c2, s2 = np.cos(tb), np.sin(tb), np.cos(ta), np.sin(ta)
    P = ((c1 @ F) * c2).sum(1) - ((s1 @ F) * s2).sum(1)
    if not derivative:
        return P, None
    D = -(((s1 @ Fn) * c2).sum(1) + ((c1 @ Fn) * s2).sum(1))
    return P, D


@lru_cache(maxsize=64)
def _evaluation_errors(m: int) -> tuple[float, float]:
    """(e_P, e_D): |P̂ − P_m(cos θ)| <= e_P and |D̂ − dP_m/dθ| <= e_D for every float θ in [0, π/2 + 1e-3].

    Per term f_j cos(n_j θ) = f_j Re(e^{iBaθ} e^{ibθ}): the arguments fl(bθ) and fl(Baθ) err by at most
    u·bθ and u·Baθ, cos and sin by ULPS ulps (<= 2·ULPS·u absolute); the coefficients by e_F relative;
    the inner sums over b are length-B products (γ_B), the outer sums over a and the two parts
    2A terms with one product each (γ_{2A+1}). With Σ_j f_j = 1 and Σ_j f_j n_j <= (m(m+1)/2)^{1/2}
    (docs/quadrature.md, "Nodes").
    """
    B = _split(m)
    A = m // B + 1
    theta_max = math.pi / 2 + 1e-3
    arg = U * (B - 1 + B * (A - 1)) * theta_max  # both arguments' rounding, largest n
    trig = 4 * ULPS * U  # cos/sin of both factors
    eps = (arg + trig) * (1 + arg + trig)  # |x̂ŷ − xy| for the two factors of one part
    outer = gamma(2 * A + 1, U)
    e_F = rel(gamma(2 * m + 1, _U_LONG), U)

    def per_term(coef_err: float) -> float:  # both parts (cos·cos − sin·sin, or sin·cos + cos·sin)
        inner = rel(gamma(B, U), coef_err)
        return 2 * (eps * (1 + inner) * (1 + outer) + rel(inner, outer))

    s1 = math.sqrt(m * (m + 1) / 2)
    return upper(per_term(e_F), 64), upper(per_term(rel(e_F, U)) * s1, 64)


def _initial(m: int, k: np.ndarray) -> np.ndarray:
    """Tricomi's approximation of θ_k, the k-th root of P_m(cos θ) (a starting point only)."""
    t = np.pi * (4 * k - 1) / (4 * m + 2)
    x = (1 - 1 / (8 * m * m) + 1 / (8 * m**3)) * np.cos(t)
    return np.arccos(np.clip(x, -1.0, 1.0))


def _refused(m: int, why: str) -> CertificationError:
    return CertificationError(f"nodes: the {m}-point Gauss-Legendre rule cannot be certified in float64 ({why}); "
                              f"use fewer nodes")


@lru_cache(maxsize=32)
def verified_rule(m: int) -> VerifiedRule:
    """The m-point Gauss-Legendre rule on [0, 1] with proven node and weight errors (docs/quadrature.md)."""
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise InvalidInstance(f"nodes: must be a positive integer, got {m!r}")
    m = int(m)
    if m > MAX_NODES:
        raise _refused(m, f"at most {MAX_NODES} nodes are verified")
    tables = _tables(m, _coefficients(m))
    e_P, e_D = _evaluation_errors(m)
    half = m // 2  # roots in (0, π/2); their mirrors π − θ; and π/2 itself when m is odd
    theta = _initial(m, np.arange(1, half + 1, dtype=np.float64))
    for _ in range(12):
        if half == 0:
            break
        P, D = _evaluate(theta, m, tables)
        step = P / D
        theta = theta - step
        if np.abs(step).max() <= 1e-3 * e_P / max(1.0, float(np.abs(D).min())):
            break
    P, D = _evaluate(theta, m, tables)
    # brackets [lo, hi] with a proven sign change, widened until the computed signs are beyond ±e_P
    delta = np.maximum(4 * e_P / np.maximum(np.abs(D), 1e-300), 4 * np.spacing(theta))
    lo, hi = theta - delta, theta + delta
    todo = np.arange(half)
    for _ in range(40):
        if todo.size == 0:
            break
        plo, _ = _evaluate(lo[todo], m, tables, derivative=False)
        phi, _ = _evaluate(hi[todo], m, tables, derivative=False)
        ok = (np.abs(plo) > e_P) & (np.abs(phi) > e_P) & (np.sign(plo) == -np.sign(phi))
        todo = todo[~ok]
        delta[todo] *= 2
        lo[todo], hi[todo] = theta[todo] - delta[todo], theta[todo] + delta[todo]
    if todo.size:
        raise _refused(m, f"{todo.size} roots could not be bracketed")
    limit = (np.pi / 2) * (1 - 4 * U)  # below the true π/2, so the mirrored brackets are disjoint
    if half and (lo[0] <= 0 or np.any(hi[:-1] >= lo[1:]) or hi[-1] >= limit):
        raise _refused(m, "the root brackets overlap")
    width = hi - lo
    width = width * (1 + 4 * U)
    # D(θ*) from D̂ at θ̂: D2 = max |D'| on the bracket, from D' = −cot θ·D − m(m+1)P and P(θ*) = 0
    kappa = np.abs(np.cos(lo) / np.sin(lo)) * (1 + 8 * ULPS * U) if half else np.zeros(0)
    A = kappa + m * (m + 1) * width
    if np.any(A * width >= 0.5):
        raise _refused(m, "the brackets are too wide to enclose the weights")
    absD = np.abs(D)
    d2 = A * (absD + e_D) / (1 - A * width)
    spread = (e_D + width * d2) * (1 + 8 * U)
    if np.any(absD - spread <= 0):
        raise _refused(m, "the derivative at a node is not separated from zero")
    weight = 1.0 / (D * D)
    w_lo, w_hi = 1.0 / (absD + spread) ** 2, 1.0 / (absD - spread) ** 2
    w_err = np.maximum(weight - w_lo, w_hi - weight) * (1 + 8 * U) + 4 * U * weight
    # nodes: sin²(θ/2) (near 0) and cos²(θ/2) (near 1) for θ and its mirror π − θ
    s, co = np.sin(theta / 2), np.cos(theta / 2)
    low, high = s * s, co * co
    e_s = width / 2 + 2 * ULPS * U * s  # |ŝ − sin(θ*/2)|: |θ̂ − θ*| <= width, |d sin(t/2)/dθ| <= 1/2
    e_c = width / 2 + 2 * ULPS * U * co
    low_err = ((2 * s + e_s) * e_s + U * low) * (1 + 8 * U)
    high_err = ((2 * co + e_c) * e_c + U * high) * (1 + 8 * U)
    parts_n, parts_w, parts_ne, parts_we = [low], [weight], [low_err], [w_err]
    if m % 2:  # the middle root θ* = π/2 exactly: node 1/2 exactly; weight from D at fl(π/2)
        mid = np.array([np.pi / 2])
        _, Dm = _evaluate(mid, m, tables)
        wm = float(1.0 / (Dm[0] * Dm[0]))
        wdt = 4 * U  # |fl(π/2) − π/2| <= 2u, bracket [fl(π/2) − 2u, fl(π/2) + 2u]
        Am = 1e-15 + m * (m + 1) * wdt  # |cot| <= 1e-15 there
        d2m = Am * (abs(Dm[0]) + e_D) / (1 - Am * wdt)
        sm = (e_D + wdt * d2m) * (1 + 8 * U)
        if abs(Dm[0]) - sm <= 0:
            raise _refused(m, "the middle weight is not enclosed")
        em = max(wm - 1 / (abs(Dm[0]) + sm) ** 2, 1 / (abs(Dm[0]) - sm) ** 2 - wm) * (1 + 8 * U) + 4 * U * wm
        parts_n.append(np.array([0.5]))
        parts_w.append(np.array([wm]))
        parts_ne.append(np.array([0.0]))
        parts_we.append(np.array([em]))
    parts_n.append(high[::-1])
    parts_w.append(weight[::-1])
    parts_ne.append(high_err[::-1])
    parts_we.append(w_err[::-1])
    rule = VerifiedRule(*(np.concatenate(p) for p in (parts_n, parts_w, parts_ne, parts_we)))
    for a in (rule.nodes, rule.weights, rule.node_error, rule.weight_error):
        a.flags.writeable = False
    return rule
