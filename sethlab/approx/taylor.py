"""The Taylor feature map of linear-attention models (Based: Arora et al., "Simple linear attention
language models balance the recall-throughput tradeoff", 2024): exp(s) replaced by its Taylor
polynomial Σ_{j<=degree} s^j/j! (docs/approx.md, "Taylor").

The polynomial of s = ⟨q, k⟩/d factors through φ(x) = [x^{⊗j}/√(j!)]_{j<=degree} applied to q/√d
and k/√d; Based uses degree 2, φ(x) = [1, x, x⊗x/√2]. Output D⁻¹ φ(Q)(φ(K)ᵀ V): the exact
attention of the polynomial kernel, in O((nq + nk)·F·dv) work for F = Σ_j d^j features. For even
degree the polynomial is positive in exact arithmetic; a row whose computed denominator is not a
positive finite number (odd degree; or s^degree overflowing, or cancellation at large |s| and high
degree) has no meaning and is returned as nan. Degrees above 32 are refused.
"""

from __future__ import annotations

import math

import numpy as np

from sethlab.approx._common import as_instance, budget, checked, plan, positive_int, row_blocks, scaled

MAX_DEGREE = 32


def feature_count(d: int, degree: int) -> float:
    """Σ_j d^j as a float (inf past float64: planned and refused, never formed)."""
    return float(sum(float(d) ** j for j in range(degree + 1)))


def taylor_features(x: np.ndarray, degree: int) -> np.ndarray:
    """[x^{⊗j}/√(j!)] for j = 0..degree, row by row (n × Σ_j d^j)."""
    n = x.shape[0]
    parts, power = [np.ones((n, 1))], np.ones((n, 1))
    for j in range(1, degree + 1):
        power = (power[:, :, None] * x[:, None, :]).reshape(n, -1)
        parts.append(power * math.exp(-0.5 * math.lgamma(j + 1)))
    return np.hstack(parts)


def _check(degree=2, memory_budget=None):
    return {"degree": positive_int(degree, "degree", 0, MAX_DEGREE), "memory_budget": budget(memory_budget)}


@checked(_check)
def taylor(Q, K=None, V=None, *, degree: int = 2, memory_budget=None) -> np.ndarray:
    """Attention with exp replaced by its degree-`degree` Taylor polynomial (Based's feature map), float64."""
    inst = as_instance(Q, K, V)
    g = degree
    F = feature_count(inst.d, g)
    key_blocks = row_blocks(inst.nk, int(min(F, 1 << 62)))
    query_blocks = row_blocks(inst.nq, int(min(F, 1 << 62)))
    block = max(hi - lo for lo, hi in key_blocks + query_blocks)
    plan(8 * F * (3 * block + inst.dv + 1) * 2, f"Taylor features (degree {g}: {F:.4g} per row)", memory_budget)
    F = int(F)
    q, k = scaled(inst)
    V1 = np.hstack([inst.V, np.ones((inst.nk, 1))])
    kv = np.zeros((F, inst.dv + 1))
    for lo, hi in key_blocks:
        kv += taylor_features(k[lo:hi], g).T @ V1[lo:hi]
    out = np.empty((inst.nq, inst.dv))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        for lo, hi in query_blocks:
            nd = taylor_features(q[lo:hi], g) @ kv
            den = nd[:, -1:]
            ok = (den > 0) & np.isfinite(den) & np.isfinite(nd[:, :-1]).all(axis=1, keepdims=True)
            out[lo:hi] = np.where(ok, nd[:, :-1] / np.where(ok, den, 1.0), np.nan)
    return out
