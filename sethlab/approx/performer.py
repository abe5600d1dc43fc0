"""FAVOR+ (Choromanski et al., "Rethinking Attention with Performers", ICLR 2021): positive orthogonal
random features for the softmax kernel (docs/approx.md, "Performer").

φ(x) = exp(Wx − ‖x‖²/2)/√m with the rows of W orthogonal Gaussian directions scaled by χ_d norms, so
E[φ(q)ᵀφ(k)] = exp(qᵀk). Fed q/√d and k/√d, that is exp(⟨q, k⟩/d). Output
D̂⁻¹ φ(Q)(φ(K)ᵀ V) with D̂ = φ(Q)(φ(K)ᵀ 1): O((nq + nk)·m·(d + dv)) work. Each query's features
are scaled by exp(−max_i w_iᵀq) and all keys' by one common constant: both cancel in D̂⁻¹, as in
the paper's own implementation, and keep exp from overflowing. As there, `stabilizer`/√m (default
1e-6, the authors' numerical_stabilizer) is added to every feature after that scaling, so no row
divides 0 by 0 once the scores span more than float64's exponent range; it biases the estimate by
about that much relative to the largest feature.
"""

from __future__ import annotations

import numpy as np

from sethlab.approx._common import as_instance, budget, checked, flag, plan, positive_float, positive_int, scaled, seed_value

MAX_FEATURES = 1 << 24


def orthogonal_gaussian(m: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """m × d: blocks of d orthogonal directions (QR of Gaussian blocks, signs fixed so each block is
    Haar-distributed), each row scaled to the norm of an independent N(0, I_d) vector, so every row is
    marginally N(0, I_d) (the paper's §2.4)."""
    blocks = -(-m // d)
    q, r = np.linalg.qr(rng.standard_normal((blocks, d, d)))
    signs = np.where(np.diagonal(r, axis1=1, axis2=2) < 0, -1.0, 1.0)
    W = np.swapaxes(q * signs[:, None, :], 1, 2).reshape(blocks * d, d)[:m]
    norms = np.linalg.norm(rng.standard_normal((m, d)), axis=1)
    return W * norms[:, None]


def _check(features=256, seed=0, orthogonal=True, stabilizer=1e-6, memory_budget=None):
    return {"features": positive_int(features, "features", 1, MAX_FEATURES), "seed": seed_value(seed),
            "orthogonal": flag(orthogonal, "orthogonal"), "stabilizer": _nonneg(stabilizer),
            "memory_budget": budget(memory_budget)}


def _nonneg(x):
    if x == 0 and not isinstance(x, bool):
        return 0.0
    return positive_float(x, "stabilizer")


@checked(_check)
def performer(Q, K=None, V=None, *, features: int = 256, seed=0, orthogonal: bool = True, stabilizer: float = 1e-6,
              memory_budget=None) -> np.ndarray:
    """FAVOR+ attention with `features` positive random features (orthogonal by default), float64."""
    inst = as_instance(Q, K, V)
    m = features
    # features of both sides with their exp temporaries, the directions (QR of whole d×d blocks), the
    # scaled inputs and the instance's own copies
    nq, nk, d = inst.nq, inst.nk, inst.d
    plan(8 * (4 * m * (nq + nk) + 4 * max(m, d) * d + m * (inst.dv + 1) + 3 * (nq + nk) * d + 2 * nk * inst.dv),
         f"Performer features ({m} per row)", memory_budget)
    rng = np.random.default_rng(seed)
    q, k = scaled(inst)
    W = orthogonal_gaussian(m, inst.d, rng) if orthogonal else rng.standard_normal((m, inst.d))
    lk = k @ W.T - 0.5 * np.einsum("ij,ij->i", k, k)[:, None]
    phik = np.exp(lk - lk.max()) + stabilizer  # one constant for all keys
    del lk
    lq = q @ W.T - 0.5 * np.einsum("ij,ij->i", q, q)[:, None]
    phiq = np.exp(lq - lq.max(axis=1, keepdims=True)) + stabilizer  # one constant per query
    V1 = np.hstack([inst.V, np.ones((inst.nk, 1))])
    nd = phiq @ (phik.T @ V1)
    return nd[:, :-1] / nd[:, -1:]
