"""Monomial features turning P(⟨q, k⟩/d) into a rank-r product ⟨φ(q), ψ(k)⟩ (docs/polynomial.md §3.2).

φ(q)_α = a_{|α|}·(|α|!/α!)·q^α/d^{|α|} and ψ(k)_α = k^α over all α ∈ Nᵈ with
|α| <= g, so r = C(d + g, g). Monomials are built degree by degree: the
degree-j block is, for each variable i, x_i times the degree-(j−1) monomials
whose smallest variable is >= i (a contiguous suffix). Blocks are stored
transposed (r × rows), so each step is one vectorized multiply into a
contiguous slab: d·g array operations per block of rows, no loop over rows or monomials.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from sethlab.errors import InvalidInstance


def rank(d: int, g: int) -> int:
    """r = C(d + g, g): the number of monomials of degree <= g in d variables (docs/polynomial.md §3.2)."""
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise InvalidInstance(f"d: must be a positive integer, got {d!r}")
    if isinstance(g, bool) or not isinstance(g, (int, np.integer)) or g < 0:
        raise InvalidInstance(f"degree: must be a non-negative integer, got {g!r}")
    return math.comb(int(d) + int(g), int(g))


@lru_cache(maxsize=64)
def schedule(d: int, g: int) -> tuple:
    """The build steps (dst_lo, dst_hi, var, src_lo, src_hi): rows[dst] = x_var · rows[src].

    Row 0 is the constant monomial; degree-j rows follow degree j−1, grouped by smallest variable.
    """
    rank(d, g)
    steps = []
    starts = [0] * d  # first row of the suffix "smallest variable >= i" in the previous degree
    prev_end = 1
    nxt = 1
    for _j in range(1, g + 1):
        new_starts = []
        for i in range(d):
            size = prev_end - starts[i]
            new_starts.append(nxt)
            steps.append((nxt, nxt + size, i, starts[i], prev_end))
            nxt += size
        starts, prev_end = new_starts, nxt
    return tuple(steps)


@lru_cache(maxsize=64)
def _tables(d: int, g: int):
    r = rank(d, g)
    expo = np.zeros((r, d), dtype=np.int64)
    multi = np.ones(r, dtype=np.float64)
    deg = np.zeros(r, dtype=np.int64)
    for lo, hi, i, slo, shi in schedule(d, g):
        expo[lo:hi] = expo[slo:shi]
        expo[lo:hi, i] += 1
        deg[lo:hi] = deg[slo:shi] + 1
        # (j; α + e_i) = (j−1; α)·j/(α_i + 1)
        multi[lo:hi] = multi[slo:shi] * deg[lo:hi] / expo[lo:hi, i]
    for a in (expo, multi, deg):
        a.flags.writeable = False
    return expo, multi, deg


def exponents(d: int, g: int) -> np.ndarray:
    """The r × d multi-indices α, in the row order of `monomials_t`."""
    return _tables(d, g)[0]


def multinomials(d: int, g: int) -> np.ndarray:
    """|α|!/α! per row (float64; exact while below 2^53)."""
    return _tables(d, g)[1]


def degrees(d: int, g: int) -> np.ndarray:
    """|α| per row."""
    return _tables(d, g)[2]


def monomials_t(ops, Xt, g: int, out=None):
    """All monomials x^α, |α| <= g, of the columns of Xt (d × b backend array), as an r × b array.

    `out`, a flat buffer of at least r·b elements, is reused when given: streaming engines build
    every block into one buffer (a contiguous r × b view of its start).
    """
    d, b = Xt.shape
    r = rank(d, g)
    F = ops.empty((r, b)) if out is None else out[: r * b].reshape(r, b)
    F[0] = 1.0
    for lo, hi, i, slo, shi in schedule(d, g):
        ops.mul_into(F[slo:shi], Xt[i : i + 1], F[lo:hi])
    return F


def query_coefficients(d: int, a) -> np.ndarray:
    """c_α = a_{|α|}·|α|!/α! (numpy float64, length r): φ(q) = c ∘ (q/d)^α (docs/polynomial.md §3.2)."""
    a = np.asarray(a, dtype=np.float64)
    g = len(a) - 1
    return a[degrees(d, g)] * multinomials(d, g)


def query_features(Q, poly, ops=None):
    """φ(Q): nq × r with φ(q)_α = a_{|α|}(|α|!/α!) q^α / d^{|α|} (docs/polynomial.md §3.2)."""
    ops = _default_ops(ops)
    Q = np.asarray(Q, dtype=np.float64)
    d = Q.shape[1]
    F = monomials_t(ops, ops.asarray(np.ascontiguousarray((Q / d).T)), poly.degree)
    c = ops.asarray(query_coefficients(d, poly.coeffs))
    return (F * c[:, None]).T


def key_features(K, g: int, ops=None):
    """ψ(K): nk × r with ψ(k)_α = k^α (docs/polynomial.md §3.2)."""
    ops = _default_ops(ops)
    K = np.asarray(K, dtype=np.float64)
    return monomials_t(ops, ops.asarray(np.ascontiguousarray(K.T)), g).T


def _default_ops(ops):
    if ops is None:
        from sethlab.attention.ops import get_ops

        ops = get_ops("numpy")
    return ops
