"""OV generators: exactly one planted orthogonal pair; certified absence of pairs."""

import numpy as np
import pytest

from sethlab import InvalidInstance
from sethlab.generators import no_pair_ov, planted_ov
from sethlab.solvers import Answer, solve_ov


def brute_pairs(inst):
    return np.argwhere(inst.A.astype(np.int64) @ inst.B.astype(np.int64).T == 0).tolist()


@pytest.mark.parametrize("n, d, density, n_b", [(50, 8, 0.5, None), (40, 2, 0.5, 30), (1, 2, 0.5, 1),
                                                (60, 12, 0.2, 10), (30, 20, 0.9, None)])
def test_planted_pair_is_the_only_orthogonal_pair(n, d, density, n_b):
    positions = set()
    for seed in range(6):
        inst, pair = planted_ov(n, d, seed=seed, density=density, n_b=n_b)
        assert (inst.nA, inst.nB, inst.d) == (n, n_b or n, d)
        assert brute_pairs(inst) == [list(pair)]
        assert solve_ov(inst) == Answer(True, pair)
        positions.add(pair)
    assert len(positions) > 1 or n == 1


@pytest.mark.parametrize("n, d, density, n_b", [(50, 8, 0.5, None), (40, 1, 0.5, 30), (1, 1, 0.5, 1),
                                                (80, 6, 0.2, 20)])
def test_no_pair_instances_have_no_orthogonal_pair(n, d, density, n_b):
    for seed in range(4):
        inst = no_pair_ov(n, d, seed=seed, density=density, n_b=n_b)
        assert brute_pairs(inst) == []
        assert solve_ov(inst) == Answer(False, None)


def test_same_seed_same_bytes():
    a, pa = planted_ov(200, 16, seed=11)
    b, pb = planted_ov(200, 16, seed=11)
    c, _ = planted_ov(200, 16, seed=12)
    assert pa == pb and a.A.tobytes() == b.A.tobytes() and a.B.tobytes() == b.B.tobytes()
    assert a.A.tobytes() != c.A.tobytes()
    assert no_pair_ov(100, 10, seed=3).B.tobytes() == no_pair_ov(100, 10, seed=3).B.tobytes()


def test_validation():
    with pytest.raises(InvalidInstance, match="d: must be >= 2"):
        planted_ov(10, 1, seed=0)
    with pytest.raises(InvalidInstance, match="n: must be >= 1"):
        no_pair_ov(0, 4, seed=0)
    with pytest.raises(InvalidInstance, match="density: must be in \\(0, 1\\]"):
        no_pair_ov(10, 4, seed=0, density=0)
    with pytest.raises(InvalidInstance, match="density: more than"):
        no_pair_ov(2000, 3, seed=0, density=0.05)
