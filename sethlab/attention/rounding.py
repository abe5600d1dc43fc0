"""Floating-point error floors of the exact engine, in the standard rounding model (|fl(x∘y) − x∘y| <= u|x∘y|).

The exact backends report `error_bound = 0.0` ("exact up to floating point");
these functions say how large "up to floating point" can be, so a decision can
compare its margin with it (MATH.md 7: a margin below the error is inconclusive).
First-order bounds with γ_k = k·u/(1 − k·u) (Higham, Accuracy and Stability, §3.1),
doubled for safety.
"""

from __future__ import annotations

import numpy as np

from sethlab.attention.instances import AttentionInstance, GradientInstance, score_range

UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24}


def _gamma(k: int, u: float) -> float:
    ku = k * u
    return ku / (1 - ku) if ku < 0.5 else float("inf")


def weight_rounding(q: np.ndarray, k: np.ndarray, u: float) -> float:
    """Relative error of each computed weight exp(s_ij − max_j s_ij): score errors and exp rounding."""
    d = q.shape[1]
    r_abs = score_range(np.abs(q), np.abs(k))  # bounds Σ_k |q_ik k_jk| / d
    r = score_range(q, k)
    return 2 * _gamma(d + 1, u) * r_abs + u * (3 + 2 * r)


def forward_rounding_bound(inst: AttentionInstance, dtype: str = "float64") -> float:
    """Bound on ‖fl(T) − Att(Q, K, V)‖∞ for the exact engine of MATH.md 2.2."""
    u = UNIT_ROUNDOFF[dtype]
    eta_w = weight_rounding(inst.Q, inst.K, u)
    return 2 * inst.bound_V * (2 * eta_w + 2 * _gamma(inst.nk + 2, u) + u)


def gradient_rounding_bound(inst: GradientInstance, dtype: str = "float64") -> float:
    """Bound on ‖fl(g) − ∂L/∂X‖∞ for the exact engine, shaped like the bound of MATH.md 3.4.

    Σ_j |p_ij| <= 2·dv·Cmax·H per row (Cmax <= H + ‖E‖∞), each p_ij carries a relative
    error from the weights, the normalization and the products c hᵀ, and A1ᵀ p A2
    sums nq·nk terms.
    """
    u = UNIT_ROUNDOFF[dtype]
    H = inst.bound_h
    cmax = H + inst.bound_E
    eta_w = weight_rounding(inst.A1X, inst.A2, u)
    rel = 4 * eta_w + 4 * _gamma(inst.nk + inst.dv + inst.m + 3, u) + _gamma(inst.nq + inst.nk + 2 * inst.d, u)
    return 2 * (inst.nq / inst.d) * inst.bound_A1 * inst.bound_A2 * 2 * inst.dv * cmax * H * rel
