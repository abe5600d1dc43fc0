"""Composite panels (docs/quadrature.md, "Composite panels"): the bound on |f'| holds on every ellipse it
claims, checked against f' evaluated directly in complex arithmetic; the profile's bins hold the exact
scores; the composite rule is exact where it should be; decisions stay within their stated error."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sethlab.attention import AttentionInstance
from sethlab.generators.ov import no_pair_ov, planted_ov
from sethlab.reductions import panels as P
from sethlab.reductions.attention_to_gradient import AttentionToGradient, f_exact, score_error, score_span
from sethlab.reductions.ov_to_attention import OVToAttention
from sethlab.reductions.quadrature import gauss_legendre_error_bound


def fprime_complex(inst, lam):
    """f'(λ) = 2 Σ_i ⟨T_i, T_i'⟩ for complex λ, from the definition (T = N/D, T' = N'/D − T D'/D)."""
    s = inst.Q @ inst.K.T / inst.d
    t = s - s.max(axis=1, keepdims=True)
    lam = np.asarray(lam, dtype=complex)[:, None, None]
    W = np.exp(lam * t[None])
    D = W.sum(axis=2)
    Dp = (W * t[None]).sum(axis=2)
    N = W @ inst.V
    Np = (W * t[None]) @ inst.V
    T = N / D[..., None]
    Tp = Np / D[..., None] - T * (Dp / D)[..., None]
    return 2 * (T * Tp).sum(axis=(1, 2)), np.abs(D).min(axis=1)


def ellipse(a, b, rho, k=720):
    """Points on the boundary of the Bernstein ellipse of [a, b] with parameter ρ, and inside it."""
    c, h = (a + b) / 2, (b - a) / 2
    th = np.linspace(0, 2 * np.pi, k, endpoint=False)
    z = rho * np.exp(1j * th)
    inner = np.concatenate([r * np.exp(1j * th[::8]) for r in np.linspace(1, rho, 6)])
    pts = np.concatenate([z, inner])
    return c + h * (pts + 1 / pts) / 2


@st.composite
def small_instances(draw):
    nq, nk = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    d, dv = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    B = draw(st.sampled_from([0.5, 3.0, 10.0, 30.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    Q = rng.uniform(-B, B, (nq, d))
    K = rng.uniform(-B, B, (nk, d))
    V = rng.integers(0, 2, (nk, dv)).astype(float)
    if draw(st.booleans()):  # ties and repeated keys
        K[rng.integers(0, nk, nk)] = K[0]
    return AttentionInstance(Q, K, V)


@st.composite
def two_level_rows(draw):
    """Rows whose keys sit at two scores 0 and −σ: D = c0 + c1·e^{−λσ} has zeros on Re λ = ln(c1/c0)/σ,
    |Im λ| = π/σ, so the bound is tested next to the singularities, where a wrong term shows."""
    nq, d = draw(st.integers(1, 3)), 1
    sigma = draw(st.sampled_from([4.0, 20.0, 80.0, 300.0]))
    c0, c1 = draw(st.integers(1, 4)), draw(st.integers(1, 6))
    K = np.array([[0.0]] * c0 + [[-sigma]] * c1)
    Q = np.ones((nq, d))
    V = np.array([[draw(st.integers(0, 1))] for _ in range(c0 + c1)], dtype=float)
    return AttentionInstance(Q, K, V)


@settings(max_examples=50, deadline=None)
@given(small_instances() | two_level_rows(), st.integers(0, 6), st.data())
def test_panel_bound_holds_on_its_ellipse(inst, depth, data):
    """Wherever panel_bounds claims M(ρ), f' is analytic (D ≠ 0) and |f'| <= M on the closed ellipse.

    Fine bins, many slices and dense ρ make the bound nearly tight, so a missing term shows."""
    sigma = score_span(inst)
    if not sigma > 0:
        return
    prof = P.score_profile(inst, sigma, score_error(inst), bins=2048)
    k = data.draw(st.integers(0, 2**depth - 1))
    a, b = k / 2**depth, (k + 1) / 2**depth
    rhos = 1 + np.geomspace(1e-3, 40.0, 24)
    saved = P.SLICES
    try:
        P.SLICES = 48
        M = P.panel_bounds(prof, a, b, rhos)
    finally:
        P.SLICES = saved
    for rho, bound in zip(rhos, M):
        if not math.isfinite(bound):
            continue
        fp, dmin = fprime_complex(inst, ellipse(a, b, rho))
        assert dmin.min() > 0
        assert np.abs(fp).max() <= bound, (a, b, rho)


def test_panel_bound_is_finite_where_it_matters():
    """The bound is not vacuous: on the OV image it certifies every panel away from λ = 0 with a wide ellipse."""
    image = OVToAttention(quantity="frobenius").apply(planted_ov(64, 12, seed=3)[0])
    inst = image.target
    prof = P.score_profile(inst, score_span(inst), score_error(inst))
    for a, b in ((0.5, 1.0), (0.25, 0.5), (0.0, 1 / 64)):
        M = P.panel_bounds(prof, a, b, P.RHOS)
        assert np.isfinite(M).any()
        rho = P.RHOS[np.isfinite(M)].max()
        fp, _ = fprime_complex(inst, ellipse(a, b, rho))
        assert np.abs(fp).max() <= M[np.isfinite(M)].max()


def test_profile_bins_hold_the_exact_scores():
    rng = np.random.default_rng(5)
    Q = rng.uniform(-40, 40, (7, 3))
    K = rng.uniform(-40, 40, (9, 3))
    inst = AttentionInstance(Q, K, rng.integers(0, 2, (9, 1)).astype(float))
    sigma = score_span(inst)
    prof = P.score_profile(inst, sigma, score_error(inst), bins=64)
    assert prof.counts.sum() == 7 * 9 and (prof.counts.sum(axis=1) == 9).all()
    assert prof.vnorms.sum() == pytest.approx(7 * inst.V.sum(), rel=1e-8)
    s_hat = Q @ (K.T / 3)
    for i in range(7):
        shift = s_hat[i].max()
        for j in range(9):
            exact = sum(Fraction(Q[i, a]) * Fraction(K[j, a]) for a in range(3)) / 3 - Fraction(shift)
            # the bin of the computed score, as the profile computes it
            b = min(max(int((s_hat[i, j] - shift + sigma) * (64 / sigma)), 0), 63)
            assert Fraction(prof.lo[b]) <= exact <= Fraction(prof.hi[b])


def test_composite_rule_is_exact_on_each_panel():
    panels = [P.Panel(0.0, 0.25, 5, 0.0, 2.0), P.Panel(0.25, 0.5, 3, 0.0, 2.0), P.Panel(0.5, 1.0, 7, 0.0, 2.0)]
    rule = P.composite_rule(panels)
    assert rule.m == 15 and rule.weights.sum() == pytest.approx(1.0, abs=1e-15)
    # degree 5 is integrated exactly by 3 nodes, so by every panel: ∫₀¹ x^5 = 1/6
    assert rule.weights @ rule.nodes**5 == pytest.approx(1 / 6, abs=1e-15)
    # a function with a kink at 1/4: exact only because the panels break there
    f = np.abs(rule.nodes - 0.25) ** 3
    assert rule.weights @ f == pytest.approx((0.25**4 + 0.75**4) / 4, abs=1e-15)
    assert (rule.node_error > 0).all() and (rule.weight_error > 0).all()


@pytest.mark.parametrize("n, d0", [(64, 12), (128, 14)])
def test_composite_decisions_within_their_error(n, d0):
    for inst, truth in ((planted_ov(n, d0, seed=2)[0], True), (no_pair_ov(n, d0, seed=2), False)):
        image = OVToAttention(quantity="frobenius").apply(inst)
        red = AttentionToGradient()
        plan = red.plan(image)
        assert plan["panels"] and plan["nodes"] == sum(p["nodes"] for p in plan["panels"])
        dec = red.solve(image)
        assert dec.answer is truth and dec.calls == plan["nodes"]
        assert abs(dec.quantity - f_exact(image.target)) <= dec.error
        assert dec.details["quadrature_error"] <= image.prediction.gap / 4


def test_panels_cut_the_certified_count():
    """n = 256: one panel needs 423 nodes for a quarter of the gap; dyadic panels at most a fifth of that."""
    image = OVToAttention(quantity="frobenius").apply(planted_ov(256, 16, seed=1)[0])
    inst = image.target
    sigma = score_span(inst)
    single = AttentionToGradient(nodes=423).plan(image)
    assert single["quadrature_bound"] == gauss_legendre_error_bound(423, sigma, inst.nq, inst.dv, inst.bound_V)[0]
    assert single["quadrature_bound"] <= image.prediction.gap / 4
    composite = AttentionToGradient().plan(image)
    assert composite["nodes"] <= 423 // 5 and composite["quadrature_bound"] <= image.prediction.gap / 4


def test_no_plan_when_the_bound_cannot_be_met():
    image = OVToAttention(quantity="frobenius").apply(planted_ov(32, 10, seed=1)[0])
    inst = image.target
    prof = P.score_profile(inst, score_span(inst), score_error(inst))
    assert P.composite_plan(prof, 0.0, 1000) is None
    assert P.composite_plan(prof, 1e-300, 10) is None


def test_profile_refuses_bad_arguments():
    inst = AttentionInstance(np.ones((2, 1)), np.ones((2, 1)), np.ones((2, 1)))
    from sethlab import InvalidInstance

    with pytest.raises(InvalidInstance, match="bins"):
        P.score_profile(inst, 1.0, 0.0, bins=0)
    with pytest.raises(InvalidInstance, match="sigma"):
        P.score_profile(inst, 0.0, 0.0)
