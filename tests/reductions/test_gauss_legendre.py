"""Verified Gauss-Legendre nodes and weights (docs/quadrature.md, "Nodes"): the stated node and weight
errors hold against independent high-precision references, and node counts past the verified range are refused."""

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest

import sethlab
from sethlab.reductions.gauss_legendre import MAX_NODES, verified_rule
from sethlab.reductions.quadrature import make_rule

from support.longdouble import requires_long_double


def mp_rule(m, dps=40):
    """Nodes and weights on [0, 1] by mpmath root finding on P_m at `dps` digits, from the float nodes."""
    with mpmath.workdps(dps):
        start = verified_rule(m).nodes
        xs, ws = [], []
        for lam in start:
            x = mpmath.findroot(lambda t: mpmath.legendre(m, t), 2 * mpmath.mpf(float(lam)) - 1)
            dp = m * (x * mpmath.legendre(m, x) - mpmath.legendre(m - 1, x)) / (x * x - 1) if m > 1 else 1
            xs.append((x + 1) / 2)
            ws.append(1 / ((1 - x * x) * dp * dp))
        return xs, ws


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 7, 10, 16, 23, 40])
def test_small_rules_against_mpmath(m):
    rule = verified_rule(m)
    xs, ws = mp_rule(m)
    for k in range(m):
        assert abs(mpmath.mpf(float(rule.nodes[k])) - xs[k]) <= rule.node_error[k]
        assert abs(mpmath.mpf(float(rule.weights[k])) - ws[k]) <= rule.weight_error[k]
    assert np.all(np.diff(rule.nodes) > 0) and rule.nodes[0] > 0 and rule.nodes[-1] < 1


def _legendre_ld(m, x):
    """(P_m(x), P_m'(x)) by the three-term recurrence in long double."""
    p0, p1 = np.ones_like(x), x.copy()
    for k in range(1, m):
        p0, p1 = p1, ((2 * k + 1) * x * p1 - k * p0) / (k + 1)
    return p1, m * (x * p1 - p0) / (x * x - 1)


@requires_long_double
@pytest.mark.parametrize("m", [300, 1136, 4096])
def test_large_rules_against_long_double_newton(m):
    # reference: Newton's method on P_m in long double from the float nodes (quadratic convergence, 2^-64 precision)
    rule = verified_rule(m)
    x = 2 * rule.nodes.astype(np.longdouble) - 1
    for _ in range(3):
        p, dp = _legendre_ld(m, x)
        x = x - p / dp
    p, dp = _legendre_ld(m, x)
    lam = (x + 1) / 2
    w = 1 / ((1 - x * x) * dp * dp)
    node_diff = np.abs(rule.nodes - lam).astype(float)
    weight_diff = np.abs(rule.weights - w).astype(float)
    slack = 1e-17 + 1e-15 * rule.weight_error  # the long-double reference's own error
    assert np.all(node_diff <= rule.node_error + 1e-17)
    assert np.all(weight_diff <= rule.weight_error + slack)
    # the bounds are proofs, not decoration: the verified errors are small, and close to what is measured
    assert rule.node_error.max() < 1e-12 and rule.weight_error.max() < 1e-12


@pytest.mark.parametrize("m", [1, 6, 51, 200])
def test_rule_integrates_polynomials_of_degree_two_m_minus_one(m):
    rule = make_rule("gauss-legendre", m)
    for j in (0, 1, 2 * m - 1):
        est = float(rule.weights @ rule.nodes**j)
        # the computed rule is within its stated errors of the exact one, which is exact for degree <= 2m − 1
        slack = float(rule.weight_error.sum() + rule.weights @ (j * rule.node_error)) + 4 * m * 2.0**-53
        assert abs(est - 1 / (j + 1)) <= slack


def test_node_counts_past_the_verified_range_are_refused():
    with pytest.raises(sethlab.InvalidInstance, match="at most"):
        make_rule("gauss-legendre", MAX_NODES + 1)
    with pytest.raises(sethlab.CertificationError, match="at most"):
        verified_rule(MAX_NODES + 1)
    with pytest.raises(sethlab.InvalidInstance):
        make_rule("gauss-legendre", 0)


def test_riemann_rule_states_its_rounding():
    m = 7
    rule = make_rule("riemann", m)
    for k in range(m):
        assert abs(Fraction(float(rule.nodes[k])) - Fraction(k, m)) <= Fraction(float(rule.node_error[k]))
        assert abs(Fraction(float(rule.weights[k])) - Fraction(1, m)) <= Fraction(float(rule.weight_error[k]))
    assert math.isclose(rule.weights.sum(), 1.0)
