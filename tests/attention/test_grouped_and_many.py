"""The exact gradient's grouped pass (few distinct value rows), runs of many instances in one pass, and
GradientInstance.at (docs/problems.md §2.2, docs/rounding.md "Grouped keys")."""

import numpy as np
import pytest

import sethlab.attention as sa
from sethlab import InvalidInstance
from sethlab.attention import exact
from sethlab.attention.api import PreparedGradient
from sethlab.attention.ops import NumpyOps, get_ops
from sethlab.generators.ov import no_pair_ov, planted_ov
from sethlab.reductions.attention_to_gradient import AttentionToGradient, gradient_instance, make_oracle
from sethlab.reductions.ov_to_attention import OVToAttention

from support.attention import naive_gradient, requires_torch
from support.longdouble import gradient_ld, max_diff, requires_long_double


def grouped_instance(seed, nq=60, nk=90, d=5, dv=2, groups=3, scale=1.0, zero_E=False):
    rng = np.random.default_rng(seed)
    levels = rng.normal(size=(groups, dv)) * 3
    A3 = levels[np.arange(nk) % groups]  # every group present
    rng.shuffle(A3)
    E = np.zeros((nq, dv)) if zero_E else rng.normal(size=(nq, dv))
    return sa.GradientInstance(rng.normal(size=(nq, d)) * scale, rng.normal(size=(nk, d)) * scale, A3, E,
                               rng.normal(size=(d, d)) / np.sqrt(d), np.eye(dv))


def ungrouped(inst, ops):
    """The same instance through the ungrouped pass (the grouped one switched off)."""
    engine = exact.ExactGradient(inst, ops)
    engine.keys = exact._GradientPass(inst, ops, engine.keys.b, grouped=False)
    return engine(inst)


def test_value_groups_finds_contiguous_groups_and_gives_up_past_the_limit():
    h = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 0.0], [-0.0, 0.0], [2.0, 1.0]])
    order, cols, rows = exact.value_groups(h)
    assert len(cols) == 3 and cols[0][0] == 0 and cols[-1][1] == 5
    for (a, b), row in zip(cols, rows):
        assert (h[order[a:b]] == row).all()  # each range holds the keys of one distinct row (-0.0 == 0.0)
    assert exact.value_groups(np.arange(9.0).reshape(9, 1)) is None  # 9 > MAX_VALUE_GROUPS
    assert exact.value_groups(np.arange(9.0).reshape(9, 1), limit=9) is not None
    assert exact.value_groups(np.random.default_rng(0).normal(size=(50, 3))) is None


@requires_long_double
@pytest.mark.parametrize("groups", [1, 2, 3, 8])
@pytest.mark.parametrize("dv", [1, 3])
@pytest.mark.parametrize("zero_E", [False, True])
def test_grouped_pass_matches_the_closed_form_and_the_ungrouped_pass(groups, dv, zero_E):
    inst = grouped_instance(groups * 10 + dv, dv=dv, groups=groups, zero_E=zero_E)
    ops = get_ops()
    engine = exact.ExactGradient(inst, ops)
    assert engine.groups == groups
    g, loss, info = engine(inst)
    g0, loss0, info0 = ungrouped(inst, ops)
    ref, ref_loss, ref_bound = gradient_ld(inst)
    # each pass is within its certified bound of the long-double truth (G = 1: the gradient is 0)
    assert max_diff(g, ref) <= info["error_bound"] + ref_bound
    assert max_diff(g0, ref) <= info0["error_bound"] + ref_bound
    assert abs(loss - float(ref_loss)) <= info["loss_error_bound"] * 1.001
    assert info["error_bound"] >= info0["error_bound"]  # G more roundings per sum, never fewer


def test_nine_value_groups_take_the_ungrouped_pass():
    inst = grouped_instance(5, groups=9, dv=1)
    assert exact.ExactGradient(inst, get_ops()).groups == 0
    np.testing.assert_allclose(sa.loss_gradient(inst).grad, naive_gradient(inst)[0], rtol=1e-11, atol=1e-13)


@requires_long_double
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_grouped_pass_with_wide_scores_and_many_blocks(dtype):
    inst = grouped_instance(8, nq=700, nk=1300, d=4, dv=1, groups=2, scale=6.0)
    res = sa.loss_gradient(inst, dtype=dtype, block_size=64)
    ref, _, ref_bound = gradient_ld(inst)
    assert max_diff(res.grad, ref) <= res.error_bound + ref_bound
    if dtype == "float64":  # the bound is useful, not just true
        assert res.error_bound < 1e-6 * float(np.abs(ref).max())


