"""FAVOR+ (Choromanski et al., "Rethinking Attention with Performers", ICLR 2021): positive orthogonal
random features for the softmax kernel (docs/approx.md, "Performer").

φ(x) = exp(Wx − ‖x‖²/2)/√m with the rows of W orthogonal Gaussian directions scaled by χ_d norms, so
E[φ(q)ᵀφ(k)] = exp(qᵀk). Fed q/√d and k/√d, that is exp(⟨q, k⟩/d). Output
D̂⁻¹ φ(Q)(φ(K)ᵀ V) with D̂ = φ(Q)(φ(K)ᵀ 1): O((nq + nk)·m·(d + dv)) work. Each query's features
are scaled by exp(−max_i w_iᵀq) and all keys' by one common constant: both cancel in D̂⁻¹, as in
the paper's own implementation, and keep exp from overflowing.
"""

from __future__ import annotations

import numpy as np

from sethlab.approx._common import as_instance, plan, positive_int, scaled, seed_value


def orthogonal_gaussian(m: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """m × d: blocks of d orthogonal directions (QR of a Gaussian block), each row scaled to the norm of
    an independent N(0, I_d) vector, so every row is marginally N(0, I_d) (the paper's §2.4)."""
    blocks = []
    for _ in range(-(-m // d)):
        q, r = np.linalg.qr(rng.standard_normal((d, d)))
        blocks.append((q * np.where(np.diag(r) < 0, -1.0, 1.0)).T)  # signs fixed: Haar-distributed
    W = np.vstack(blocks)[:m]
    norms = np.linalg.norm(rng.standard_normal((m, d)), axis=1)
    return W * norms[:, None]


def performer(Q, K=None, V=None, *, features: int = 256, seed=0, orthogonal: bool = True,
              memory_budget=None) -> np.ndarray:
    """FAVOR+ attention with `features` positive random features (orthogonal by default), float64."""
    inst = as_instance(Q, K, V)
    m = positive_int(features, "features")
    rng = np.random.default_rng(seed_value(seed))
    plan(8 * m * (inst.nq + inst.nk + inst.d + inst.dv + 1) * 2, f"Performer features ({m} per row)", memory_budget)
    q, k = scaled(inst)
    W = orthogonal_gaussian(m, inst.d, rng) if orthogonal else rng.standard_normal((m, inst.d))
    lk = k @ W.T - 0.5 * np.einsum("ij,ij->i", k, k)[:, None]
    phik = np.exp(lk - lk.max())  # one constant for all keys
    lq = q @ W.T - 0.5 * np.einsum("ij,ij->i", q, q)[:, None]
    phiq = np.exp(lq - lq.max(axis=1, keepdims=True))  # one constant per query
    V1 = np.hstack([inst.V, np.ones((inst.nk, 1))])
    nd = phiq @ (phik.T @ V1)
    return nd[:, :-1] / nd[:, -1:]
