"""The exact streaming engine against torch autograd, finite differences and the plain formula (docs/problems.md §2.1-2.2)."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import sethlab
import sethlab.attention as sa
from sethlab.attention.exact import gradient_blocks
from sethlab.attention.ops import get_ops
from sethlab.attention.reference import attention_naive, loss_gradient_autograd, loss_gradient_flash

from support.attention import random_gradient_instance, requires_cuda, requires_torch, torch, wide_score_instance

shapes = st.tuples(
    st.integers(1, 9),  # nq
    st.integers(1, 9),  # nk
    st.integers(1, 5),  # d
    st.integers(1, 4),  # dv
    st.integers(1, 4),  # m
)


def naive_loss(inst, X=None):
    """L(X) by the plain formula, independent of the engine."""
    X = inst.X if X is None else X
    s = inst.A1 @ X @ inst.A2.T / inst.d
    S = np.exp(s - s.max(axis=1, keepdims=True))
    S /= S.sum(axis=1, keepdims=True)
    return 0.5 * np.sum((S @ inst.h - inst.E) ** 2)


def relerr(a, b):
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)


def grad_scale(inst):
    """The natural size of ∂L/∂X (from the bound of docs/polynomial.md §3.4): rounding is relative to this."""
    return inst.nq * inst.bound_A1 * inst.bound_A2 * inst.bound_h * (inst.bound_h + inst.bound_E) / inst.d


def assert_close_grad(g, ref, inst, rtol):
    """|g - ref| <= rtol |ref|∞ + 1e-14 · grad_scale: relative, with a floor where the gradient cancels to ~0."""
    assert np.abs(g - ref).max() <= rtol * np.abs(ref).max() + 1e-14 * grad_scale(inst)


@requires_torch
@settings(max_examples=60, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([0.1, 1.0, 3.0]))
def test_gradient_matches_autograd(shape, seed, scale):
    nq, nk, d, dv, m = shape
    inst = random_gradient_instance(np.random.default_rng(seed), nq, nk, d, dv, m, scale=scale)
    res = sa.loss_gradient(inst)
    g_ref, loss_ref = loss_gradient_autograd(inst)
    assert res.grad.shape == (d, d)
    assert_close_grad(res.grad, g_ref, inst, 1e-9)
    assert res.loss == pytest.approx(loss_ref, rel=1e-12, abs=1e-300)
    assert res.method == "exact" and res.rank is None
    # every floating-point result states its worst-case rounding (docs/rounding.md); autograd is well inside it
    assert 0 < res.error_bound < np.inf and np.abs(res.grad - g_ref).max() <= res.error_bound
    assert 0 < res.loss_error_bound and abs(res.loss - loss_ref) <= res.loss_error_bound


@settings(max_examples=30, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**32 - 1))
def test_gradient_matches_central_differences(shape, seed):
    nq, nk, d, dv, m = shape
    inst = random_gradient_instance(np.random.default_rng(seed), nq, nk, d, dv, m)
    g = sa.loss_gradient(inst).grad
    h = 1e-5
    fd = np.empty((d, d))
    for a in range(d):
        for b in range(d):
            Xp, Xm = inst.X.copy(), inst.X.copy()
            Xp[a, b] += h
            Xm[a, b] -= h
            fd[a, b] = (naive_loss(inst, Xp) - naive_loss(inst, Xm)) / (2 * h)
    scale = max(1.0, np.abs(g).max(), naive_loss(inst))
    np.testing.assert_allclose(g, fd, rtol=0, atol=1e-7 * scale)


@pytest.mark.parametrize("n_rows, n_keys", [(1, 1), (1, 7), (7, 1), (13, 5)])
def test_edge_sizes(n_rows, n_keys):
    inst = random_gradient_instance(np.random.default_rng(3), n_rows, n_keys, 1, 1)
    g = sa.loss_gradient(inst).grad
    if n_keys == 1:  # softmax over one key is constant: zero gradient up to rounding
        assert abs(g[0, 0]) <= 1e-14 * grad_scale(inst)
    fd = (naive_loss(inst, inst.X + 1e-6) - naive_loss(inst, inst.X - 1e-6)) / 2e-6
    assert g[0, 0] == pytest.approx(fd, rel=1e-6, abs=1e-8)


@requires_torch
@pytest.mark.parametrize("span", [50.0, 200.0, 500.0])
def test_huge_scores_stay_finite_and_correct(span):
    inst = wide_score_instance(np.random.default_rng(int(span)), 40, 31, 2, 3, span)
    assert inst.score_range >= 0.5 * span
    res = sa.loss_gradient(inst)
    g_ref, loss_ref = loss_gradient_autograd(inst)
    assert np.isfinite(res.grad).all() and np.isfinite(res.loss)
    np.testing.assert_allclose(res.grad, g_ref, rtol=1e-8, atol=1e-8 * np.abs(g_ref).max())
    assert res.loss == pytest.approx(loss_ref, rel=1e-10)


@requires_torch
@pytest.mark.parametrize("nq,nk,d,dv", [(1, 1, 1, 1), (37, 53, 5, 3), (300, 257, 16, 4)])
def test_flash_peer_matches_the_engine(nq, nk, d, dv):
    # the fused kernel bench/gradient.py compares against computes the same loss and gradient
    inst = random_gradient_instance(np.random.default_rng(nq), nq, nk, d, dv, 2, scale=1.0)
    res = sa.loss_gradient(inst)
    g, loss = loss_gradient_flash(inst)
    assert np.abs(g - res.grad).max() <= res.error_bound + 1e-12 * np.abs(res.grad).max()
    assert loss == pytest.approx(res.loss, rel=1e-12)


def test_scores_of_1000_forward():
    Q = np.array([[40.0, -40.0], [-40.0, 40.0]])
    K = np.array([[50.0, -50.0], [49.0, -49.0], [-50.0, 50.0]])
    V = np.array([[1.0], [2.0], [3.0]])
    out = sa.attention(sa.AttentionInstance(Q, K, V)).output
    # row 0: scores 2000, 1960, -2000 -> all mass on key 0; row 1 on key 2
    np.testing.assert_allclose(out, [[1.0], [3.0]], rtol=1e-15)


@pytest.mark.parametrize("seed", range(6))
def test_rows_of_p_sum_to_zero(seed):
    rng = np.random.default_rng(seed)
    inst = random_gradient_instance(rng, 23, 17, 4, 3, scale=2.0)
    rows = []
    for lo, hi, p, _ in gradient_blocks(inst, get_ops("numpy"), 5):
        rows.append(np.array(p))
        s = np.abs(p.sum(axis=1))
        assert (s <= 1e-13 * np.abs(p).sum(axis=1) + 1e-300).all()
    p = np.vstack(rows)
    assert p.shape == (23, 17)
    # p reproduces the gradient formula (1/d) A1ᵀ p A2
    np.testing.assert_allclose(inst.A1.T @ p @ inst.A2 / inst.d, sa.loss_gradient(inst).grad, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("block_size", [1, 2, 7, 64, 1000])
def test_block_size_does_not_change_results(block_size):
    inst = random_gradient_instance(np.random.default_rng(9), 50, 20, 3, 2)
    ref = sa.loss_gradient(inst, block_size=50)
    res = sa.loss_gradient(inst, block_size=block_size)
    np.testing.assert_allclose(res.grad, ref.grad, rtol=1e-12, atol=1e-14)
    assert res.loss == pytest.approx(ref.loss, rel=1e-13)
    out_ref = sa.attention(inst.forward_instance(), block_size=50).output
    np.testing.assert_allclose(sa.attention(inst.forward_instance(), block_size=block_size).output, out_ref, rtol=1e-13)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([0.5, 2.0, 8.0]))
def test_attention_matches_plain_formula(shape, seed, scale):
    nq, nk, d, dv, _ = shape
    rng = np.random.default_rng(seed)
    inst = sa.AttentionInstance(
        rng.normal(size=(nq, d)) * scale, rng.normal(size=(nk, d)) * scale, rng.normal(size=(nk, dv))
    )
    res = sa.attention(inst)
    assert res.output.shape == (nq, dv)
    np.testing.assert_allclose(res.output, attention_naive(inst), rtol=1e-12, atol=1e-13)
    assert 0 < res.error_bound < np.inf and np.abs(res.output - attention_naive(inst)).max() <= res.error_bound


def test_attention_rows_are_convex_combinations():
    rng = np.random.default_rng(5)
    inst = sa.AttentionInstance(rng.normal(size=(30, 3)) * 10, rng.normal(size=(12, 3)) * 10, rng.uniform(0, 1, (12, 2)))
    out = sa.attention(inst).output
    assert (out >= inst.V.min(axis=0) - 1e-15).all() and (out <= inst.V.max(axis=0) + 1e-15).all()


@requires_torch
@settings(max_examples=25, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**32 - 1))
def test_torch_cpu_equals_numpy(shape, seed):
    nq, nk, d, dv, m = shape
    inst = random_gradient_instance(np.random.default_rng(seed), nq, nk, d, dv, m, scale=2.0)
    a = sa.loss_gradient(inst, backend="numpy", block_size=4)
    b = sa.loss_gradient(inst, backend="torch", device="cpu", block_size=4)
    assert_close_grad(b.grad, a.grad, inst, 1e-10)
    assert b.loss == pytest.approx(a.loss, rel=1e-10)
    assert b.backend == "torch" and b.device == "cpu" and isinstance(b.grad, np.ndarray)
    fa = sa.attention(inst.forward_instance()).output
    fb = sa.attention(inst.forward_instance(), backend="torch").output
    assert relerr(fb, fa) <= 1e-10


@requires_torch
def test_torch_returns_tensors_on_request():
    inst = random_gradient_instance(np.random.default_rng(0), 4, 3, 2, 2)
    res = sa.loss_gradient(inst, backend="torch", as_tensor=True)
    assert isinstance(res.grad, torch.Tensor) and res.grad.dtype == torch.float64


@pytest.mark.parametrize("backend", ["numpy", pytest.param("torch", marks=requires_torch)])
def test_float32_on_request(backend):
    inst = random_gradient_instance(np.random.default_rng(2), 64, 48, 4, 3)
    r64 = sa.loss_gradient(inst, backend=backend)
    r32 = sa.loss_gradient(inst, backend=backend, dtype="float32")
    assert r32.dtype == "float32" and r64.dtype == "float64"
    assert relerr(r32.grad, r64.grad) < 1e-4
    assert relerr(r32.grad, r64.grad) > 0  # really computed in lower precision


def test_bad_arguments():
    inst = random_gradient_instance(np.random.default_rng(0), 4, 3, 2, 2)
    cases = [
        (dict(method="magic"), "method:"),
        (dict(backend="jax"), "backend:"),
        (dict(dtype="int8"), "dtype:"),
        (dict(block_size=0), "block_size:"),
        (dict(device="cuda"), "device:"),
        (dict(eps=-1.0), "eps:"),
        (dict(method="exact", degree=3), "degree:"),
    ]
    for kwargs, needle in cases:
        with pytest.raises(sethlab.InvalidInstance) as err:
            sa.loss_gradient(inst, **kwargs)
        assert needle in str(err.value), kwargs
    with pytest.raises(sethlab.InvalidInstance, match="inst: expected GradientInstance"):
        sa.loss_gradient(inst.forward_instance())
    with pytest.raises(sethlab.InvalidInstance, match="inst: expected AttentionInstance"):
        sa.attention(inst)


@requires_torch
def test_cuda_without_cuda_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    inst = random_gradient_instance(np.random.default_rng(0), 4, 3, 2, 2)
    with pytest.raises(sethlab.BackendUnavailable, match="CUDA is not available"):
        sa.loss_gradient(inst, backend="torch", device="cuda")
    with pytest.raises(sethlab.InvalidInstance, match="device:"):
        sa.attention(inst.forward_instance(), backend="torch", device="tpu-9")


@requires_cuda
@pytest.mark.cuda
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-10), ("float32", 1e-3)])
def test_cuda_matches_numpy(dtype, tol):
    inst = random_gradient_instance(np.random.default_rng(4), 300, 257, 8, 5, scale=2.0)
    ref = sa.loss_gradient(inst)
    res = sa.loss_gradient(inst, backend="torch", device="cuda", dtype=dtype)
    assert res.device.startswith("cuda")
    assert relerr(res.grad, ref.grad) <= tol
    out = sa.attention(inst.forward_instance(), backend="torch", device="cuda", dtype=dtype).output
    assert relerr(out, sa.attention(inst.forward_instance()).output) <= tol
