"""Monomial features (docs/polynomial.md §3.2): the rank formula, the multinomials, and ⟨φ(q), ψ(k)⟩ = P(⟨q,k⟩/d)."""

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import sethlab
from sethlab.attention import exp_poly, features
from sethlab.attention.ops import get_ops
from sethlab.attention.rounding import gamma

from support.attention import requires_torch


def brute_exponents(d, g):
    return {a for a in itertools.product(range(g + 1), repeat=d) if sum(a) <= g}


@pytest.mark.parametrize("d, g", [(1, 0), (1, 5), (2, 3), (3, 4), (4, 6), (5, 3)])
def test_exponents_are_all_monomials_once(d, g):
    ex = features.exponents(d, g)
    assert len(ex) == features.rank(d, g) == math.comb(d + g, g)
    assert {tuple(int(v) for v in a) for a in ex} == brute_exponents(d, g)
    assert (features.degrees(d, g) == ex.sum(axis=1)).all()
    # degree by degree: degrees are non-decreasing along the rows
    assert (np.diff(features.degrees(d, g)) >= 0).all()


def test_rank_values_from_math_md():
    assert features.rank(4, 15) == 3876
    assert features.rank(4, 19) == 8855
    assert features.rank(8, 8) == 12870
    assert features.rank(16, 8) == 735471


def test_multinomials_are_exact():
    ex = features.exponents(4, 9)
    want = [math.factorial(int(a.sum())) // math.prod(math.factorial(int(v)) for v in a) for a in ex]
    assert features.multinomials(4, 9).tolist() == [float(w) for w in want]


def feature_sum_bound(p, t, r):
    """γ_{r+5g}·Σ_j |a_j| t^j: the worst-case error of fl(U Wᵀ) (docs/rounding.md, "Polynomial engine").

    A term φ_α(q)ψ_α(k) of degree j carries at most 5j roundings before the length-r sum: q/d
    (j), the monomial products (j − 1 on each side), the multinomial (2j), a_j times it and the
    product with the monomial (2); Σ_α |φ_α ψ_α| = Σ_j |a_j| t^j with t = ⟨|q|, |k|⟩/d.
    """
    g = p.degree
    return gamma(r + 5 * g, 2.0**-53) * sum(abs(a) * t**j for j, a in enumerate(p.coeffs))


def exact_scores_and_poly(Q, K, p):
    """P(⟨q, k⟩/d) in exact rational arithmetic on the float inputs and coefficients."""
    d = Q.shape[1]
    coeffs = [Fraction(a) for a in p.coeffs]
    out = np.empty((Q.shape[0], K.shape[0]), dtype=object)
    for i in range(Q.shape[0]):
        for j in range(K.shape[0]):
            s = sum(Fraction(Q[i, k]) * Fraction(K[j, k]) for k in range(d)) / d
            acc = Fraction(0)
            for a in reversed(coeffs):
                acc = acc * s + a
            out[i, j] = acc
    return out


@settings(deadline=None, max_examples=40)
@given(
    st.integers(1, 6),
    st.integers(0, 9),
    st.integers(1, 7),
    st.integers(1, 7),
    st.sampled_from(exp_poly.KINDS),
    st.integers(0, 2**31),
)
def test_features_reproduce_polynomial_of_scores(d, g, nq, nk, kind, seed):
    rng = np.random.default_rng(seed)
    B = 1.3
    Q = rng.uniform(-B, B, (nq, d))
    K = rng.uniform(-B, B, (nk, d))
    R = B * B
    if not exp_poly.available(kind, g, R):
        return
    p = exp_poly.build(kind, g, R)
    U = features.query_features(Q, p)
    W = features.key_features(K, g)
    r = features.rank(d, g)
    assert U.shape == (nq, r) and W.shape == (nk, r)
    exact = exact_scores_and_poly(Q, K, p)
    t = np.abs(Q) @ np.abs(K).T / d * (1 + 1e-12)
    A = U @ W.T
    for i in range(nq):
        for j in range(nk):
            assert abs(Fraction(A[i, j]) - exact[i, j]) <= Fraction(feature_sum_bound(p, t[i, j], r))


def test_features_written_into_a_reused_buffer_match():
    ops = get_ops("numpy")
    rng = np.random.default_rng(0)
    Xt = rng.normal(size=(3, 50))
    r = features.rank(3, 5)
    buf = np.full(r * 64, np.nan)
    a = features.monomials_t(ops, Xt, 5, out=buf)
    b = features.monomials_t(ops, Xt, 5)
    assert np.array_equal(a, b)
    ex = features.exponents(3, 5)
    assert np.allclose(b, np.prod(Xt.T[None, :, :] ** ex[:, None, :], axis=2))


@requires_torch
def test_numpy_and_torch_features_agree():
    rng = np.random.default_rng(1)
    Q = rng.uniform(-1, 1, (9, 4))
    p = exp_poly.chebyshev(7, 1.0)
    tops = get_ops("torch")
    a = features.query_features(Q, p)
    b = tops.to_numpy(features.query_features(Q, p, tops))
    assert np.allclose(a, b, rtol=1e-14, atol=0)
    assert np.array_equal(features.key_features(Q, 7), tops.to_numpy(features.key_features(Q, 7, tops)))


@pytest.mark.parametrize("d, g", [(0, 3), (-1, 2), (2, -1), (True, 2), (2, 1.5)])
def test_rank_rejects_bad_arguments(d, g):
    with pytest.raises(sethlab.InvalidInstance):
        features.rank(d, g)


@pytest.mark.skipif(np.finfo(np.longdouble).eps > 1e-18, reason="needs 80-bit long double to measure float64 rounding")
@pytest.mark.parametrize("d, R, g, kind", [(2, 4.0, 30, "taylor"), (2, 8.0, 45, "shifted_taylor"), (1, 12.0, 70, "taylor")])
def test_worst_case_bound_covers_measured_cancellation(d, R, g, kind):
    # at large R the terms of U Wᵀ reach e^R while the sum is e^{-R}: the worst case must still hold
    rng = np.random.default_rng(d + g)
    B = math.sqrt(R)
    Q = B * rng.choice([-1.0, 1.0], size=(200, d))
    K = B * rng.choice([-1.0, 1.0], size=(200, d))
    p = exp_poly.build(kind, g, R)
    A = features.query_features(Q, p) @ features.key_features(K, g).T
    s = (Q.astype(np.longdouble) @ K.T.astype(np.longdouble)) / d
    P = np.zeros_like(s)
    for a in reversed(p.coeffs):
        P = P * s + np.longdouble(a)
    measured = np.abs(A.astype(np.longdouble) - P)
    t = np.abs(Q) @ np.abs(K).T / d
    bound = feature_sum_bound(p, t, features.rank(d, g))
    ref_err = (g + 2) * 2.0**-63 * sum(abs(a) * t**j for j, a in enumerate(p.coeffs))  # Horner in long double
    assert (measured <= bound + ref_err).all()
    assert float((measured / np.exp(s)).max()) > 1e-16  # the cancellation is real
