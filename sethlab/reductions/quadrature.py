"""Quadrature for f(1) = f(0) + ∫₀¹ f'(λ) dλ, with error bounds (docs/quadrature.md; docs/quadrature.md).

The integrand is f'(λ) for f(λ) = ‖softmax(λ·QKᵀ/d) V‖_F². Both rules state a
bound from the instance alone (score span σ, nq, dv, ‖V‖∞):

- the paper's left Riemann sum: error <= b/(2m) with b >= |f''| on [0, 1];
- Gauss-Legendre, certified through analyticity in a Bernstein ellipse
  (Trefethen, ATAP Thm 19.3; derivation in docs/quadrature.md).

Those bounds are for the exact rule. The rule actually used has computed nodes
and weights; each `Rule` carries proven bounds on their errors (node_error,
weight_error), which the reduction adds (docs/quadrature.md, "Nodes").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sethlab.errors import InvalidInstance
from sethlab.reductions.gauss_legendre import MAX_NODES, verified_rule

RULES = ("gauss-legendre", "riemann")
# Each node is a gradient call; a million of them is already days of work at n = 1024.
MAX_RIEMANN = 1 << 20
# The bounds are evaluated with logarithms, cos and exp of numbers below ~10^3: their computed
# value is within 10^−12 of the formula's; this slack covers that (docs/quadrature.md).
FORMULA_SLACK = 1e-9


@dataclass(frozen=True)
class Rule:
    """Nodes and weights on [0, 1], the rule's name, and proven bounds on the computed nodes' and
    weights' distance from the exact rule's (|λ̂_k − λ_k| <= node_error[k], |ŵ_k − w_k| <= weight_error[k])."""

    name: str
    nodes: np.ndarray
    weights: np.ndarray
    node_error: np.ndarray
    weight_error: np.ndarray

    @property
    def m(self) -> int:
        return len(self.nodes)


def check_nodes(m, name: str = "gauss-legendre") -> int:
    """m as an int, or InvalidInstance: Gauss-Legendre up to MAX_NODES (its nodes are verified that far),
    the Riemann rule up to MAX_RIEMANN points (each one an oracle call)."""
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise InvalidInstance(f"nodes: must be a positive integer, got {m!r}")
    limit = MAX_NODES if name == "gauss-legendre" else MAX_RIEMANN
    if m > limit:
        raise InvalidInstance(f"nodes: the {name} rule takes at most {limit} nodes (one oracle call each), got {m}")
    return int(m)


def make_rule(name: str, m: int) -> Rule:
    """`m`-point Gauss-Legendre (verified nodes, `gauss_legendre`) or left Riemann rule on [0, 1]."""
    if name not in RULES:
        raise InvalidInstance(f"rule: must be one of {', '.join(RULES)}, got {name!r}")
    m = check_nodes(m, name)
    if name == "gauss-legendre":
        v = verified_rule(m)
        return Rule(name, v.nodes, v.weights, v.node_error, v.weight_error)
    if name == "riemann":
        nodes = np.arange(m) / m  # fl(k/m): one rounding; the weight fl(1/m): one rounding
        return Rule(name, nodes, np.full(m, 1.0 / m), nodes * 2.0**-53, np.full(m, 2.0**-53 / m))
    raise InvalidInstance(f"rule: must be one of {', '.join(RULES)}, got {name!r}")


def paper_points(n: int) -> int:
    """The paper's m = O(log⁴ n) points, with constant 1 and the natural log (AS24 App. E)."""
    return max(1, math.ceil(math.log(max(n, 2)) ** 4))


def second_derivative_bound(sigma: float, nq: int, dv: int, vmax: float) -> float:
    """b >= |f''(λ)| on the real line: f'' = 2Σ(T'² + T·T''), |T'| <= 2σ‖V‖∞, |T''| <= 2σ²‖V‖∞."""
    return 12.0 * nq * dv * sigma**2 * vmax**2 * (1 + FORMULA_SLACK)


def riemann_error_bound(m: int, sigma: float, nq: int, dv: int, vmax: float) -> float:
    """Left Riemann sum with m points: |error| <= b/(2m) (docs/quadrature.md), raised past its own rounding."""
    return second_derivative_bound(sigma, nq, dv, vmax) / (2 * m) * (1 + FORMULA_SLACK)


def _log_gl_bound(m: int, rho: np.ndarray, sigma: float, nq: int, dv: int, vmax: float) -> np.ndarray:
    y = (rho - 1 / rho) / 4  # half-height of the Bernstein ellipse of [0, 1]
    c = np.cos(y * sigma / 2)
    log_M = math.log(2 * nq * dv * sigma * vmax**2) - 3 * np.log(c)
    return math.log(0.5 * 64 / 15) + log_M + (2 - 2 * m) * np.log(rho) - np.log(rho**2 - 1)


def gauss_legendre_error_bound(m: int, sigma: float, nq: int, dv: int, vmax: float) -> tuple[float, float]:
    """Certified |error| of m-node Gauss-Legendre for ∫₀¹ f', optimized over the ellipse parameter ρ.

    f' is analytic where |Im λ|·σ < π, with |f'| <= M = 2·nq·dv·σ·‖V‖∞²/c³, c = cos(|y|σ/2);
    the error is at most ½·(64/15)·M·ρ^{2−2m}/(ρ²−1). Returns (bound, ρ).
    """
    if sigma <= 0 or vmax == 0:
        return 0.0, float("inf")  # f is constant: every rule is exact
    a = 4 * math.pi / sigma  # y·σ < π  ⇔  ρ − 1/ρ < 4π/σ
    rho_max = (a + math.sqrt(a * a + 4)) / 2
    t = np.geomspace(1e-9, 1.0, 4000, endpoint=False)  # ρ = 1 + t·(ρ_max − 1), away from both ends
    rho = 1 + t * (rho_max - 1)
    logs = _log_gl_bound(m, rho, sigma, nq, dv, vmax)
    k = int(np.argmin(logs))
    return float(math.exp(min(logs[k], 700.0))) * (1 + FORMULA_SLACK), float(rho[k])


def certified_nodes(target: float, sigma: float, nq: int, dv: int, vmax: float, max_nodes: int = 1 << 16) -> int | None:
    """Fewest Gauss-Legendre nodes whose certified bound is <= target, or None above max_nodes."""
    if target <= 0:
        return None
    lo, hi = 1, 1
    while gauss_legendre_error_bound(hi, sigma, nq, dv, vmax)[0] > target:
        lo, hi = hi, hi * 2
        if hi > max_nodes:
            return None
    while lo < hi:  # the bound decreases in m
        mid = (lo + hi) // 2
        if gauss_legendre_error_bound(mid, sigma, nq, dv, vmax)[0] <= target:
            hi = mid
        else:
            lo = mid + 1
    return hi
