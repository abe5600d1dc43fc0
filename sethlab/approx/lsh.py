"""Sorted-LSH bucketing plus residual column sampling, in the manner of HyperAttention (Han et al.,
"HyperAttention: Long-context Attention in Near-Linear Time", ICLR 2024), docs/approx.md "LSH".

Queries and keys are hashed by the signs of r = ⌈log2 buckets⌉ random hyperplanes (angular LSH),
ordered by the Gray-code rank of their hash so that neighbouring buckets differ in one hyperplane,
and sorted; the sorted queries and keys are cut into `buckets` blocks and query block i attends
exactly to key block i (the heavy entries LSH puts there). The rest of each row is estimated from
`samples` keys drawn uniformly without replacement (one draw for all queries), each sampled key
outside the query's block weighted nk/samples. Output D̃⁻¹(N_block + N_sampled), the same
estimate for the values and the row sums. Work O(nq·(nk/buckets + samples)·(d + dv)).
"""

from __future__ import annotations

import numpy as np

from sethlab.approx._common import as_instance, budget, checked, plan, positive_int, seed_value


def gray_rank(bits: np.ndarray) -> np.ndarray:
    """The position of each row's sign pattern (as a Gray code, most significant first) in Gray order."""
    rank = np.zeros(bits.shape[0], dtype=np.int64)
    acc = np.zeros(bits.shape[0], dtype=np.int64)
    for c in range(bits.shape[1]):
        acc ^= bits[:, c].astype(np.int64)  # binary digit c of the Gray code's rank
        rank = (rank << 1) | acc
    return rank


def _check(buckets=16, samples=256, seed=0, memory_budget=None):
    return {"buckets": positive_int(buckets, "buckets"), "samples": positive_int(samples, "samples", 0),
            "seed": seed_value(seed), "memory_budget": budget(memory_budget)}


@checked(_check)
def lsh(Q, K=None, V=None, *, buckets: int = 16, samples: int = 256, seed=0, memory_budget=None) -> np.ndarray:
    """HyperAttention-style attention: sorted-LSH diagonal blocks plus uniform residual sampling, float64."""
    inst = as_instance(Q, K, V)
    nb = min(buckets, inst.nq, inst.nk)
    ns = min(samples, inst.nk)
    rng = np.random.default_rng(seed)
    d, dv, nq, nk = inst.d, inst.dv, inst.nq, inst.nk
    biggest = -(-nq // nb) * (-(-nk // nb) + ns)
    plan(8 * (biggest * 3 + (nq + nk) * (d + dv + 2)), f"LSH blocks ({nb} buckets, {ns} samples)", memory_budget)
    r = max(1, int(np.ceil(np.log2(nb))))
    H = rng.standard_normal((d, r))
    order_q = np.argsort(gray_rank(inst.Q @ H > 0), kind="stable")
    order_k = np.argsort(gray_rank(inst.K @ H > 0), kind="stable")
    block_of_key = np.empty(nk, dtype=np.int64)
    for b, keys in enumerate(np.array_split(order_k, nb)):
        block_of_key[keys] = b
    sampled = rng.choice(nk, size=ns, replace=False) if ns else np.zeros(0, dtype=np.int64)
    V1 = np.hstack([inst.V, np.ones((nk, 1))])
    out = np.empty((nq, dv))
    for b, (queries, keys) in enumerate(zip(np.array_split(order_q, nb), np.array_split(order_k, nb))):
        q = inst.Q[queries]
        sb = q @ inst.K[keys].T / d
        ss = q @ inst.K[sampled].T / d
        off = block_of_key[sampled] != b  # sampled keys outside this block: the residual
        ss = ss[:, off]
        m = np.maximum(sb.max(axis=1, keepdims=True), ss.max(axis=1, keepdims=True) if ss.shape[1] else -np.inf)
        nd = np.exp(sb - m) @ V1[keys]
        if ss.shape[1]:
            nd += (nk / ns) * (np.exp(ss - m) @ V1[sampled[off]])
        out[queries] = nd[:, :-1] / nd[:, -1:]
    return out
