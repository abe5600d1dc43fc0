"""The one assumption of the rounding analysis (docs/rounding.md, "Assumptions"): exp, cos and sin are within
rounding.ULPS ulps, measured here on 10^6+ arguments per function over the ranges sethlab uses."""

import mpmath
import numpy as np
import pytest

from sethlab.attention.rounding import ULPS

from support.attention import torch
from support.longdouble import LD, requires_long_double

pytestmark = requires_long_double
N = 1_000_000


def exp_arguments(dtype):
    """The exact engine takes exp of shifted scores x <= 0, down to where the result underflows."""
    lo = -745.2 if dtype == np.float64 else -103.9
    rng = np.random.default_rng(0)
    parts = [rng.uniform(lo, 0, N // 2), -rng.exponential(2.0, N // 4), rng.uniform(-1e-3, 0, N // 8),
             rng.uniform(lo, lo + 40, N // 8)]
    return np.concatenate(parts).astype(dtype)


def ulps(computed, reference, dtype):
    """|computed − reference| in units of the last place of the reference rounded to dtype (subnormals included)."""
    ref_rounded = reference.astype(dtype)
    spacing = np.maximum(np.spacing(np.abs(ref_rounded)), np.finfo(dtype).smallest_subnormal).astype(LD)
    return np.abs(computed.astype(LD) - reference) / spacing


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numpy_exp_within_assumed_ulps(dtype):
    x = exp_arguments(dtype)
    err = ulps(np.exp(x), np.exp(x.astype(LD)), dtype)
    assert x.size >= 10**6 and float(err.max()) <= ULPS


@pytest.mark.skipif(torch is None, reason="torch not installed")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_torch_exp_within_assumed_ulps(dtype):
    x = exp_arguments(dtype)
    err = ulps(torch.exp(torch.from_numpy(x)).numpy(), np.exp(x.astype(LD)), dtype)
    assert x.size >= 10**6 and float(err.max()) <= ULPS


@pytest.mark.parametrize("fn", [np.cos, np.sin])
def test_numpy_cos_sin_within_assumed_ulps(fn):
    # the Gauss-Legendre verification evaluates them at n·θ for θ <= π/2 + 1e-3 and n up to a few hundred
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(0, np.pi / 2 + 1e-3, N // 2), rng.uniform(0, 400, N // 2)])
    err = ulps(fn(x), fn(x.astype(LD)), np.float64)
    assert float(err.max()) <= ULPS


def test_long_double_reference_agrees_with_mpmath():
    # the reference itself: long double exp against 40-digit mpmath on a sample
    x = exp_arguments(np.float64)[:: N // 2000]
    with mpmath.workdps(40):
        for v in x:
            exact = mpmath.exp(mpmath.mpf(float(v)))
            ld = mpmath.mpf(np.format_float_scientific(np.exp(LD(v)), unique=True))
            assert abs(ld - exact) <= abs(exact) * mpmath.mpf(2) ** -60
