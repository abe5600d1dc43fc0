"""`sethlab demo`: the exact attention-gradient engine checked end to end (MATH.md 2).

Computes ∂L/∂X with the streaming engine on numpy (and torch where installed),
checks it against central finite differences on a small instance and against
torch autograd on a large one, and shows that scores of ±500 give finite,
correct attention. Exit code 1 if any check fails.
"""

from __future__ import annotations

import json
import time

import numpy as np

import sethlab.attention as sa
from sethlab.errors import InvalidInstance


def _instance(rng, n, d, scale=1.0):
    return sa.GradientInstance(
        rng.normal(size=(n, d)) * scale,
        rng.normal(size=(n, d)) * scale,
        rng.normal(size=(n, d)),
        rng.normal(size=(n, d)),
        rng.normal(size=(d, d)) / np.sqrt(d),
        np.eye(d),
    )


def _finite_differences(inst, h=1e-5):
    d = inst.d
    g = np.empty((d, d))
    for a in range(d):
        for b in range(d):
            shifted = []
            for sign in (1, -1):
                X = inst.X.copy()
                X[a, b] += sign * h
                shifted.append(sa.GradientInstance(inst.A1, inst.A2, inst.A3, inst.E, X, inst.Y).loss())
            g[a, b] = (shifted[0] - shifted[1]) / (2 * h)
    return g


def run_demo(n=4096, d=16, seed=0, as_json=False, out=None) -> int:
    """Run the checks, print a table (or JSON), return 0 if all pass, 1 otherwise."""
    if n < 1 or d < 1:
        raise InvalidInstance(f"n, d: must be positive, got n={n}, d={d}")
    rng = np.random.default_rng(seed)
    checks = []

    def check(name, ok, detail, seconds=None):
        checks.append({"check": name, "ok": bool(ok), "detail": detail, "seconds": seconds})

    small = _instance(rng, 12, 3)
    res = sa.loss_gradient(small)
    fd = _finite_differences(small)
    err = float(np.abs(res.grad - fd).max())
    check("gradient vs finite differences (n=12, d=3)", err < 1e-7 * max(1.0, np.abs(fd).max()), f"max error {err:.1e}")

    big = _instance(rng, n, d)
    res = sa.loss_gradient(big)
    check(f"exact gradient, numpy (n={n}, d={d})", np.isfinite(res.grad).all(), f"loss {res.loss:.6g}", res.seconds)
    try:
        import torch  # noqa: F401

        have_torch = True
    except ImportError:
        have_torch = False
    if have_torch:
        from sethlab.attention.reference import loss_gradient_autograd

        rt = sa.loss_gradient(big, backend="torch")
        rel = float(np.abs(rt.grad - res.grad).max() / np.abs(res.grad).max())
        check(f"torch backend vs numpy (n={n})", rel < 1e-10, f"relative difference {rel:.1e}", rt.seconds)
        t0 = time.perf_counter()
        g_ref, loss_ref = loss_gradient_autograd(big)
        t_ref = time.perf_counter() - t0
        rel = float(np.abs(g_ref - res.grad).max() / np.abs(g_ref).max())
        check(f"numpy engine vs torch autograd (n={n})", rel < 1e-10, f"relative difference {rel:.1e}", t_ref)
    else:
        check("torch backend", True, "skipped: torch not installed (pip install 'sethlab[torch]')")

    Q = rng.uniform(-1, 1, size=(64, 2)) * 22.0
    K = rng.uniform(-1, 1, size=(48, 2)) * 22.0
    V = rng.normal(size=(48, 2))
    hot = sa.AttentionInstance(Q, K, V)
    out_hot = sa.attention(hot).output
    s = Q @ K.T / 2
    top = s.argmax(axis=1)
    gap = np.sort(s, axis=1)[:, -1] - np.sort(s, axis=1)[:, -2]
    sure = gap > 40  # rows where one key holds all but e^-40 of the mass
    ok = np.isfinite(out_hot).all() and np.allclose(out_hot[sure], V[top[sure]], rtol=1e-12, atol=1e-12)
    check(
        f"attention with scores up to {np.abs(s).max():.0f} (row-max subtraction)",
        ok,
        f"finite; {int(sure.sum())} one-hot rows exact",
    )

    failed = [c for c in checks if not c["ok"]]
    if as_json:
        print(json.dumps({"checks": checks, "passed": not failed}, indent=2), file=out)
    else:
        print("sethlab demo: the exact attention-gradient engine, checked (MATH.md 2)", file=out)
        for c in checks:
            sec = "" if c["seconds"] is None else f" [{c['seconds']:.2f} s]"
            print(f"  {'PASS' if c['ok'] else 'FAIL'}  {c['check']}: {c['detail']}{sec}", file=out)
        print(f"{len(checks) - len(failed)} of {len(checks)} checks passed", file=out)
    return 1 if failed else 0
