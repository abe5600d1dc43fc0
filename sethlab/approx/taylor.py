"""The Taylor feature map of linear-attention models (Based: Arora et al., "Simple linear attention
language models balance the recall-throughput tradeoff", 2024): exp(s) replaced by its Taylor
polynomial Σ_{j<=degree} s^j/j! (docs/approx.md, "Taylor").

The polynomial of s = ⟨q, k⟩/d factors through φ(x) = [x^{⊗j}/√(j!)]_{j<=degree} applied to q/√d
and k/√d; Based uses degree 2, φ(x) = [1, x, x⊗x/√2]. Output D⁻¹ φ(Q)(φ(K)ᵀ V): the exact
attention of the polynomial kernel, in O((nq + nk)·F·dv) work for F = Σ_j d^j features. For even
degree the polynomial is positive everywhere, so D > 0; for odd degree a row whose denominator is
not positive has no meaning and is returned as nan.
"""

from __future__ import annotations

import math

import numpy as np

from sethlab.approx._common import as_instance, plan, positive_int, row_blocks, scaled


def feature_count(d: int, degree: int) -> int:
    return sum(d**j for j in range(degree + 1))


def taylor_features(x: np.ndarray, degree: int) -> np.ndarray:
    """[x^{⊗j}/√(j!)] for j = 0..degree, row by row (n × Σ_j d^j)."""
    n = x.shape[0]
    parts, power = [np.ones((n, 1))], np.ones((n, 1))
    for j in range(1, degree + 1):
        power = (power[:, :, None] * x[:, None, :]).reshape(n, -1)
        parts.append(power / math.sqrt(math.factorial(j)))
    return np.hstack(parts)


def taylor(Q, K=None, V=None, *, degree: int = 2, memory_budget=None) -> np.ndarray:
    """Attention with exp replaced by its degree-`degree` Taylor polynomial (Based's feature map), float64."""
    inst = as_instance(Q, K, V)
    g = positive_int(degree, "degree", 0)
    F = feature_count(inst.d, g)
    block = row_blocks(max(inst.nq, inst.nk), F)[0][1]
    plan(8 * F * (2 * block + inst.dv + 1) * 2, f"Taylor features (degree {g}: {F} per row)", memory_budget)
    q, k = scaled(inst)
    V1 = np.hstack([inst.V, np.ones((inst.nk, 1))])
    kv = np.zeros((F, inst.dv + 1))
    for lo, hi in row_blocks(inst.nk, F):
        kv += taylor_features(k[lo:hi], g).T @ V1[lo:hi]
    out = np.empty((inst.nq, inst.dv))
    for lo, hi in row_blocks(inst.nq, F):
        nd = taylor_features(q[lo:hi], g) @ kv
        with np.errstate(divide="ignore", invalid="ignore"):
            out[lo:hi] = np.where(nd[:, -1:] > 0, nd[:, :-1] / nd[:, -1:], np.nan)
    return out
