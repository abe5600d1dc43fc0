"""Hamming closest pair and the Gap-Hamming decision against brute force (docs/reductions.md §4.2, §5.2)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sethlab import InvalidInstance
from sethlab.instances import HammingInstance
from sethlab.solvers import Answer, close_pairs, closest_pair, solve_hamming


def brute_dist(A, B):
    A, B = np.asarray(A, dtype=np.int64), np.asarray(B, dtype=np.int64)
    return (A[:, None, :] != B[None, :, :]).sum(axis=2)


sides = st.tuples(st.integers(1, 25), st.integers(1, 25), st.integers(0, 70)).flatmap(
    lambda s: st.tuples(arrays(np.uint8, (s[0], s[2]), elements=st.integers(0, 1)),
                        arrays(np.uint8, (s[1], s[2]), elements=st.integers(0, 1))))


@settings(max_examples=150, deadline=None)
@given(AB=sides, block=st.one_of(st.none(), st.integers(1, 7)),
       method=st.sampled_from(["gemm", "packed"]), radius=st.integers(0, 40))
def test_closest_pair_matches_brute_force(AB, block, method, radius):
    A, B = AB
    D = brute_dist(A, B)
    k = int(D.argmin())  # first minimum in row-major order
    i, j = divmod(k, D.shape[1])
    assert closest_pair(A, B, block=block, method=method) == (i, j, int(D.min()))
    assert close_pairs(A, B, radius, block=block, method=method).tolist() == np.argwhere(D <= radius).tolist()


@settings(max_examples=100, deadline=None)
@given(AB=sides, t=st.integers(1, 30), gap=st.floats(0.01, 2.0))
def test_solve_hamming_decides_distance_below_t(AB, t, gap):
    A, B = AB
    inst = HammingInstance(A, B, t, gap)
    D = brute_dist(A, B)
    ans = solve_hamming(inst)
    assert ans.yes == bool(D.min() < t)
    if ans.yes:
        i, j = ans.witness
        assert D[i, j] == D.min()
    in_gap = t <= D.min() < inst.far
    if in_gap:
        with pytest.raises(InvalidInstance, match="promise violated"):
            solve_hamming(inst, strict=True)
    else:
        assert solve_hamming(inst, strict=True) == ans


def test_hamming_edge_cases():
    assert closest_pair([[1, 0, 1]], [[1, 0, 1]]) == (0, 0, 0)
    assert closest_pair([[1]], [[0]]) == (0, 0, 1)
    assert closest_pair(np.zeros((2, 0)), np.zeros((1, 0))) == (0, 0, 0)
    far = HammingInstance([[0, 0, 0, 0]], [[1, 1, 1, 1]], t=2, gap=1.0)  # distance 4 = far
    assert solve_hamming(far) == solve_hamming(far, strict=True) == Answer(False, None)
    near = HammingInstance([[0, 0, 0, 0]], [[1, 1, 1, 1], [1, 0, 0, 0]], t=2, gap=1.0)
    assert solve_hamming(near) == Answer(True, (0, 1))  # distance 1 < t
    at_t = HammingInstance([[0, 0, 0, 0]], [[1, 1, 0, 0]], t=2, gap=1.0)
    assert solve_hamming(at_t) == Answer(False, None)  # distance 2 = t is not near


def test_strict_mode_flags_the_promise_gap():
    inst = HammingInstance([[0, 0, 0, 0]], [[1, 1, 1, 0]], t=2, gap=1.0)  # distance 3 in [2, 4)
    assert solve_hamming(inst) == Answer(False, None)
    with pytest.raises(InvalidInstance, match=r"closest pair \(0, 0\) at distance 3"):
        solve_hamming(inst, strict=True)


def test_solve_hamming_needs_an_instance():
    with pytest.raises(InvalidInstance, match="expected a HammingInstance"):
        solve_hamming([[0]])
    with pytest.raises(InvalidInstance, match="A: expected a HammingInstance or two matrices"):
        closest_pair([[0]])
