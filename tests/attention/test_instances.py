"""Validation and bounds of AttentionInstance and GradientInstance (docs/problems.md §1-2, docs/polynomial.md §3.1)."""

import numpy as np
import pytest

import sethlab
import sethlab.attention as sa
from sethlab.attention.instances import score_range

from support.attention import requires_torch, torch


def good_gradient_fields(nq=5, nk=4, d=3, m=2, dv=2):
    rng = np.random.default_rng(1)
    return dict(
        A1=rng.normal(size=(nq, d)),
        A2=rng.normal(size=(nk, d)),
        A3=rng.normal(size=(nk, m)),
        E=rng.normal(size=(nq, dv)),
        X=rng.normal(size=(d, d)),
        Y=rng.normal(size=(m, dv)),
    )


def test_invalid_instance_is_value_error():
    assert issubclass(sethlab.InvalidInstance, ValueError)


def test_attention_accepts_lists_and_differing_counts():
    inst = sa.AttentionInstance([[1, 2]], [[0, 1], [1, 0], [2, 2]], [[1.0, 0, 0]] * 3)
    assert (inst.nq, inst.nk, inst.d, inst.dv) == (1, 3, 2, 3)
    assert inst.Q.dtype == np.float64 and not inst.Q.flags.writeable
    assert inst.bound_Q == 2 and inst.bound_K == 2 and inst.bound == 2


@requires_torch
def test_accepts_torch_tensors():
    t = torch.arange(6, dtype=torch.float32).reshape(3, 2)
    inst = sa.AttentionInstance(t, t, t[:, :1])
    np.testing.assert_array_equal(inst.Q, np.arange(6).reshape(3, 2))


def test_instance_is_frozen_and_copies_input():
    Q = np.ones((2, 2))
    inst = sa.AttentionInstance(Q, Q, Q)
    Q[0, 0] = 5
    assert inst.Q[0, 0] == 1
    with pytest.raises(AttributeError):
        inst.Q = Q
    with pytest.raises(ValueError):
        inst.Q[0, 0] = 3


@pytest.mark.parametrize(
    "fields, needle",
    [
        (dict(Q=np.ones((2, 3)), K=np.ones((2, 2)), V=np.ones((2, 1))), "K: has 2 columns"),
        (dict(Q=np.ones((2, 2)), K=np.ones((3, 2)), V=np.ones((2, 1))), "V: has 2 rows"),
        (dict(Q=np.ones(2), K=np.ones((3, 2)), V=np.ones((3, 1))), "Q: must be a 2-D matrix"),
        (dict(Q=np.ones((0, 2)), K=np.ones((3, 2)), V=np.ones((3, 1))), "Q: must not be empty"),
        (dict(Q=[[1.0, np.nan]], K=np.ones((3, 2)), V=np.ones((3, 1))), "Q: entry (0, 1) is nan"),
        (dict(Q=np.ones((1, 2)), K=[[np.inf, 0]], V=np.ones((1, 1))), "K: entry (0, 0) is inf"),
        (dict(Q=[["a", "b"]], K=np.ones((3, 2)), V=np.ones((3, 1))), "Q: entries must be real numbers"),
        (dict(Q=[[1j, 1]], K=np.ones((3, 2)), V=np.ones((3, 1))), "complex"),
        (dict(Q=[[1, 2], [3]], K=np.ones((3, 2)), V=np.ones((3, 1))), "Q:"),
        (dict(Q=np.ones((1, 2)), K=np.ones((1, 2)), V=[[10**400]]), "V: an entry is too large"),
    ],
)
def test_attention_rejects(fields, needle):
    with pytest.raises(sethlab.InvalidInstance) as err:
        sa.AttentionInstance(**fields)
    assert needle in str(err.value)


@pytest.mark.parametrize(
    "field, value, needle",
    [
        ("A2", np.ones((4, 2)), "A2: has 2 columns"),
        ("X", np.ones((3, 2)), "X: must be 3x3"),
        ("A3", np.ones((5, 2)), "A3: has 5 rows"),
        ("Y", np.ones((3, 2)), "Y: has 3 rows"),
        ("E", np.ones((5, 3)), "E: must be 5x2"),
        ("E", np.full((5, 2), np.nan), "E: entry (0, 0) is nan"),
        ("A1", np.ones((0, 3)), "A1: must not be empty"),
        ("Y", "abc", "Y: entries must be real numbers"),
    ],
)
def test_gradient_rejects(field, value, needle):
    fields = good_gradient_fields()
    fields[field] = value
    with pytest.raises(sethlab.InvalidInstance) as err:
        sa.GradientInstance(**fields)
    assert needle in str(err.value)


def test_gradient_bounds():
    f = good_gradient_fields()
    inst = sa.GradientInstance(**f)
    assert inst.bound_A1X == pytest.approx(np.abs(f["A1"] @ f["X"]).max())
    assert inst.bound_A2 == pytest.approx(np.abs(f["A2"]).max())
    assert inst.bound == max(inst.bound_A1X, inst.bound_A2)
    np.testing.assert_allclose(inst.h, f["A3"] @ f["Y"])
    assert (inst.nq, inst.nk, inst.d, inst.m, inst.dv) == (5, 4, 3, 2, 2)


@pytest.mark.parametrize("seed", range(20))
def test_score_range_is_valid_and_no_looser_than_b_squared(seed):
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 7))
    q = rng.normal(size=(int(rng.integers(1, 9)), d)) * rng.uniform(0.1, 5)
    k = rng.normal(size=(int(rng.integers(1, 9)), d)) * rng.uniform(0.1, 5)
    R = score_range(q, k)
    assert np.abs(q @ k.T / d).max() <= R * (1 + 1e-12)
    assert R <= np.abs(q).max() * np.abs(k).max() * (1 + 1e-12)


def test_score_range_tight_for_aligned_vectors():
    q = np.full((1, 4), 2.0)
    k = np.full((3, 4), -3.0)
    assert score_range(q, k) == pytest.approx(6.0)
    assert sa.AttentionInstance(q, k, np.ones((3, 1))).score_range == pytest.approx(6.0)


def test_loss_matches_formula():
    f = good_gradient_fields()
    inst = sa.GradientInstance(**f)
    s = f["A1"] @ f["X"] @ f["A2"].T / 3
    S = np.exp(s - s.max(1, keepdims=True))
    S /= S.sum(1, keepdims=True)
    expected = 0.5 * np.sum((S @ f["A3"] @ f["Y"] - f["E"]) ** 2)
    assert sa.loss(inst) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("scale", [1e-160, 1e-200, 1e-310])
def test_score_range_stays_an_upper_bound_when_squares_underflow(scale):
    # the 2-norm bound squares the entries: at 1e-160 they are subnormal, at 1e-200 zero; it must not be used
    from sethlab.attention.instances import score_range

    rng = np.random.default_rng(1)
    q, k = rng.uniform(0.5, 1, (4, 3)) * scale, rng.uniform(0.5, 1, (5, 3))
    exact = (q.astype(np.longdouble) @ k.T.astype(np.longdouble)).max() / 3
    assert score_range(q, k) >= float(exact) > 0
    assert score_range(q, k) > 0
