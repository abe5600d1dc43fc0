"""Each fast-attention peer against its published formula on small cases (docs/approx.md)."""

import math

import numpy as np
import pytest

import sethlab.approx as ap
from sethlab import InvalidInstance
from sethlab.approx.performer import orthogonal_gaussian
from sethlab.approx.taylor import taylor_features
from sethlab.attention.reference import attention_naive
from sethlab.attention import AttentionInstance


def instance(seed, nq=40, nk=30, d=4, dv=2, B=1.0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-B, B, (nq, d)), rng.uniform(-B, B, (nk, d)), rng.normal(size=(nk, dv))


def exact(Q, K, V):
    return attention_naive(AttentionInstance(Q, K, V))


def test_names_and_parameters():
    assert ap.names() == ["exact", "lsh", "nystrom", "performer", "poly", "taylor", "topk"]
    assert ap.parameters("performer")["features"] == 256
    assert ap.parameters("taylor")["degree"] == 2
    assert {"buckets", "samples", "seed"} <= set(ap.parameters("lsh"))


@pytest.mark.parametrize("name, params, match", [
    ("nope", {}, "method"), ("performer", {"feature": 3}, "feature"), ("performer", {"features": 0}, "features"),
    ("taylor", {"degree": -1}, "degree"), ("nystrom", {"landmarks": 1.5}, "landmarks"), ("topk", {"k": 0}, "k"),
    ("lsh", {"seed": -2}, "seed"), ("lsh", {"buckets": True}, "buckets"), ("poly", {"eps": -1.0}, "eps"),
    ("performer", {"orthogonal": "no"}, "orthogonal"), ("poly", {"max_cost": 0}, "max_cost"),
    ("exact", {"backend": "jax"}, "backend"), ("taylor", {"degree": 10**8}, "degree"),
    ("performer", {"memory_budget": "lots"}, "memory_budget"), ("performer", {"stabilizer": -1e-6}, "stabilizer"),
])
def test_bad_names_and_parameters_are_refused_at_get(name, params, match):
    with pytest.raises(InvalidInstance, match=match):
        ap.get(name, **params)


def test_get_checks_values_without_running():
    import time

    t0 = time.perf_counter()
    ap.get("performer", features=1 << 24)  # a valid request: nothing is computed or allocated at get()
    ap.get("poly", eps=1e-300, max_cost=1e-9)  # refusals belong to calls on instances, not to get()
    ap.get("poly", max_cost=10**400)  # beyond float: never refused for cost
    assert time.perf_counter() - t0 < 5


def test_bad_inputs_name_the_field():
    Q, K, V = instance(0)
    with pytest.raises(InvalidInstance, match="K"):
        ap.get("performer")(Q, K[:, :3], V)
    with pytest.raises(InvalidInstance, match="V"):
        ap.get("lsh")(Q, K, V[:5])


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (40, 30, 4, 2), (17, 50, 3, 5)])
def test_topk_with_every_key_and_nystrom_with_every_key_as_landmark_are_exact(shape):
    nq, nk, d, dv = shape
    Q, K, V = instance(nq, nq, nk, d, dv)
    ref = exact(Q, K, V)
    np.testing.assert_allclose(ap.get("topk", k=nk)(Q, K, V), ref, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(ap.get("exact")(Q, K, V), ref, rtol=1e-12, atol=1e-13)
    if nq >= nk:
        np.testing.assert_allclose(ap.get("nystrom", landmarks=nk)(Q, K, V), ref, rtol=1e-6, atol=1e-7)


def test_topk_keeps_the_k_largest():
    Q, K, V = instance(1, 10, 30)
    k = 5
    out = ap.get("topk", k=k)(Q, K, V)
    s = Q @ K.T / Q.shape[1]
    for i in range(10):
        idx = np.argsort(-s[i])[:k]
        w = np.exp(s[i, idx] - s[i, idx].max())
        np.testing.assert_allclose(out[i], w @ V[idx] / w.sum(), rtol=1e-12)


@pytest.mark.parametrize("degree", [0, 1, 2, 3])
def test_taylor_equals_its_polynomial(degree):
    Q, K, V = instance(degree, 20, 25, 3, 2, B=1.5)
    s = Q @ K.T / Q.shape[1]
    w = sum(s**j / math.factorial(j) for j in range(degree + 1))
    want = (w @ V) / w.sum(axis=1, keepdims=True)
    if degree % 2:  # odd degree: rows with a non-positive denominator are nan by contract
        bad = w.sum(axis=1) <= 0
        want[bad] = np.nan
    np.testing.assert_allclose(ap.get("taylor", degree=degree)(Q, K, V), want, rtol=1e-10, atol=1e-12)


def test_taylor_features_inner_product_is_the_polynomial():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(5, 3))
    s = x @ y.T
    np.testing.assert_allclose(taylor_features(x, 3) @ taylor_features(y, 3).T, 1 + s + s**2 / 2 + s**3 / 6,
                               rtol=1e-12)


