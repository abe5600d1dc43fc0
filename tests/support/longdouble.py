"""References in long double (80-bit on x86-64 Linux, 11 more bits than float64) for the bound tests.

Each reference follows the closed forms of docs/problems.md §1 and 2.1 with the whole nq×nk matrix. Its own
error is bounded with the same row model at long double's unit roundoff (docs/rounding.md); the tests
add that (about 2^-11 of the float64 bound) to the float64 bound they check.
"""

import numpy as np
import pytest

from sethlab.attention.rounding import ULPS, exact_rows, forward_error, gradient_error, scales

LD = np.longdouble
U_LD = float(np.finfo(LD).eps) / 2
HAVE_LD = U_LD < 2.0**-60
requires_long_double = pytest.mark.skipif(not HAVE_LD, reason="needs an 80-bit (or wider) long double")


def softmax_ld(s):
    s = s - s.max(axis=1, keepdims=True)
    a = np.exp(s)
    return a / a.sum(axis=1, keepdims=True)


def attention_ld(inst):
    """softmax(QKᵀ/d)V in long double, and a bound on its own error."""
    Q, K, V = (np.asarray(a, dtype=LD) for a in (inst.Q, inst.K, inst.V))
    T = softmax_ld(Q @ K.T / inst.d) @ V
    sc = scales(inst)
    lam = float(np.finfo(LD).smallest_subnormal)
    return T, 2 * forward_error(sc, exact_rows(sc, U_LD, lam, chunk=1 << 62), U_LD)


def gradient_ld(inst):
    """(∂L/∂X, L) in long double by the closed form of docs/problems.md §2.1, and a bound on the gradient's own error."""
    A1, A2, A3, E, X, Y = (np.asarray(getattr(inst, f), dtype=LD) for f in ("A1", "A2", "A3", "E", "X", "Y"))
    S = softmax_ld((A1 @ X) @ A2.T / inst.d)
    h = A3 @ Y
    c = S @ h - E
    q = c @ h.T
    r = (S * q).sum(axis=1, keepdims=True)
    p = S * q - r * S
    g = A1.T @ p @ A2 / inst.d
    sc = scales(inst)
    lam = float(np.finfo(LD).smallest_subnormal)
    bound = gradient_error(sc, exact_rows(sc, U_LD, lam, chunk=1 << 62), U_LD)[0]
    return g, 0.5 * (c * c).sum(), 2 * bound + 4 * ULPS * U_LD * float(np.abs(g).max())


def max_diff(a, b) -> float:
    return float(np.abs(np.asarray(a, dtype=LD) - np.asarray(b, dtype=LD)).max())
