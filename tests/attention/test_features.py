"""Monomial features (MATH.md 3.2): the rank formula, the multinomials, and ⟨φ(q), ψ(k)⟩ = P(⟨q,k⟩/d)."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import sethlab
from sethlab.attention import exp_poly, features
from sethlab.attention.ops import get_ops

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


def poly_at(p, s):
    return np.polynomial.polynomial.polyval(s, np.array(p.coeffs))


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
    assert U.shape == (nq, features.rank(d, g)) and W.shape == (nk, features.rank(d, g))
    s = Q @ K.T / d
    # to rounding: each term carries <= 4(g+1) roundings, relative to Σ|a_j| t^j with t = ⟨|q|,|k|⟩/d <= R
    t = np.abs(Q) @ np.abs(K).T / d
    scale = sum(abs(a) * t**j for j, a in enumerate(p.coeffs))
    assert (np.abs(U @ W.T - poly_at(p, s)) <= 4 * (g + 2) * 2.0**-53 * scale + 1e-300).all()


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
def test_rounding_term_covers_measured_cancellation(d, R, g, kind):
    # MATH.md 3.1: U Wᵀ in float64 cancels; the certified rounding term must cover what is measured
    from sethlab.attention.poly_bounds import rounding_term

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
    measured = float(np.abs((A.astype(np.longdouble) - P) / np.exp(s)).max())
    assert 1e-16 < measured <= rounding_term(p, 2.0**-53)
