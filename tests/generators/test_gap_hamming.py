"""Planted Gap-Hamming: one pair below t, every other pair at >= ceil((1+gap)t) (docs/reductions.md §5.2)."""

import numpy as np
import pytest

from sethlab import InvalidInstance
from sethlab.generators import planted_gap_hamming
from sethlab.solvers import Answer, solve_hamming


def brute_dist(inst):
    return (inst.A[:, None, :] != inst.B[None, :, :]).sum(axis=2)


@pytest.mark.parametrize("n, d, t, gap, n_b, near", [(60, 40, 5, 0.6, None, None), (30, 64, 10, 1.0, 50, 0),
                                                     (1, 10, 3, 0.5, 1, None), (100, 48, 8, 0.5, None, 4)])
def test_planted_pair_is_near_and_all_others_far(n, d, t, gap, n_b, near):
    for seed in range(4):
        inst, (i, j) = planted_gap_hamming(n, d, t, gap, seed=seed, n_b=n_b, near_distance=near)
        D = brute_dist(inst)
        assert D[i, j] == (t - 1 if near is None else near)
        others = np.ones_like(D, dtype=bool)
        others[i, j] = False
        assert (D[others] >= inst.far).all()
        assert inst.far == int(np.ceil((1 + gap) * t - 1e-12))
        assert solve_hamming(inst, strict=True) == Answer(True, (i, j))


def test_determinism():
    a, pa = planted_gap_hamming(80, 40, 5, 0.5, seed=2)
    b, pb = planted_gap_hamming(80, 40, 5, 0.5, seed=2)
    assert pa == pb and a.A.tobytes() == b.A.tobytes() and a.B.tobytes() == b.B.tobytes()
    assert a.A.tobytes() != planted_gap_hamming(80, 40, 5, 0.5, seed=3)[0].A.tobytes()


@pytest.mark.parametrize("args, kwargs, fault", [
    ((10, 8, 5, 1.0), {}, "far radius .* = 10 exceeds the dimension d = 8"),
    ((10, 8, 0, 1.0), {}, "t: must be >= 1"),
    ((10, 8, 2, 0.0), {}, "gap: must be a finite number > 0"),
    ((0, 8, 2, 1.0), {}, "n: must be >= 1"),
    ((10, 20, 3, 1.0), dict(near_distance=3), "near_distance: must be in \\[0, 2\\]"),
    ((300, 24, 8, 0.5), {}, "gap: "),  # far = 12 = d/2: random pairs cannot all be pushed that far
])
def test_validation(args, kwargs, fault):
    with pytest.raises(InvalidInstance, match=fault):
        planted_gap_hamming(*args, seed=0, **kwargs)
