"""Attention → gradient (docs/quadrature.md): f' from one gradient call, quadrature rules and their stated bounds."""

import numpy as np
import pytest

import sethlab
import sethlab.attention as sa
from sethlab.generators.ov import no_pair_ov, planted_ov
from sethlab.reductions.attention_to_gradient import (
    AttentionToGradient,
    f_at_zero,
    f_exact,
    gradient_instance,
    make_oracle,
    score_span,
)
from sethlab.reductions.ov_to_attention import OVToAttention
from sethlab.reductions.quadrature import gauss_legendre_error_bound, make_rule, paper_points, riemann_error_bound


def frob_image(inst):
    return OVToAttention(quantity="frobenius").apply(inst)


def test_derivative_is_twice_the_trace():
    image = frob_image(planted_ov(24, 8, seed=0)[0])
    inst = image.target
    for lam in (0.0, 0.3, 0.9):
        g = sa.loss_gradient(gradient_instance(inst, lam)).grad
        h = 1e-6
        fd = (f_exact(inst, lam + h) - f_exact(inst, lam - h)) / (2 * h)
        assert 2 * np.trace(g) == pytest.approx(fd, rel=1e-5, abs=1e-8)
    # and L(λI) = f(λ)/2
    assert sa.loss(gradient_instance(inst, 0.7)) == pytest.approx(f_exact(inst, 0.7) / 2, rel=1e-12)


def test_f_at_zero_is_exact():
    for seed in range(3):
        inst = frob_image(no_pair_ov(30, 9, seed=seed, n_b=17)).target
        assert f_at_zero(inst) == pytest.approx(f_exact(inst, 0.0), rel=1e-13)


def test_score_span():
    inst = frob_image(planted_ov(20, 6, seed=1)[0]).target
    s = inst.Q @ inst.K.T / inst.d
    assert score_span(inst) == pytest.approx((s.max(1) - s.min(1)).max())


@pytest.mark.parametrize("seed", range(3))
def test_gauss_legendre_measured_error_within_certified_bound(seed):
    inst = frob_image(planted_ov(32, 12, seed=seed)[0]).target
    sigma = score_span(inst)
    truth = f_exact(inst) - f_at_zero(inst)
    for m in (32, 128, 256):
        rule = make_rule("gauss-legendre", m)
        vals = [2 * np.trace(sa.loss_gradient(gradient_instance(inst, lam)).grad) for lam in rule.nodes]
        err = abs(rule.weights @ vals - truth)
        bound, _ = gauss_legendre_error_bound(m, sigma, inst.nq, inst.dv, inst.bound_V)
        assert err <= bound + 1e-12 * m  # the bound is for exact arithmetic; allow float noise


def test_riemann_measured_error_within_stated_bound_which_does_not_close():
    image = frob_image(planted_ov(64, 14, seed=4)[0])
    inst = image.target
    red = AttentionToGradient(rule="riemann")
    dec = red.solve(image)
    m = paper_points(max(inst.nq, inst.nk))
    assert dec.calls == m == red.apply(image).prediction.calls
    measured = abs(dec.quantity - f_exact(inst))
    bound = riemann_error_bound(m, score_span(inst), inst.nq, inst.dv, inst.bound_V)
    assert measured <= bound
    assert bound > image.prediction.gap  # the paper's budget does not close: the stated error exceeds the gap
    assert dec.answer is None  # so the rule refuses to answer


@pytest.mark.parametrize("seed", range(3))
def test_gauss_legendre_decides_ov_through_the_gradient(seed):
    for inst, truth in ((planted_ov(48, 12, seed=seed)[0], True), (no_pair_ov(48, 12, seed=seed), False)):
        image = frob_image(inst)
        red = AttentionToGradient()
        pred = red.apply(image).prediction
        dec = red.solve(image)
        assert dec.answer == truth and dec.conclusive
        assert dec.calls == pred.calls > 0  # oracle calls exactly as predicted
        assert dec.details["quadrature_error"] <= image.prediction.gap / 4
        assert abs(dec.quantity - f_exact(image.target)) <= dec.error
        # the empirical rule: its estimate is right, but it never decides on the estimate (and the certified
        # composite panels now need fewer calls than its doubling anyway)
        est = AttentionToGradient(certified=False).solve(image)
        assert est.details["bound_kind"] == "estimated" and dec.calls <= est.calls
        assert abs(est.quantity - f_exact(image.target)) <= est.details["estimated_error"] + 1e-9
        assert est.answer is None and est.details["quadrature_error"] > est.margin


