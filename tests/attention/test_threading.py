"""The numpy engine's threading rule (sethlab/attention/ops.py): blocks on the pool with BLAS at one thread give
the same bits as one thread, leave BLAS's setting as it was, and the prepared engine of the quadrature's
X = λI calls gives exactly what loss_gradient gives."""

import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import sethlab.attention as sa
from sethlab import InvalidInstance
from sethlab.attention import exact
from sethlab.attention.api import PreparedGradient
from sethlab.attention.ops import NumpyOps
from sethlab.generators.ov import planted_ov
from sethlab.reductions.attention_to_gradient import gradient_instance
from sethlab.reductions.ov_to_attention import OVToAttention

from support.attention import naive_gradient
from support.longdouble import gradient_ld, max_diff


def blas_threads():
    return sorted(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")


def big_instance(seed=0, nq=700, nk=900, d=6, dv=2):
    rng = np.random.default_rng(seed)
    return sa.GradientInstance(rng.normal(size=(nq, d)), rng.normal(size=(nk, d)), rng.normal(size=(nk, dv)),
                               rng.normal(size=(nq, dv)), rng.normal(size=(d, d)) * 0.5, np.eye(dv))


def test_blocks_on_threads_give_the_same_bits_as_one_thread():
    inst = big_instance()
    one, two = NumpyOps(threads=1), NumpyOps(threads=2)
    assert exact.plan_rows(inst, two)[1] == 2  # the pool is used: nq·nk is above PARALLEL_SCORES
    g1, l1, i1 = exact.loss_gradient_exact(inst, one)
    g2, l2, i2 = exact.loss_gradient_exact(inst, two)
    assert np.array_equal(g1, g2) and l1 == l2 and i1 == i2
    fwd = inst.forward_instance()
    assert np.array_equal(exact.attention_exact(fwd, one)[0], exact.attention_exact(fwd, two)[0])


def test_blas_threads_are_restored():
    before = blas_threads()
    sa.loss_gradient(big_instance(1))
    sa.loss_gradient(big_instance(2, nq=30, nk=40))  # small: one thread, BLAS held at one
    assert blas_threads() == before


def test_threaded_gradient_matches_a_direct_formula():
    inst = big_instance(3, nq=600, nk=500, d=4, dv=1)
    np.testing.assert_allclose(sa.loss_gradient(inst).grad, naive_gradient(inst)[0], rtol=1e-11, atol=1e-13)


def test_prepared_engine_equals_loss_gradient_at_every_lambda():
    image = OVToAttention(quantity="frobenius").apply(planted_ov(300, 12, seed=1)[0])
    att = image.target
    prepared = PreparedGradient(gradient_instance(att, 1.0))
    for lam in (0.0, 0.013, 0.5, 1.0):
        gi = gradient_instance(att, lam)
        a, b = prepared(gi), sa.loss_gradient(gi)
        assert np.array_equal(a.grad, b.grad) and a.loss == b.loss
        assert a.error_bound == b.error_bound and a.loss_error_bound == b.loss_error_bound


def test_prepared_engine_falls_back_for_other_keys_and_poly():
    inst = big_instance(4, nq=40, nk=30)
    other = big_instance(5, nq=40, nk=30)
    prepared = PreparedGradient(inst)
    assert np.array_equal(prepared(other).grad, sa.loss_gradient(other).grad)
    poly = PreparedGradient(inst, method="poly", eps=1e-3)
    assert poly(inst).method == "poly"
    with pytest.raises(InvalidInstance, match="method"):
        PreparedGradient(inst, method="nope")


def test_passes_from_several_user_threads_agree_and_restore_blas():
    import threading

    before = blas_threads()
    inst = big_instance(6)
    want = exact.loss_gradient_exact(inst, NumpyOps(threads=1))[0]
    got, errors = [], []

    def run():
        try:
            for _ in range(3):
                got.append(sa.loss_gradient(inst).grad)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(got) == 9
    assert all(np.array_equal(g, want) for g in got)  # every product at one BLAS thread, whoever entered first
    assert blas_threads() == before


def test_a_failing_block_propagates_and_restores_blas():
    before = blas_threads()
    ops = NumpyOps(threads=2)
    seen = []

    def fn(lo, hi):
        if lo == 3:
            raise ValueError("block 3")
        return lo

    with pytest.raises(ValueError, match="block 3"):
        ops.map_blocks(fn, [(i, i + 1) for i in range(8)], seen.append)
    assert seen == [0, 1, 2]  # results before the failure were consumed in order
    assert blas_threads() == before


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("env", ["SETHLAB_KERNELS", "SETHLAB_EXP"])
def test_torch_kernels_in_the_numpy_engine_stay_within_their_bound(monkeypatch, dtype, env):
    pytest.importorskip("torch")
    inst = big_instance(7, nq=300, nk=400)
    ref, _, ref_err = gradient_ld(inst)
    monkeypatch.setenv(env, "numpy")
    a = sa.loss_gradient(inst, dtype=dtype)
    monkeypatch.setenv(env, "torch")
    b = sa.loss_gradient(inst, dtype=dtype)
    for res in (a, b):
        assert max_diff(res.grad, ref) <= res.error_bound + ref_err
    assert not np.array_equal(a.grad, b.grad) or dtype == "float32"  # other kernels, other bits (float64 at least)
    # numpy's products are summed in chunks within OpenBLAS's small kernel, torch's in EXACT_SUM_CHUNK
    assert a.error_bound <= b.error_bound


def test_kernel_choice(monkeypatch):
    from sethlab.attention import ops

    monkeypatch.setattr(ops, "_KERNEL_CHOICE", {})
    monkeypatch.delenv("SETHLAB_KERNELS", raising=False)
    monkeypatch.setenv("SETHLAB_EXP", "sometimes")
    with pytest.raises(InvalidInstance, match="SETHLAB_EXP"):
        ops.kernel_choice("float64", 1 << 20)
    monkeypatch.setenv("SETHLAB_KERNELS", "never")  # the newer name wins
    with pytest.raises(InvalidInstance, match="SETHLAB_KERNELS"):
        ops.kernel_choice("float64", 1 << 20)
    monkeypatch.delenv("SETHLAB_KERNELS")
    monkeypatch.delenv("SETHLAB_EXP")
    seconds = {"numpy": 1.0, "torch": 0.5}
    timed = []

    def fake(kernels, dtype):
        timed.append(kernels)
        return seconds[kernels]

    monkeypatch.setattr(ops, "_block_seconds", fake)
    monkeypatch.setattr(ops.sys, "modules", {k: v for k, v in sys.modules.items() if k != "torch"})
    assert ops.kernel_choice("float64", 1 << 10) == "numpy" and timed == []  # a small pass pays no import
    monkeypatch.undo()  # sys.modules (and the rest) as they were
    monkeypatch.delenv("SETHLAB_KERNELS", raising=False)
    monkeypatch.delenv("SETHLAB_EXP", raising=False)
    monkeypatch.setattr(ops, "_block_seconds", fake)
    pytest.importorskip("torch")
    monkeypatch.setattr(ops, "_KERNEL_CHOICE", {})
    assert ops.kernel_choice("float64", 1 << 10) == "torch"  # torch already imported: measured, 2x faster
    seconds["torch"] = 0.95  # not TORCH_KERNELS_GAIN faster
    monkeypatch.setattr(ops, "_KERNEL_CHOICE", {})
    assert ops.kernel_choice("float64", 1 << 30) == "numpy"
    assert ops.kernel_choice("float64", 1 << 30) == "numpy" and len(timed) == 4  # decided once per dtype


def test_block_seconds_measures_both_kernel_sets():
    pytest.importorskip("torch")
    from sethlab.attention import ops

    for kernels in ("numpy", "torch"):
        assert 0 < ops._block_seconds(kernels, "float64", rows=16, nk=300, d=4) < 1


def test_one_prepared_engine_from_several_threads_gives_each_call_its_own_gradient():
    import threading

    image = OVToAttention(quantity="frobenius").apply(planted_ov(300, 12, seed=2)[0])
    att = image.target
    lams = (0.1, 0.5, 1.0, 1.5)
    want = {lam: sa.loss_gradient(gradient_instance(att, lam)).grad for lam in lams}
    prepared = PreparedGradient(gradient_instance(att, 1.0))
    wrong = []

    def run(lam):
        for _ in range(15):
            if not np.array_equal(prepared(gradient_instance(att, lam)).grad, want[lam]):
                wrong.append(lam)

    threads = [threading.Thread(target=run, args=(lam,)) for lam in lams]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def test_a_pass_uses_at_most_its_planned_workers_and_nests_without_deadlock():
    import threading

    ops = NumpyOps(threads=4)
    names, seen = set(), []

    def fn(lo, hi):
        names.add(threading.current_thread().name)
        inner = []
        ops.map_blocks(lambda a, b: a, [(0, 1), (1, 2)], inner.append)  # nested: runs in this thread
        return lo + sum(inner)

    ops.map_blocks(fn, [(i, i + 1) for i in range(12)], seen.append, workers=2)
    assert seen == [i + 1 for i in range(12)] and len(names) <= 2


def test_exact_engine_refuses_an_instance_with_another_key_side():
    inst = big_instance(4, nq=40, nk=30)
    engine = exact.ExactGradient(inst, NumpyOps())
    with pytest.raises(InvalidInstance, match="A2, A3, E"):
        engine(big_instance(5, nq=40, nk=30))


def test_the_kernel_choice_is_made_once(monkeypatch):
    from sethlab.attention import ops

    monkeypatch.setattr(ops, "_KERNEL_CHOICE", {})
    monkeypatch.delenv("SETHLAB_KERNELS", raising=False)
    monkeypatch.delenv("SETHLAB_EXP", raising=False)
    monkeypatch.setattr(ops, "_block_seconds", lambda kernels, dtype: 1.0 if kernels == "numpy" else 0.1)
    monkeypatch.setattr(ops.sys, "modules", {k: v for k, v in sys.modules.items() if k != "torch"})
    assert ops.kernel_choice("float64", 1 << 10) == "numpy"  # small first pass, torch not loaded
    decided = ops._KERNEL_CHOICE
    monkeypatch.undo()  # torch visible again
    monkeypatch.setattr(ops, "_KERNEL_CHOICE", decided)
    monkeypatch.setattr(ops, "_block_seconds", lambda kernels, dtype: 1.0 if kernels == "numpy" else 0.1)
    assert ops.kernel_choice("float64", 1 << 30) == "numpy"  # a later large pass does not change it
    monkeypatch.setattr(ops, "_KERNEL_CHOICE", {})
    pytest.importorskip("torch")
    assert ops.kernel_choice("float64", 1 << 30) == "torch"  # decided afresh, the same times choose torch
