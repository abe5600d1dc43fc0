"""Shared builders for the attention tests: random instances with controlled shapes and score ranges."""

import numpy as np
import pytest

import sethlab.attention as sa

try:
    import torch
except ImportError:  # the torch tests skip without it
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
requires_cuda = pytest.mark.skipif(torch is None or not torch.cuda.is_available(), reason="CUDA not available")


def random_gradient_instance(rng, nq, nk, d, dv, m=None, scale=1.0, x_scale=1.0):
    """A GradientInstance with N(0, scale²) A1, A2 and X = x_scale·N(0, 1/d)."""
    m = dv if m is None else m
    return sa.GradientInstance(
        rng.normal(size=(nq, d)) * scale,
        rng.normal(size=(nk, d)) * scale,
        rng.normal(size=(nk, m)),
        rng.normal(size=(nq, dv)),
        rng.normal(size=(d, d)) * x_scale / np.sqrt(d),
        rng.normal(size=(m, dv)),
    )


def wide_score_instance(rng, nq, nk, d, dv, span):
    """A GradientInstance whose scores fill roughly [-span, span] (X = I)."""
    Q = rng.uniform(-1, 1, size=(nq, d))
    K = rng.uniform(-1, 1, size=(nk, d))
    Q *= np.sqrt(span * d) / np.abs(Q).max()
    K *= np.sqrt(span * d) / np.abs(K).max()
    return sa.GradientInstance(
        Q, K, rng.normal(size=(nk, dv)), rng.normal(size=(nq, dv)), np.eye(d), np.eye(dv)
    )


def naive_gradient(inst):
    """∂L/∂X by the closed form of docs/problems.md §2.1 with the whole nq × nk matrix (independent of both engines)."""
    s = inst.A1X @ inst.A2.T / inst.d
    S = np.exp(s - s.max(axis=1, keepdims=True))
    S /= S.sum(axis=1, keepdims=True)
    h = inst.h
    c = S @ h - inst.E
    q = c @ h.T
    r = (S * q).sum(axis=1, keepdims=True)
    p = S * q - r * S
    return inst.A1.T @ p @ inst.A2 / inst.d, 0.5 * float((c * c).sum())