@requires_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_grouped_pass_on_torch_matches_numpy(dtype):
    inst = grouped_instance(3, dv=2, groups=4)
    a = sa.loss_gradient(inst, backend="torch", dtype=dtype)
    b = sa.loss_gradient(inst, dtype=dtype)
    assert np.abs(a.grad - b.grad).max() <= a.error_bound + b.error_bound
    assert exact.ExactGradient(inst, get_ops("torch", dtype=dtype)).groups == 4


def ov_target(n=200, d0=12, seed=1, planted=True):
    inst = planted_ov(n, d0, seed=seed)[0] if planted else no_pair_ov(n, d0, seed=seed)
    return OVToAttention(quantity="frobenius").apply(inst).target


@pytest.mark.parametrize("n, stacked", [(60, True), (200, True), (1100, False)])
def test_many_gives_each_instance_what_a_call_alone_gives(n, stacked):
    att = ov_target(n, 10)
    lams = np.linspace(0.0, 1.3, 21)
    engine = exact.ExactGradient(gradient_instance(att, 1.0), get_ops())
    assert (engine.stack > 1) == stacked and engine.window >= engine.stack
    many = engine.many([gradient_instance(att, lam) for lam in lams])
    assert len(many) == len(lams)
    for lam, (g, loss, info) in zip(lams, many):
        alone = sa.loss_gradient(gradient_instance(att, lam))
        if stacked:  # a taller block: each row's sums are the same, BLAS may still split them otherwise
            assert np.abs(g - alone.grad).max() <= info["error_bound"] + alone.error_bound
            assert loss == pytest.approx(alone.loss, rel=1e-13, abs=1e-300)
        else:  # the same blocks as a call alone: the same bits
            assert np.array_equal(g, alone.grad) and loss == alone.loss
        assert info["error_bound"] == alone.error_bound and info["loss_error_bound"] == alone.loss_error_bound


def test_many_with_one_thread_and_with_the_pool_agree_to_the_bit():
    att = ov_target(120, 8)
    insts = [gradient_instance(att, lam) for lam in np.linspace(0.1, 1, 13)]
    one = exact.ExactGradient(insts[0], NumpyOps(threads=1)).many(insts)
    two = exact.ExactGradient(insts[0], NumpyOps(threads=2)).many(insts)
    for (g1, l1, i1), (g2, l2, i2) in zip(one, two):
        assert np.array_equal(g1, g2) and l1 == l2 and i1 == i2


def test_a_tight_budget_turns_stacking_off():
    inst = gradient_instance(ov_target(60, 8), 0.5)
    assert exact.ExactGradient(inst, get_ops()).stack > 1
    assert exact.ExactGradient(inst, get_ops(), memory_budget=200_000).stack == 1


def test_many_checks_every_instance_before_any_block_runs():
    att = ov_target(60, 8)
    engine = exact.ExactGradient(gradient_instance(att, 1.0), get_ops())
    with pytest.raises(InvalidInstance, match="overflow|beyond"):
        engine.many([gradient_instance(att, 0.5), gradient_instance(att, 1e307)])
    other = grouped_instance(1)
    with pytest.raises(InvalidInstance, match="A2, A3, E"):
        engine.many([gradient_instance(att, 0.5), other])
    assert engine.many([]) == []


def test_prepared_many_keeps_order_and_falls_back_for_other_keys():
    att = ov_target(90, 8)
    other = grouped_instance(2)
    prepared = PreparedGradient(gradient_instance(att, 1.0))
    insts = [gradient_instance(att, 0.2), gradient_instance(att, 0.7), other] + \
        [gradient_instance(att, lam) for lam in np.linspace(0, 1, 40)]
    results = list(prepared.many(iter(insts)))
    assert len(results) == len(insts)
    for inst, res in zip(insts, results):
        alone = sa.loss_gradient(inst)
        assert np.abs(res.grad - alone.grad).max() <= res.error_bound + alone.error_bound
        assert res.seconds >= 0


def test_the_decision_is_the_same_with_and_without_many():
    image = OVToAttention(quantity="frobenius").apply(planted_ov(64, 8, seed=3)[0])
    oracle = make_oracle()
    plain_calls = []

    def plain(inst, accuracy=None):  # no `many`: one call at a time
        plain_calls.append(1)
        return oracle(inst, accuracy)

    red = AttentionToGradient()
    a, b = red.solve(image, oracle), red.solve(image, plain)
    assert a.answer == b.answer is True and a.calls == b.calls == len(plain_calls)
    assert abs(a.quantity - b.quantity) <= a.error + b.error


def test_an_oracle_whose_many_drops_calls_is_refused():
    image = OVToAttention(quantity="frobenius").apply(planted_ov(32, 6, seed=3)[0])
    oracle = make_oracle()

    def broken(inst, accuracy=None):
        return oracle(inst, accuracy)

    broken.many = lambda insts, accuracy=None: (oracle(g, accuracy) for g, _ in zip(insts, range(3)))
    with pytest.raises(InvalidInstance, match="many"):
        AttentionToGradient().solve(image, broken)


