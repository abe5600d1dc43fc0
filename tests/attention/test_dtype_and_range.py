"""dtype names follow numpy, and an instance whose values would overflow is refused before any work (docs/rounding.md)."""

import numpy as np
import pytest

import sethlab
import sethlab.attention as sa

from support.attention import requires_torch, torch


def small_instance(scale=1.0):
    rng = np.random.default_rng(0)
    return sa.AttentionInstance(scale * rng.uniform(-1, 1, (5, 3)), scale * rng.uniform(-1, 1, (6, 3)),
                                rng.normal(size=(6, 2)))


@pytest.mark.parametrize("dtype", [None, float, "float", "double", "float64", "f8", np.float64, np.dtype("float64")])
def test_float64_names(dtype):
    assert sa.attention(small_instance(), dtype=dtype).dtype == "float64"


@pytest.mark.parametrize("dtype", ["float32", np.float32, np.dtype("float32"), "f4", "single"])
def test_float32_names(dtype):
    res = sa.attention(small_instance(), dtype=dtype)
    assert res.dtype == "float32" and res.error_bound > 1e-9  # its own unit roundoff, 2^-24


@pytest.mark.parametrize("dtype", ["float16", np.float16, int, "int64", np.longdouble, "bogus", 3, complex])
def test_other_dtypes_are_refused(dtype):
    with pytest.raises(sethlab.InvalidInstance, match="dtype"):
        sa.attention(small_instance(), dtype=dtype)


@requires_torch
def test_torch_dtypes():
    assert sa.attention(small_instance(), backend="torch", dtype=torch.float64).dtype == "float64"
    assert sa.attention(small_instance(), backend="torch", dtype=torch.float32).dtype == "float32"
    with pytest.raises(sethlab.InvalidInstance, match="dtype"):
        sa.attention(small_instance(), backend="torch", dtype=torch.float16)


@requires_torch
@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_float32_products_are_full_precision_inside_sethlab_and_restored_after(monkeypatch, backend):
    monkeypatch.setenv("SETHLAB_KERNELS", "torch")  # the numpy engine on torch's kernels too
    seen = []
    real = torch.matmul

    def spy(*args, **kwargs):
        if args[0].dtype == torch.float32:  # float64 products have no lower-precision mode
            seen.append(ops.torch_precision_is_full(torch))
        return real(*args, **kwargs)

    from sethlab.attention import ops

    monkeypatch.setattr(torch, "matmul", spy)

    monkeypatch.setattr(ops, "_TORCH", [])  # numpy's kernels bind torch.matmul afresh: the spy
    torch.set_float32_matmul_precision("medium")
    try:
        res = sa.attention(small_instance(), backend=backend, dtype="float32")
        assert np.abs(res.output - sa.attention(small_instance(), dtype="float64").output).max() <= res.error_bound
        assert torch.get_float32_matmul_precision() == "medium"
        assert seen and all(seen)
    finally:
        torch.set_float32_matmul_precision("highest")


@pytest.mark.parametrize("method", ["exact", "poly"])
def test_overflowing_scores_are_refused_before_computing(method):
    inst = small_instance(1e160)
    with pytest.raises(sethlab.InvalidInstance, match="scale the entries down|cannot be certified"):
        sa.attention(inst, method=method, eps=1e-3 if method == "poly" else None)
    g = sa.GradientInstance(inst.Q, inst.K, inst.V, np.zeros((5, 2)), np.eye(3), np.eye(2))
    with pytest.raises(sethlab.InvalidInstance):
        sa.loss_gradient(g, method=method, eps=1e-3 if method == "poly" else None)


def test_float32_refuses_what_float64_computes():
    inst = small_instance(1e20)  # scores about 1e40: beyond float32, inside float64
    with pytest.raises(sethlab.InvalidInstance, match="float32"):
        sa.attention(inst, dtype="float32")
    res = sa.attention(inst)
    assert np.isfinite(res.output).all() and np.isfinite(res.error_bound)
    # the scores' rounding (about 1e24) leaves only the trivial bound: the spread of V, stated honestly
    spread = float((inst.V.max(axis=0) - inst.V.min(axis=0)).max())
    assert spread <= res.error_bound <= 1.01 * spread


def test_products_that_overflow_are_refused_when_the_instance_is_used():
    big = np.full((3, 2), 1e200)
    g = sa.GradientInstance(big, np.ones((4, 2)), np.ones((4, 1)), np.zeros((3, 1)), big[:2], np.ones((1, 1)))
    with pytest.raises(sethlab.InvalidInstance, match="A1·X"):
        sa.loss_gradient(g)