def test_oracle_calls_are_counted_and_any_backend_works():
    image = frob_image(planted_ov(16, 8, seed=2)[0])
    calls = []
    base = make_oracle()

    def counting(inst, accuracy=None):
        calls.append(inst.X[0, 0])
        return base(inst, accuracy)

    dec = AttentionToGradient(nodes=40).solve(image, counting)
    assert len(calls) == dec.calls == 40
    assert sorted(calls) == pytest.approx(sorted(make_rule("gauss-legendre", 40).nodes))
    pytest.importorskip("torch")
    dec_t = AttentionToGradient(nodes=40).solve(image, make_oracle(backend="torch"))
    assert dec_t.quantity == pytest.approx(dec.quantity, rel=1e-10)


def test_refuses_non_binary_values_and_wrong_quantity():
    image = OVToAttention(quantity="max").apply(planted_ov(8, 4, seed=0)[0])
    with pytest.raises(sethlab.InvalidInstance, match="decides"):
        AttentionToGradient().solve(image)
    with pytest.raises(sethlab.InvalidInstance, match="rule"):
        AttentionToGradient(rule="simpson")
    with pytest.raises(sethlab.InvalidInstance, match="nodes"):
        AttentionToGradient(nodes=0)


@pytest.mark.parametrize("n, d0", [(64, 12), (128, 14)])
def test_poly_cannot_be_fast_on_the_hard_instances(n, d0):
    """The planned rank at the accuracy the reduction needs dwarfs n² (entries Θ(log n), docs/polynomial.md §3.2, docs/reductions.md §5.1)."""
    image = frob_image(planted_ov(n, d0, seed=0)[0])
    accuracy = AttentionToGradient().apply(image).prediction.accuracy
    inst = gradient_instance(image.target, 1.0)
    assert inst.score_range > 100  # scores of size β: far outside the bounded regime
    exact_arithmetic = sa.plan(inst, eps=accuracy, rounding=False)  # even without rounding error
    assert exact_arithmetic.rank > 1e15 * inst.nq * inst.nk
    assert exact_arithmetic.flop_ratio < 1e-10 and not exact_arithmetic.fits
    with pytest.raises(sethlab.InvalidInstance, match="cannot be certified"):
        sa.plan(inst, eps=accuracy)  # in float64 the rounding term alone exceeds the accuracy


def test_estimate_fooled_by_a_sharp_integrand_is_not_an_answer():
    """β huge: f' lives near λ = 0, below every node; two node counts agree on a wrong f(1) (review finding)."""
    from sethlab.instances import OVInstance

    inst = OVInstance(np.array([[1, 1], [1, 0]]), np.array([[1, 0], [1, 1], [1, 1]]))  # NO
    image = OVToAttention(beta=1e4, quantity="frobenius").apply(inst)
    for certified in (False, True):
        dec = AttentionToGradient(certified=certified, max_nodes=512).solve(image)
        assert dec.answer is not True  # never the wrong answer; inconclusive is honest
    assert AttentionToGradient(certified=False).solve(image).answer is None


def test_overlapping_ranges_spend_no_calls():
    from sethlab.instances import OVInstance

    inst = OVInstance(np.array([[1, 1], [1, 0]]), np.array([[1, 0], [1, 1], [1, 1]]))
    image = OVToAttention(beta=1e-3, quantity="frobenius").apply(inst)
    dec = AttentionToGradient().solve(image)
    assert dec.answer is None and dec.calls == 0 and "overlap" in dec.reason
