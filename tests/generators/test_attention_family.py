"""Bounded attention and gradient families: entries within B, seeded, validated (docs/problems.md §1, §2, docs/polynomial.md §3)."""

import subprocess
import sys

import numpy as np
import pytest

import sethlab
import sethlab.attention as sa
from sethlab.generators import bounded_attention, bounded_gradient


@pytest.mark.parametrize("adversarial", [False, True])
def test_entries_within_B_and_shapes(adversarial):
    inst = bounded_attention(40, 3, 1.5, dv=2, n_k=25, seed=1, adversarial=adversarial)
    assert (inst.nq, inst.nk, inst.d, inst.dv) == (40, 25, 3, 2)
    assert inst.bound <= 1.5 and np.abs(inst.V).max() <= 1
    if adversarial:
        assert np.all(np.abs(inst.Q) == 1.5) and np.all(np.abs(inst.K) == 1.5)
        assert inst.score_range == pytest.approx(1.5**2)
    g = bounded_gradient(30, 4, 0.7, n_k=11, seed=2, adversarial=adversarial)
    assert (g.nq, g.nk, g.d, g.dv) == (30, 11, 4, 4) and g.bound <= 0.7
    np.testing.assert_array_equal(g.X, np.eye(4))


def test_same_seed_same_instance_other_seed_differs():
    a, b, c = (bounded_gradient(20, 3, 1.0, seed=s) for s in (5, 5, 6))
    for f in ("A1", "A2", "A3", "E"):
        assert getattr(a, f).tobytes() == getattr(b, f).tobytes()
    assert a.A1.tobytes() != c.A1.tobytes()


def test_poly_certifies_on_a_bounded_instance():
    inst = bounded_gradient(200, 3, 1.0, seed=0)
    exact = sa.loss_gradient(inst).grad
    res = sa.loss_gradient(inst, method="poly", eps=1e-6)
    assert np.abs(res.grad - exact).max() <= res.error_bound <= 1e-6


@pytest.mark.parametrize("kwargs, needle", [
    (dict(n=0, d=2, B=1.0), "n:"), (dict(n=2, d=0, B=1.0), "d:"), (dict(n=2, d=2, B=0.0), "B:"),
    (dict(n=2, d=2, B=float("inf")), "B:"), (dict(n=2, d=2, B=1.0, seed=-1), "seed:"),
])
def test_bad_parameters(kwargs, needle):
    with pytest.raises(sethlab.InvalidInstance, match=needle):
        bounded_attention(**kwargs)


def test_cli_gen_attention_round_trip(tmp_path):
    out = tmp_path / "g.npz"
    r = subprocess.run([sys.executable, "-m", "sethlab", "gen", "attention", "--n", "50", "--d", "3", "--B", "2",
                        "--gradient", "--seed", "4", "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rec = sethlab.io.load(out)
    ref = bounded_gradient(50, 3, 2.0, seed=4)
    assert rec.problem == "attention-gradient" and rec.instance.A1.tobytes() == ref.A1.tobytes()