def test_performer_directions_are_orthogonal_blocks_with_gaussian_norms():
    W = orthogonal_gaussian(10, 4, np.random.default_rng(0))
    assert W.shape == (10, 4)
    U = W[:4] / np.linalg.norm(W[:4], axis=1, keepdims=True)
    np.testing.assert_allclose(U @ U.T, np.eye(4), atol=1e-12)


@pytest.mark.parametrize("orthogonal", [True, False])
def test_performer_kernel_estimate_is_unbiased(orthogonal):
    # E[φ(q)ᵀφ(k)] = exp(qᵀk): the mean over seeds lands within 6 standard errors of exp(⟨q, k⟩/d)
    Q, K, _ = instance(4, 6, 5, 4, 1, B=0.7)
    d, m, seeds = 4, 16, 600
    q, k = Q / d**0.5, K / d**0.5
    est = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        W = orthogonal_gaussian(m, d, rng) if orthogonal else rng.standard_normal((m, d))

        def phi(x):
            return np.exp(x @ W.T - 0.5 * (x * x).sum(1, keepdims=True)) / math.sqrt(m)

        est.append(phi(q) @ phi(k).T)
    est = np.array(est)
    want = np.exp(Q @ K.T / d)
    se = est.std(axis=0) / math.sqrt(seeds)
    assert np.all(np.abs(est.mean(axis=0) - want) <= 6 * se + 1e-12)


def test_performer_output_approaches_exact_with_many_seeds_at_small_B():
    Q, K, V = instance(5, 30, 40, 4, 1, B=0.5)
    ref = exact(Q, K, V)
    one = ap.get("performer", features=64, seed=0)(Q, K, V)
    mean = np.mean([ap.get("performer", features=64, seed=s)(Q, K, V) for s in range(200)], axis=0)
    assert np.abs(mean - ref).max() < 0.2 * np.abs(one - ref).max()
    assert np.abs(mean - ref).max() < 5e-3


@pytest.mark.parametrize("B", [30.0, 500.0, 1000.0])
def test_performer_is_finite_at_large_scores(B):
    # scores spanning far more than float64's exponent range: the stabilizer keeps every denominator positive
    for seed in range(5):
        Q, K, V = instance(seed, 16, 20, 2, 1, B=B)
        out = ap.get("performer", features=64, seed=seed)(Q, K, V)
        assert np.isfinite(out).all() and (out >= V.min() - 1e-9).all() and (out <= V.max() + 1e-9).all()


@pytest.mark.parametrize("buckets, samples", [(1, 0), (1, 30), (7, 30)])
def test_lsh_is_exact_with_one_bucket_or_every_key_sampled(buckets, samples):
    # one bucket: the diagonal block is everything; every key sampled: the residual is each off-block key at weight 1
    Q, K, V = instance(7, 40, 30, 4, 2, B=2.0)
    np.testing.assert_allclose(ap.get("lsh", buckets=buckets, samples=samples, seed=3)(Q, K, V), exact(Q, K, V),
                               rtol=1e-12, atol=1e-13)


def test_lsh_blocks_partition_queries_and_keys_and_stay_finite():
    Q, K, V = instance(8, 301, 257, 6, 3, B=20.0)
    for seed in range(3):
        out = ap.get("lsh", buckets=16, samples=10, seed=seed)(Q, K, V)
        assert out.shape == (301, 3) and np.isfinite(out).all()
        assert (out.min(axis=0) >= V.min(axis=0) - 1e-9).all() and (out.max(axis=0) <= V.max(axis=0) + 1e-9).all()


def test_methods_are_deterministic_for_a_seed():
    Q, K, V = instance(9)
    for name in ("performer", "lsh"):
        a, b = ap.get(name, seed=4)(Q, K, V), ap.get(name, seed=4)(Q, K, V)
        assert np.array_equal(a, b)
        assert not np.array_equal(a, ap.get(name, seed=5)(Q, K, V))


def test_poly_is_within_its_certified_eps():
    Q, K, V = instance(10, 50, 60, 3, 2, B=0.8)
    assert np.abs(ap.get("poly", eps=1e-6)(Q, K, V) - exact(Q, K, V)).max() <= 1e-6


def test_memory_is_planned_before_allocating():
    from sethlab.errors import MemoryBudgetExceeded

    Q, K, V = instance(11, 4, 4, 64, 1)
    with pytest.raises(MemoryBudgetExceeded, match="Taylor"):
        ap.get("taylor", degree=5, memory_budget="1M")(Q, K, V)
    with pytest.raises(MemoryBudgetExceeded, match="Performer"):
        ap.get("performer", features=1 << 24)(Q, K, V)
    with pytest.raises(InvalidInstance, match="features"):
        ap.get("performer", features=10**9)
    with pytest.raises(InvalidInstance, match="degree"):
        ap.get("taylor", degree=171)
