"""Nyströmformer (Xiong et al., "Nyströmformer: A Nyström-based Algorithm for Approximating
Self-Attention", AAAI 2021), docs/approx.md "Nyström".

Landmarks Q̃, K̃ are the means of `landmarks` consecutive segments of the queries and keys. With
F̃ = softmax(Q K̃ᵀ/d), Ã = softmax(Q̃ K̃ᵀ/d) and B̃ = softmax(Q̃ Kᵀ/d), the output is F̃ Ã⁺ (B̃ V):
O((nq + nk)·landmarks·(d + dv)) work. The paper approximates Ã⁺ by an iteration; here it is the
Moore-Penrose pseudo-inverse (numpy.linalg.pinv), which the iteration converges to. With as many
landmarks as keys (and at least as many queries) each key is its own landmark, F̃ = softmax(QKᵀ/d),
Ã = B̃, and the output is exact wherever B̃ is invertible.
"""

from __future__ import annotations

import numpy as np

from sethlab.approx._common import as_instance, budget, checked, plan, positive_int, softmax_rows


def segment_means(x: np.ndarray, m: int) -> np.ndarray:
    """The means of m consecutive segments of the rows of x (sizes differing by at most one)."""
    return np.vstack([seg.mean(axis=0) for seg in np.array_split(x, m)])


def _check(landmarks=64, memory_budget=None):
    return {"landmarks": positive_int(landmarks, "landmarks"), "memory_budget": budget(memory_budget)}


@checked(_check)
def nystrom(Q, K=None, V=None, *, landmarks: int = 64, memory_budget=None) -> np.ndarray:
    """Nyströmformer attention with `landmarks` segment-mean landmarks (capped at nq and nk), float64."""
    inst = as_instance(Q, K, V)
    m = min(landmarks, inst.nq, inst.nk)
    # the three kernels and their softmax temporaries, pinv's workspace (about 5 m²), the means, the output
    plan(8 * (3 * m * (inst.nq + inst.nk) + 8 * m * m + 2 * m * (inst.d + inst.dv) + 3 * inst.nq * inst.dv),
         f"Nyström kernels ({m} landmarks)", memory_budget)
    d = inst.d
    Qt, Kt = segment_means(inst.Q, m), segment_means(inst.K, m)
    F = softmax_rows(inst.Q @ Kt.T / d)
    A = softmax_rows(Qt @ Kt.T / d)
    B = softmax_rows(Qt @ inst.K.T / d)
    return F @ (np.linalg.pinv(A) @ (B @ inst.V))
