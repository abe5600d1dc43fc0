"""Bounded attention and attention-gradient instances (docs/problems.md §1-2): entries at most B, the parameter of the theorems.

With B² small against ln n these are the instances the polynomial method solves
in almost-linear time (docs/polynomial.md §3); hard instances come from the reductions
(`sethlab reduce`, docs/reductions.md §5, docs/quadrature.md). `adversarial=True` puts every entry of Q and K
(A1 and A2) at ±B, the worst case for the score range R = B².
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from sethlab.errors import InvalidInstance
from sethlab.generators._common import check_int, plan_arrays, rng_for

__all__ = ["bounded_attention", "bounded_gradient"]


# uniform(−B, B) draws B·(2u − 1): 2B must be a finite float64
MAX_BOUND = float(np.finfo(np.float64).max) / 2


def _check_bound(B) -> float:
    if isinstance(B, bool) or not isinstance(B, numbers.Real) or not math.isfinite(B) or B <= 0:
        raise InvalidInstance(f"B: must be a positive finite number, got {B!r}")
    if B > MAX_BOUND:
        raise InvalidInstance(f"B: at most {MAX_BOUND:.4g} (entries are drawn from [-B, B]), got {B!r}")
    return float(B)


def _entries(rng, shape, B, adversarial):
    if adversarial:
        return B * rng.choice(np.array([-1.0, 1.0]), size=shape)
    return rng.uniform(-B, B, size=shape)


def _sizes(n, d, dv, n_k):
    n = check_int(n, "n", 1)
    d = check_int(d, "d", 1)
    dv = d if dv is None else check_int(dv, "dv", 1)
    n_k = n if n_k is None else check_int(n_k, "n_k", 1)
    # Q, K, V (or A1..E) in float64, drawn once and copied once by the instance
    plan_arrays(2 * 8 * (n * d + n_k * d + n_k * dv + n * dv + d * d + dv * dv),
                f"a bounded attention instance with {n} queries, {n_k} keys, d = {d}, dv = {dv}")
    return n, d, dv, n_k


def bounded_attention(n: int, d: int, B: float, *, dv: int | None = None, n_k: int | None = None, seed=None,
                      adversarial: bool = False):
    """AttentionInstance with ‖Q‖∞, ‖K‖∞ <= B (uniform, or all ±B) and V uniform in [−1, 1]; n queries, n_k keys."""
    from sethlab.attention import AttentionInstance

    n, d, dv, n_k = _sizes(n, d, dv, n_k)
    B = _check_bound(B)
    rng = rng_for(seed)
    Q = _entries(rng, (n, d), B, adversarial)
    K = _entries(rng, (n_k, d), B, adversarial)
    return AttentionInstance(Q, K, rng.uniform(-1, 1, size=(n_k, dv)))


def bounded_gradient(n: int, d: int, B: float, *, dv: int | None = None, n_k: int | None = None, seed=None,
                     adversarial: bool = False):
    """GradientInstance at X = I with ‖A1 X‖∞, ‖A2‖∞ <= B; A3, E uniform in [−1, 1], Y = I (m = dv)."""
    from sethlab.attention import GradientInstance

    n, d, dv, n_k = _sizes(n, d, dv, n_k)
    B = _check_bound(B)
    rng = rng_for(seed)
    A1 = _entries(rng, (n, d), B, adversarial)
    A2 = _entries(rng, (n_k, d), B, adversarial)
    A3 = rng.uniform(-1, 1, size=(n_k, dv))
    E = rng.uniform(-1, 1, size=(n, dv))
    return GradientInstance(A1, A2, A3, E, np.eye(d), np.eye(dv))
