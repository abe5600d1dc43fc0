"""Exact OV solver against brute force (sethlab/solvers/ov.py, docs/reductions.md §4.1)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sethlab import InvalidInstance
from sethlab.instances import OVInstance
from sethlab.solvers import Answer, orthogonal_pairs, solve_ov
from sethlab.solvers._blocks import pack_rows, popcount, popcount_lut


def brute_pairs(A, B):
    G = np.asarray(A, dtype=np.int64) @ np.asarray(B, dtype=np.int64).T
    return np.argwhere(G == 0)  # row-major order


sides = st.tuples(st.integers(1, 30), st.integers(1, 30), st.integers(0, 70)).flatmap(
    lambda s: st.tuples(arrays(np.uint8, (s[0], s[2]), elements=st.integers(0, 1)),
                        arrays(np.uint8, (s[1], s[2]), elements=st.integers(0, 1))))
blocks = st.one_of(st.none(), st.integers(1, 9), st.tuples(st.integers(1, 9), st.integers(1, 9)))


@settings(max_examples=200, deadline=None)
@given(AB=sides, block=blocks, method=st.sampled_from(["auto", "gemm", "packed"]))
def test_solve_ov_matches_brute_force(AB, block, method):
    A, B = AB
    truth = brute_pairs(A, B)
    ans = solve_ov(A, B, block=block, method=method)
    if len(truth):
        assert ans == Answer(True, tuple(int(x) for x in truth[0]))
    else:
        assert ans == Answer(False, None)
    assert orthogonal_pairs(A, B, block=block, method=method).tolist() == truth.tolist()


def test_first_pair_is_row_major_across_blocks():
    # the orthogonal pairs are (3, 0) and (1, 5): with blocks of 2 × 2 the one in a
    # later column block but an earlier row must win
    A = np.ones((4, 3), dtype=np.uint8)
    B = np.ones((6, 3), dtype=np.uint8)
    A[3] = [1, 0, 0]
    B[0] = [0, 1, 1]
    A[1] = [0, 0, 1]
    B[5] = [1, 1, 0]
    for block in (2, (2, 2), (4, 1), (1, 4), None):
        for method in ("gemm", "packed"):
            assert solve_ov(A, B, block=block, method=method) == Answer(True, (1, 5))


def test_edge_cases():
    assert solve_ov([[0, 0]], [[1, 1]]) == Answer(True, (0, 0))          # all-zero vector
    assert solve_ov([[1]], [[1]]) == Answer(False, None)                 # n = 1, d = 1
    assert solve_ov([[1], [0]], [[1]]) == Answer(True, (1, 0))
    assert solve_ov(np.zeros((2, 0)), np.zeros((3, 0))) == Answer(True, (0, 0))  # d = 0
    dup = [[1, 0, 1]] * 5
    assert solve_ov(dup, dup) == Answer(False, None)                    # duplicates
    assert orthogonal_pairs(dup, [[0, 1, 0]] * 2).shape == (10, 2)


def test_accepts_instances_and_lists():
    inst = OVInstance([[1, 0], [0, 1]], [[1, 0]])
    assert solve_ov(inst) == Answer(True, (1, 0))
    assert solve_ov([[1, 0], [0, 1]], [[1, 0]]) == Answer(True, (1, 0))
    assert solve_ov(np.array([[True, False]]), [[1.0, 1.0]]) == Answer(False, None)


def test_accepts_torch_tensors():
    torch = pytest.importorskip("torch")
    assert solve_ov(torch.tensor([[1, 0], [0, 1]]), torch.tensor([[1, 0]])) == Answer(True, (1, 0))


def test_bad_arguments():
    with pytest.raises(InvalidInstance, match="A: expected an OVInstance"):
        solve_ov([[1, 0]])
    with pytest.raises(InvalidInstance, match="B: dimension"):
        solve_ov([[1, 0]], [[1]])
    with pytest.raises(InvalidInstance, match="block: sizes must be >= 1"):
        solve_ov([[1]], [[1]], block=0)
    with pytest.raises(InvalidInstance, match="block: expected an int or a pair"):
        solve_ov([[1]], [[1]], block="big")
    with pytest.raises(InvalidInstance, match="method: expected"):
        solve_ov([[1]], [[1]], method="fast")
    with pytest.raises(InvalidInstance, match="more than 3 pairs"):
        orthogonal_pairs(np.zeros((2, 2)), np.zeros((2, 2)), limit=3)


@settings(max_examples=50, deadline=None)
@given(arrays(np.uint64, st.integers(0, 40), elements=st.integers(0, 2**64 - 1)))
def test_popcount_lut_matches_bit_count(x):
    expected = [bin(int(v)).count("1") for v in x]
    assert popcount_lut(x).tolist() == expected
    assert popcount(x).tolist() == expected


def test_packed_default_blocks_bound_the_temporary():
    from sethlab.solvers._blocks import PACKED_BLOCK_WORDS, block_shape
    for words in (1, 4, 100, 5000, 1 << 17, 1 << 23):
        bi, bj = block_shape(None, words)
        assert bi >= 1 and bj >= 1
        assert bi * bj * words <= max(PACKED_BLOCK_WORDS, words)


def test_pack_rows_round_trips_bits():
    rng = np.random.default_rng(0)
    M = rng.integers(0, 2, size=(5, 130), dtype=np.uint8)
    P = pack_rows(M)
    assert P.shape == (5, 3) and P.dtype == np.uint64
    bits = np.unpackbits(P.view(np.uint8), axis=1)[:, :130]
    assert (bits == M).all() and not np.unpackbits(P.view(np.uint8), axis=1)[:, 130:].any()


@pytest.mark.slow
def test_large_random_instances_against_brute_force():
    rng = np.random.default_rng(5)
    for d in (8, 12, 200):
        A = (rng.random((700, d)) < 0.3).astype(np.uint8)
        B = (rng.random((900, d)) < 0.3).astype(np.uint8)
        truth = brute_pairs(A, B)
        assert orthogonal_pairs(A, B).tolist() == truth.tolist()
        assert orthogonal_pairs(A, B, method="packed").tolist() == truth.tolist()
