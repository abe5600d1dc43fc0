"""Polynomials for exp with certified relative error (docs/polynomial.md §3.1): worked degrees, bounds >= measured, positivity."""

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import sethlab
from sethlab.attention import exp_poly


def measured_rel_error(poly, points=4001):
    """max |P(s) − eˢ|/eˢ over a grid of [−R, R] (with both ends), evaluated with 50 significant digits."""
    R = poly.R
    grid = np.concatenate([np.linspace(-R, R, points), [-R, R]])
    coeffs = [Fraction(a) for a in poly.coeffs]
    worst = Decimal(0)
    with localcontext() as ctx:
        ctx.prec = 50
        for s in grid[:: max(1, points // 400)]:
            sq = Fraction(float(s))
            val = sum(c * sq**j for j, c in enumerate(coeffs))
            pv = Decimal(val.numerator) / Decimal(val.denominator)
            worst = max(worst, abs(pv / Decimal(float(s)).exp() - 1))
    return float(worst)


def min_degree(bound, R, eta):
    return next(g for g in range(200) if bound(g, R) <= eta)


@pytest.mark.parametrize(
    "R, eta, simple, exact",
    [(1, 1e-6, 13, 12), (2, 1e-6, 19, 17), (4, 1e-9, 35, 30)],
)
def test_shifted_taylor_degrees_match_math_md(R, eta, simple, exact):
    assert min_degree(lambda g, R: exp_poly.shifted_taylor_bound(g, R, exact=False), R, eta) == simple
    assert min_degree(exp_poly.shifted_taylor_bound, R, eta) == exact


def test_plain_taylor_worked_example_degree_15():
    # docs/polynomial.md §3.4: η ≈ 1.5e-12 at R = 1 needs g = 15 with plain Taylor
    assert min_degree(exp_poly.taylor_bound, 1.0, 1.5e-12) == 15


def test_shifted_exact_worst_case_is_attained_at_s_equals_R():
    p = exp_poly.shifted_taylor(6, 1.5)
    tail = 1 - math.exp(-3.0) * sum(3.0**j / math.factorial(j) for j in range(7))
    assert p.rel_error == pytest.approx(tail, rel=1e-8)
    assert abs(p(np.array([1.5]))[0] / math.exp(1.5) - 1) == pytest.approx(tail, rel=1e-8)


@pytest.mark.parametrize("kind", exp_poly.KINDS)
@pytest.mark.parametrize("g, R", [(3, 0.5), (6, 1.0), (9, 2.0), (12, 3.0), (16, 4.0)])
def test_certified_bound_covers_measured_error(kind, g, R):
    p = exp_poly.build(kind, g, R)
    m = measured_rel_error(p)
    assert m <= p.rel_error
    assert p.rel_error < 60 * m  # the certificates are within a small factor (Taylor: e^R at s = −R)


@pytest.mark.parametrize("g, R", [(4, 0.7), (11, 1.0), (15, 2.5)])
def test_chebyshev_certificate_is_tight(g, R):
    p = exp_poly.chebyshev(g, R)
    m = measured_rel_error(p)
    assert m <= p.rel_error <= 1.05 * m + 1e-15


@settings(deadline=None, max_examples=12)
@given(st.integers(1, 18), st.floats(0.05, 4.0))
def test_chebyshev_certificate_bounds_sampled_error(g, R):
    p = exp_poly.chebyshev(g, R)
    assert measured_rel_error(p, points=800) <= p.rel_error


def test_certificate_sees_a_perturbed_coefficient():
    p = exp_poly.taylor(10, 1.0)
    bad = list(p.coeffs)
    bad[3] += 1e-6  # adds up to 1e-6·e^R relative error at s = ±R
    cert = exp_poly.certify_relative_error(tuple(bad), 1.0)
    worse = exp_poly.ExpPoly("taylor", 10, 1.0, tuple(bad), cert, False)
    assert cert >= measured_rel_error(worse) >= 2.6e-6  # e^R·1e-6 at s = −1, less the Taylor tail there
    assert cert >= p.rel_error


def test_certificate_of_taylor_is_below_its_closed_form():
    for g in (5, 9, 14):
        p = exp_poly.taylor(g, 1.0)
        assert exp_poly.certify_relative_error(p.coeffs, 1.0) <= p.rel_error


@pytest.mark.parametrize("kind", exp_poly.KINDS)
def test_positive_when_certified_below_one(kind):
    for g in (2, 3, 5, 8):
        p = exp_poly.build(kind, g, 2.0)
        s = np.linspace(-2.0, 2.0, 2001)
        if p.rel_error < 1:
            assert (p(s) > 0).all()


def test_odd_taylor_can_fail_outside_certified_range():
    # T_3 has a real root (near −1.6): its certificate at R = 2 must be >= 1
    p = exp_poly.taylor(3, 2.0)
    assert p(np.array([-2.0]))[0] < 0
    assert p.rel_error >= 1


def test_shifted_taylor_is_one_sided():
    p = exp_poly.shifted_taylor(7, 2.0)
    s = np.linspace(-2.0, 2.0, 1001)
    assert p.one_sided
    assert 0 < p.excess < 1e-13
    assert (p(s) <= np.exp(s) * (1 + p.excess)).all()
    assert measured_rel_error(p) <= p.rel_error


def test_r_zero_is_exact_at_degree_zero():
    p = exp_poly.taylor(0, 0.0)
    assert p.coeffs == (1.0,)
    assert p.rel_error < 1e-15
    assert not exp_poly.available("chebyshev", 3, 0.0)


def test_best_at_degree_picks_chebyshev_at_r_one():
    assert exp_poly.best_at_degree(12, 1.0).kind == "chebyshev"
    # at R = 0.01 plain Taylor and Chebyshev are both at rounding level; shifted is far worse
    assert exp_poly.best_at_degree(6, 0.01).kind in ("taylor", "chebyshev")


@pytest.mark.parametrize(
    "call",
    [
        lambda: exp_poly.taylor(-1, 1.0),
        lambda: exp_poly.taylor(2.5, 1.0),
        lambda: exp_poly.shifted_taylor(3, -1.0),
        lambda: exp_poly.shifted_taylor(3, float("nan")),
        lambda: exp_poly.chebyshev(3, 0.0),
        lambda: exp_poly.build("remez", 3, 1.0),
    ],
)
def test_bad_arguments_raise_invalid_instance(call):
    with pytest.raises(sethlab.InvalidInstance):
        call()


@pytest.mark.parametrize("kind", exp_poly.KINDS)
@pytest.mark.parametrize("g, R", [(6, 1.0), (12, 2.0), (18, 3.0)])
def test_exact_arithmetic_bounds_cover_measured_error(kind, g, R):
    # closed forms for the exact-coefficient polynomials (planning the theorems' setting)
    p = exp_poly.build(kind, g, R, exact_arithmetic=True)
    assert measured_rel_error(p) <= p.rel_error
    assert p.rel_error <= 200 * measured_rel_error(p)


def test_chebyshev_needs_fewer_degrees_than_taylor_at_r_one():
    # the worked example's η ≈ 1.5e-12: Taylor needs 15, the certified Chebyshev series 12
    g_cheb = next(g for g in range(40) if exp_poly.chebyshev(g, 1.0).rel_error <= 1.5e-12)
    assert g_cheb == 12