def test_at_shares_the_arrays_checks_x_and_equals_a_fresh_instance():
    inst = grouped_instance(4, d=3)
    X = np.arange(9.0).reshape(3, 3) / 10
    moved = inst.at(X)
    assert moved.A1 is inst.A1 and moved.A2 is inst.A2 and moved.E is inst.E
    fresh = sa.GradientInstance(inst.A1, inst.A2, inst.A3, inst.E, X, inst.Y)
    a, b = sa.loss_gradient(moved), sa.loss_gradient(fresh)
    assert np.array_equal(a.grad, b.grad) and a.error_bound == b.error_bound
    with pytest.raises(InvalidInstance, match="X: must be 3x3"):
        inst.at(np.eye(2))
    with pytest.raises(InvalidInstance, match="X: entry"):
        inst.at(np.full((3, 3), np.nan))
    assert not moved.X.flags.writeable


@requires_long_double
@pytest.mark.parametrize("grouped", [True, False])
def test_with_and_without_the_row_max_shift_both_stay_within_their_bounds(monkeypatch, grouped):
    from sethlab.attention.rounding import scales, shift_free

    inst = grouped_instance(6, nq=80, nk=150, d=3, dv=1, groups=2 if grouped else 9, scale=8.0)
    assert shift_free(scales(inst), "float64")
    ref, _, ref_bound = gradient_ld(inst)
    free = sa.loss_gradient(inst)
    monkeypatch.setattr(exact, "shift_free", lambda sc, dtype: False)
    shifted = sa.loss_gradient(inst)
    for res in (free, shifted):
        assert max_diff(res.grad, ref) <= res.error_bound + ref_bound
    assert free.error_bound <= shifted.error_bound  # no subtraction to round


def test_scores_past_the_shift_free_range_take_the_shift():
    from sethlab.attention.rounding import SHIFT_FREE, scales, shift_free

    rng = np.random.default_rng(0)
    for reach, free in ((0.9, True), (1.1, False)):
        at = -SHIFT_FREE["float64"] * reach
        Q = np.column_stack([np.full(5, 20.0), np.zeros(5)])
        K = np.column_stack([np.full(7, at / 10.0), rng.uniform(-1, 1, 7)])
        inst = sa.AttentionInstance(Q, K, rng.normal(size=(7, 1)))
        assert shift_free(scales(inst), "float64") is free
        out = sa.attention(inst)
        assert np.isfinite(out.output).all() and 0 < out.error_bound < 1e-10


@pytest.mark.parametrize("lam", [1.0, -0.37, 0.0, 1e-300, 3.5e5])
def test_scales_at_lambda_identity_bound_the_scores_and_match_the_general_path(lam):
    from sethlab.attention import rounding

    rng = np.random.default_rng(11)
    base = sa.GradientInstance(rng.normal(size=(40, 6)) * 3, rng.normal(size=(70, 6)), rng.normal(size=(70, 2)),
                               rng.normal(size=(40, 2)), np.eye(6), np.eye(2))
    inst = base.at(lam * np.eye(6))
    fast = rounding.scales(inst)
    assert inst.X_scalar == lam
    general = rounding._scales(base.at(lam * np.eye(6) + np.diag([0.0] * 5 + [1e-300])))  # not λI: general path
    LDt = np.longdouble
    exact_abs = (np.abs(inst.A1.astype(LDt)) * abs(LDt(lam))) @ np.abs(inst.A2.astype(LDt)).T / 6
    stored = np.abs(inst.A1X.astype(LDt) @ inst.A2.astype(LDt).T) / 6
    assert fast.R_abs >= float(exact_abs.max()) and fast.R >= float(stored.max())
    assert fast.max_input >= float(np.abs(inst.A1X).max())
    if lam != 0:
        assert fast.R_abs <= general.R_abs * (1 + 1e-12) + 1e-300
    res = sa.loss_gradient(inst)
    assert np.isfinite(res.grad).all() and res.error_bound > 0


def test_scalar_identity_recognizes_only_lambda_times_identity():
    from sethlab.attention.instances import scalar_identity as _scalar_identity

    assert _scalar_identity(np.eye(3) * 2.5) == 2.5
    assert _scalar_identity(np.zeros((3, 3))) == 0.0
    assert _scalar_identity(np.diag([1.0, 1.0, 2.0])) is None
    off = np.eye(3)
    off[0, 2] = 1e-300
    assert _scalar_identity(off) is None
    assert _scalar_identity(np.diag([-0.0, 0.0, 0.0])) == 0.0


