"""The polynomial-method backend (docs/polynomial.md §3.3-3.4): measured error <= certified bound <= eps, forward and gradient."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import sethlab
import sethlab.attention as sa
from sethlab.attention import poly
from sethlab.attention.poly_bounds import CertificationError
from sethlab.attention.reference import attention_naive

from support.attention import naive_gradient, requires_cuda, requires_torch


def signs(rng, *shape):
    return rng.choice([-1.0, 1.0], size=shape)


def forward_instance(rng, kind, nq, nk, d, dv, B):
    """'random': uniform entries in [−B, B]; 'adversarial': every entry of Q, K at ±B (mixed signs), V at ±1."""
    if kind == "random":
        return sa.AttentionInstance(rng.uniform(-B, B, (nq, d)), rng.uniform(-B, B, (nk, d)), rng.normal(size=(nk, dv)))
    return sa.AttentionInstance(B * signs(rng, nq, d), B * signs(rng, nk, d), signs(rng, nk, dv))


def gradient_instance(rng, kind, nq, nk, d, dv, B, m=None):
    """As above for A1 X and A2 (X = I or a signed permutation keeps ‖A1X‖∞ = B), A3, Y, E of order 1."""
    m = dv if m is None else m
    if kind == "random":
        A1 = rng.uniform(-B, B, (nq, d))
        A2 = rng.uniform(-B, B, (nk, d))
        X = np.eye(d)
    else:
        A1 = B * signs(rng, nq, d)
        A2 = B * signs(rng, nk, d)
        X = np.eye(d)[rng.permutation(d)] * signs(rng, d, 1)
    return sa.GradientInstance(A1, A2, signs(rng, nk, m), rng.uniform(-1, 1, (nq, dv)), X, rng.uniform(-1, 1, (m, dv)))


CASES = [
    # kind, nq, nk, d, dv, B, eps
    ("random", 300, 211, 2, 3, 1.0, 1e-6),
    ("adversarial", 150, 400, 3, 2, 1.0, 1e-8),
    ("adversarial", 257, 64, 4, 4, 1.0, 1e-6),
    ("random", 120, 333, 4, 1, 1.5, 1e-5),
    ("adversarial", 200, 90, 2, 2, 1.6, 1e-4),
    ("adversarial", 64, 150, 5, 3, 0.8, 1e-9),
]


def test_worst_case_rounding_floor_refuses_what_it_cannot_prove():
    # the last case at eps = 1e-10: the worst-case rounding of the features and sums alone (any degree,
    # every summation order) exceeds eps (docs/rounding.md), so the request is refused, never guessed
    inst = gradient_instance(np.random.default_rng(64 * 150), "adversarial", 64, 150, 5, 3, 0.8, m=4)
    with pytest.raises(CertificationError, match="worst-case rounding"):
        sa.loss_gradient(inst, method="poly", eps=1e-10)


@pytest.mark.parametrize("kind, nq, nk, d, dv, B, eps", CASES)
def test_forward_measured_error_within_certified_bound_within_eps(kind, nq, nk, d, dv, B, eps):
    inst = forward_instance(np.random.default_rng(nq + nk), kind, nq, nk, d, dv, B)
    res = sa.attention(inst, method="poly", eps=eps)
    err = np.abs(res.output - attention_naive(inst)).max()
    assert err <= res.error_bound <= eps
    assert res.rank == math.comb(d + res.degree, res.degree)
    assert res.details["R"] == pytest.approx(inst.score_range)
    assert {"polynomial", "eta", "rounding_term", "eta_prime", "R", "eps"} <= set(res.details)


@pytest.mark.parametrize("kind, nq, nk, d, dv, B, eps", CASES)
def test_gradient_measured_error_within_certified_bound_within_eps(kind, nq, nk, d, dv, B, eps):
    inst = gradient_instance(np.random.default_rng(nq * nk), kind, nq, nk, d, dv, B, m=dv + 1)
    res = sa.loss_gradient(inst, method="poly", eps=eps)
    grad, loss = naive_gradient(inst)
    err = np.abs(res.grad - grad).max()
    assert err <= res.error_bound <= eps
    assert abs(res.loss - loss) <= res.loss_error_bound <= 1e-3
    assert res.rank == math.comb(d + res.degree, res.degree)


def test_adversarial_scores_really_reach_plus_minus_r():
    inst = forward_instance(np.random.default_rng(0), "adversarial", 50, 60, 3, 2, 1.2)
    s = inst.Q @ inst.K.T / inst.d
    assert inst.score_range == pytest.approx(1.44)
    assert s.max() == pytest.approx(1.44) and s.min() == pytest.approx(-1.44)


@pytest.mark.parametrize("degree", [1, 2, 3, 5, 8])
def test_given_degree_reports_a_bound_that_holds(degree):
    rng = np.random.default_rng(degree)
    f = forward_instance(rng, "adversarial", 80, 70, 3, 2, 0.9)
    g = gradient_instance(rng, "adversarial", 80, 70, 3, 2, 0.9)
    rf = sa.attention(f, method="poly", degree=degree)
    rg = sa.loss_gradient(g, method="poly", degree=degree)
    assert rf.degree == rg.degree == degree and rf.rank == rg.rank == math.comb(3 + degree, 3)
    assert np.abs(rf.output - attention_naive(f)).max() <= rf.error_bound
    assert np.abs(rg.grad - naive_gradient(g)[0]).max() <= rg.error_bound


def test_low_degree_forward_bound_is_not_vacuous():
    # degree 2 at R = 0.81: the bound must be informative (< 1) and the error must be visible
    inst = forward_instance(np.random.default_rng(3), "adversarial", 200, 200, 3, 1, 0.9)
    res = sa.attention(inst, method="poly", degree=2)
    err = np.abs(res.output - attention_naive(inst)).max()
    assert 1e-4 < err <= res.error_bound < 0.2


@settings(deadline=None, max_examples=20)
@given(
    st.integers(1, 40),
    st.integers(1, 40),
    st.integers(1, 4),
    st.integers(1, 3),
    st.floats(0.0, 1.0),  # R <= 1: eps = 1e-8 stays above the rounding floor (R = 1.3 at 1e-9 is refused, rightly)
    st.sampled_from([1e-3, 1e-6, 1e-8]),
    st.integers(0, 2**31),
)
def test_random_small_instances_stay_within_bounds(nq, nk, d, dv, B, eps, seed):
    rng = np.random.default_rng(seed)
    f = forward_instance(rng, "random", nq, nk, d, dv, B)
    g = gradient_instance(rng, "adversarial", nq, nk, d, dv, B)
    rf = sa.attention(f, method="poly", eps=eps)
    assert np.abs(rf.output - attention_naive(f)).max() <= rf.error_bound <= eps
    rg = sa.loss_gradient(g, method="poly", eps=eps)
    assert np.abs(rg.grad - naive_gradient(g)[0]).max() <= rg.error_bound <= eps


def test_zero_scores_need_degree_zero():
    rng = np.random.default_rng(0)
    inst = sa.AttentionInstance(np.zeros((5, 3)), rng.normal(size=(7, 3)), rng.normal(size=(7, 2)))
    res = sa.attention(inst, method="poly", eps=1e-12)
    assert res.degree == 0 and res.rank == 1
    assert np.allclose(res.output, inst.V.mean(axis=0), atol=1e-15, rtol=0)


def test_block_size_does_not_change_the_result():
    rng = np.random.default_rng(5)
    g = gradient_instance(rng, "random", 97, 61, 3, 2, 1.0)
    a = sa.loss_gradient(g, method="poly", eps=1e-8)
    b = sa.loss_gradient(g, method="poly", eps=1e-8, block_size=7)
    assert b.details["block_rows"] == 7
    assert np.allclose(a.grad, b.grad, rtol=1e-12, atol=1e-15)
    f = forward_instance(rng, "random", 97, 61, 3, 2, 1.0)
    assert np.allclose(
        sa.attention(f, method="poly", eps=1e-8).output, sa.attention(f, method="poly", eps=1e-8, block_size=5).output
    )


@requires_torch
@pytest.mark.parametrize("kind", ["random", "adversarial"])
def test_numpy_and_torch_agree(kind):
    rng = np.random.default_rng(11)
    f = forward_instance(rng, kind, 120, 80, 4, 3, 1.0)
    g = gradient_instance(rng, kind, 120, 80, 4, 3, 1.0)
    fn = sa.attention(f, method="poly", eps=1e-9)
    ft = sa.attention(f, method="poly", eps=1e-9, backend="torch")
    assert (fn.degree, fn.rank, fn.error_bound) == (ft.degree, ft.rank, ft.error_bound)
    assert np.allclose(fn.output, ft.output, rtol=1e-12, atol=1e-14)
    gn = sa.loss_gradient(g, method="poly", eps=1e-7)
    gt = sa.loss_gradient(g, method="poly", eps=1e-7, backend="torch")
    assert np.allclose(gn.grad, gt.grad, rtol=1e-10, atol=1e-13)
    assert gn.loss == pytest.approx(gt.loss, rel=1e-12)
    assert np.abs(gt.grad - naive_gradient(g)[0]).max() <= gt.error_bound


@requires_torch
def test_float32_certifies_with_its_own_unit_roundoff():
    rng = np.random.default_rng(2)
    f = forward_instance(rng, "adversarial", 100, 100, 2, 2, 0.7)
    r64 = sa.attention(f, method="poly", eps=1e-3, backend="torch")
    r32 = sa.attention(f, method="poly", eps=1e-3, backend="torch", dtype="float32")
    assert r32.details["rounding_term"] > 1e6 * r64.details["rounding_term"]
    assert np.abs(r32.output - attention_naive(f)).max() <= r32.error_bound <= 1e-3
    with pytest.raises(CertificationError):
        sa.attention(f, method="poly", eps=1e-9, backend="torch", dtype="float32")


def test_rounding_dominated_requests_are_refused():
    # R = 25: u·e^{2R} ≈ 6e5, no degree can certify anything (docs/polynomial.md §3.1)
    rng = np.random.default_rng(0)
    f = forward_instance(rng, "adversarial", 20, 20, 4, 1, 5.0)
    with pytest.raises(CertificationError, match="rounding"):
        sa.attention(f, method="poly", eps=1e-3)
    with pytest.raises(CertificationError, match="degree"):
        sa.attention(f, method="poly", degree=30)
    assert issubclass(CertificationError, sethlab.InvalidInstance)


def test_certification_error_is_raised_before_any_work(monkeypatch):
    rng = np.random.default_rng(0)
    g = gradient_instance(rng, "adversarial", 30, 30, 4, 2, 5.0)

    def boom(*a, **k):
        raise AssertionError("features were built")

    monkeypatch.setattr(poly, "monomials_t", boom)
    with pytest.raises(CertificationError):
        sa.loss_gradient(g, method="poly", eps=1e-6)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({}, "eps/degree"),
        ({"eps": 1e-6, "degree": 3}, "eps/degree"),
        ({"degree": -1}, "degree"),
        ({"degree": 2.5}, "degree"),
        ({"degree": 10**6}, "degree"),
        ({"eps": 1e-6, "block_size": 0}, "block_size"),
        ({"eps": -1.0}, "eps"),
    ],
)
def test_bad_requests_name_the_field(kwargs, field):
    f = forward_instance(np.random.default_rng(0), "random", 5, 5, 2, 1, 1.0)
    with pytest.raises(sethlab.InvalidInstance, match=field):
        sa.attention(f, method="poly", **kwargs)


def test_engine_functions_check_the_instance_type():
    from sethlab.attention.ops import get_ops

    f = forward_instance(np.random.default_rng(0), "random", 5, 5, 2, 1, 1.0)
    with pytest.raises(sethlab.InvalidInstance, match="GradientInstance"):
        poly.loss_gradient_poly(f, get_ops("numpy"), eps=1e-3)
    with pytest.raises(sethlab.InvalidInstance, match="inst"):
        poly.plan("not an instance", eps=1e-3)


@pytest.mark.parametrize("degree", [1, 2])
def test_gradient_bound_is_within_three_orders_on_coherent_rows(degree):
    # every query row equal and h aligned with the scores: the per-row errors add up over nq,
    # so the factor nq of docs/polynomial.md §3.4 is real and the bound stays within 1000x of the error
    rng = np.random.default_rng(0)
    n, d = 300, 3
    A2 = signs(rng, n, d)
    A3 = np.where(A2.sum(axis=1, keepdims=True) > 0, 1.0, -1.0)
    g = sa.GradientInstance(np.ones((n, d)), A2, A3, np.zeros((n, 1)), np.eye(d), np.eye(1))
    res = sa.loss_gradient(g, method="poly", degree=degree)
    err = np.abs(res.grad - naive_gradient(g)[0]).max()
    assert err <= res.error_bound <= 1000 * err


@requires_cuda
@pytest.mark.cuda
@pytest.mark.parametrize("dtype, eps", [("float64", 1e-7), ("float32", 1e-2)])
def test_cuda_matches_numpy_within_bounds(dtype, eps):
    rng = np.random.default_rng(4)
    f = forward_instance(rng, "adversarial", 700, 500, 4, 3, 0.9)
    g = gradient_instance(rng, "random", 700, 500, 4, 3, 0.9)
    rf = sa.attention(f, method="poly", eps=eps, backend="torch", device="cuda", dtype=dtype)
    rg = sa.loss_gradient(g, method="poly", eps=eps, backend="torch", device="cuda", dtype=dtype)
    assert rf.device.startswith("cuda")
    assert np.abs(rf.output - attention_naive(f)).max() <= rf.error_bound <= eps
    assert np.abs(rg.grad - naive_gradient(g)[0]).max() <= rg.error_bound <= eps


@pytest.mark.parametrize("B", [10.0, 40.0])
def test_huge_score_ranges_are_refused_not_overflowed(B):
    # R = 100 and 1600: every bound overflows float64; the answer is a clear refusal
    f = sa.AttentionInstance(B * np.ones((4, 3)), -B * np.ones((5, 3)), np.ones((5, 1)))
    for kwargs in ({"eps": 1e-3}, {"degree": 5}, {"degree": 120}):
        with pytest.raises(CertificationError):
            sa.attention(f, method="poly", **kwargs)
    if B == 10.0:  # exact arithmetic still has a (large) answer
        p = sa.plan(f, eps=1e-3, rounding=False)
        assert p.degree > 100 and math.isfinite(p.error_bound)


def test_float_degrees_stop_where_reciprocal_factorials_underflow():
    f = forward_instance(np.random.default_rng(0), "random", 6, 6, 2, 1, 1.0)
    with pytest.raises(CertificationError, match="170"):
        sa.attention(f, method="poly", degree=171)
    assert sa.plan(f, degree=171, rounding=False).rank == math.comb(173, 2)