@pytest.mark.parametrize("groups", [2, 9])
def test_the_engine_allocates_blocks_not_the_whole_score_matrix(groups):
    # regression: the stacking plan once sized every buffer by nq rows, an nq x nk matrix per thread
    import tracemalloc

    inst = grouped_instance(1, nq=6000, nk=2500, d=4, dv=1, groups=groups)
    engine = exact.ExactGradient(inst, get_ops())
    assert engine.stack == 1 and engine.keys.b == engine.b < inst.nq
    whole = inst.nq * inst.nk * 8
    tracemalloc.start()
    try:
        sa.loss_gradient(inst)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < whole / 2


def _mp_gradient(inst, prec=400):
    """∂L/∂X in 400-bit arithmetic (mpmath), for instances of a few entries."""
    mp = pytest.importorskip("mpmath")
    with mp.workprec(prec):
        M = lambda A: mp.matrix([[mp.mpf(float(v)) for v in r] for r in A])  # noqa: E731
        A1, X, A2, A3, E, Y = map(M, (inst.A1, inst.X, inst.A2, inst.A3, inst.E, inst.Y))
        Q, h, d = A1 * X, A3 * Y, inst.d
        nq, nk, dv = inst.nq, inst.nk, inst.dv
        F = mp.matrix(nq, d)
        for i in range(nq):
            s = [sum(Q[i, k] * A2[j, k] for k in range(d)) / d for j in range(nk)]
            w = [mp.e ** (x - max(s)) for x in s]
            S = [x / sum(w) for x in w]
            a = [sum(S[j] * h[j, t] for j in range(nk)) for t in range(dv)]
            c = [a[t] - E[i, t] for t in range(dv)]
            r = sum(c[t] * a[t] for t in range(dv))
            for b in range(d):
                F[i, b] = sum(S[j] * (sum(c[t] * h[j, t] for t in range(dv)) - r) * A2[j, b] for j in range(nk))
        G = A1.T * F / d
        return [[G[a, b] for b in range(d)] for a in range(d)]


def test_grouped_pass_counts_the_underflow_its_late_scaling_amplifies():
    # found by a review: the grouped pass sums ŵ·A2 first and scales by z_g <= Q/l afterwards; with no shift
    # 1/l reached e^600 and an instance of normal numbers erred by 1e9 against a stated bound of 28
    rng = np.random.default_rng(2)
    A2 = 1e-290 * rng.uniform(1, 1.01, (6, 1))
    inst = sa.GradientInstance(np.array([[-6.9e291]]), A2, np.array([[0.0], [1e6]] * 3), np.zeros((1, 1)),
                               np.eye(1), np.eye(1))
    assert exact.ExactGradient(inst, get_ops()).groups == 2
    ref = _mp_gradient(inst)
    res = sa.loss_gradient(inst)
    assert abs(float(res.grad[0, 0]) - float(ref[0][0])) <= res.error_bound


def test_small_values_with_a_large_target_take_the_shift_instead_of_overflowing():
    # c/l can reach (H + E)·e^reach without the shift: found by a review (a spurious non-finite refusal)
    from sethlab.attention.rounding import scales, shift_free

    inst = sa.GradientInstance(np.array([[-640.0]]), np.ones((3, 1)), np.array([[1e-100], [0.0], [2e-100]]),
                               np.array([[1e100]]), np.eye(1), np.eye(1))
    assert not shift_free(scales(inst), "float64")
    res = sa.loss_gradient(inst)
    assert np.isfinite(res.grad).all() and np.abs(res.grad).max() <= res.error_bound


def test_an_oracle_whose_many_gives_extra_results_is_refused():
    image = OVToAttention(quantity="frobenius").apply(planted_ov(32, 6, seed=3)[0])
    oracle = make_oracle()

    def noisy(inst, accuracy=None):
        return oracle(inst, accuracy)

    def many(insts, accuracy=None):
        for g in insts:
            yield oracle(g, accuracy)
            yield oracle(g, accuracy)

    noisy.many = many
    with pytest.raises(InvalidInstance, match="more than"):
        AttentionToGradient().solve(image, noisy)


def test_a_pass_holds_at_most_sixteen_calls_and_fewer_under_a_tight_budget():
    inst = gradient_instance(ov_target(90, 8), 0.5)  # nq·nk small: stacks of several
    engine = exact.ExactGradient(inst, get_ops())
    assert engine.stack > 1 and engine.window <= exact.MAX_PASS_INSTANCES and engine.window % engine.stack == 0
    wide = sa.GradientInstance(np.ones((64, 512)) * 0.01, np.ones((70, 512)) * 0.01, np.ones((70, 1)),
                               np.zeros((64, 1)), np.eye(512), np.eye(1))
    roomy = exact.ExactGradient(wide, get_ops())
    tight = exact.ExactGradient(wide, get_ops(), memory_budget=14_000_000)
    assert tight.window < roomy.window
    att = ov_target(90, 8)
    results = engine.many([gradient_instance(att, lam) for lam in np.linspace(0, 1, 40)])
    assert len(results) == 40
