"""OV → Hamming 3-bit gadget and equal-weight padding (docs/reductions.md §4.2)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sethlab import InvalidInstance
from sethlab.instances import OVInstance
from sethlab.reductions.hamming_to_attention import _equal_weight as equal_weight
from sethlab.reductions.ov_to_hamming import OVToHamming, _gadget_a as gadget_a, _gadget_b as gadget_b
from sethlab.solvers import closest_pair, solve_hamming, solve_ov

RED = OVToHamming()


def ov_to_hamming(A, B=None):
    return RED.apply(A if B is None else OVInstance(A, B))


def forward_witness(image, pair):
    return RED.forward_witness(image, pair)


def backward_witness(image, pair):
    return RED.backward_witness(image, pair)


def dist(A, B):
    A, B = np.asarray(A, dtype=np.int64), np.asarray(B, dtype=np.int64)
    return (A[:, None, :] != B[None, :, :]).sum(axis=2)


sides = st.tuples(st.integers(1, 20), st.integers(1, 20), st.integers(0, 25), st.floats(0.05, 0.95)).flatmap(
    lambda s: st.tuples(arrays(np.uint8, (s[0], s[2]), elements=st.integers(0, 1)),
                        arrays(np.uint8, (s[1], s[2]), elements=st.integers(0, 1))))


@settings(max_examples=150, deadline=None)
@given(AB=sides)
def test_gadget_distance_identity_and_answers(AB):
    A, B = AB
    d0 = A.shape[1]
    image = ov_to_hamming(A, B)
    H = image.target
    assert H.d == 3 * d0 and (H.nA, H.nB) == (A.shape[0], B.shape[0])
    inner = A.astype(np.int64) @ B.astype(np.int64).T
    assert (dist(H.A, H.B) == d0 + 2 * inner).all()          # dist = d0 + 2<a, b>
    assert (H.t, H.far) == (d0 + 1, d0 + 2)
    ov = solve_ov(A, B)
    ham = solve_hamming(H, strict=True)                      # the promise always holds
    assert ham.yes == ov.yes
    if ov.yes:
        assert backward_witness(image, ham.witness) == ham.witness
        assert forward_witness(image, ov.witness) == ov.witness
        assert closest_pair(H)[2] == d0


def test_gadget_coordinates():
    assert gadget_a(np.array([[1, 0]])).tolist() == [[1, 0, 0, 0, 1, 0]]
    assert gadget_b(np.array([[1, 0]])).tolist() == [[0, 1, 1, 1, 1, 0]]


def test_witness_maps_refuse_non_witnesses():
    inst = OVInstance([[1, 0], [0, 1]], [[1, 0]])
    image = ov_to_hamming(inst)
    assert image.meta["source"] is inst
    assert forward_witness(image, (1, 0)) == (1, 0)
    assert backward_witness(image, (1, 0)) == (1, 0)
    with pytest.raises(InvalidInstance, match="not orthogonal"):
        forward_witness(image, (0, 0))
    with pytest.raises(InvalidInstance, match="distance 4 > d0 = 2"):
        backward_witness(image, (0, 0))
    with pytest.raises(InvalidInstance, match="out of range"):
        backward_witness(image, (5, 0))


@settings(max_examples=80, deadline=None)
@given(AB=sides)
def test_equal_weight_padding_identity(AB):
    A, B = AB
    d0 = A.shape[1]
    Ap, Bp = equal_weight(A), equal_weight(B)
    assert (Ap.sum(axis=1) == d0).all() and (Bp.sum(axis=1) == d0).all()
    assert (Ap.astype(np.int64) @ Bp.astype(np.int64).T == d0 - dist(A, B)).all()


def test_chain_sat_to_hamming_keeps_the_answer():
    from sethlab.reductions.sat_to_ov import SatToOV

    sat = SatToOV()
    from sethlab.solvers import satisfies, solve_sat
    clauses = [[1, -2, 3], [-1, 2], [2, 3, -4], [-3, 4], [-2, -4]]
    image = sat.apply(clauses)
    ham = ov_to_hamming(image.target)
    ans = solve_hamming(ham.target)
    assert ans.yes and solve_sat(clauses).yes
    assert satisfies(clauses, sat.backward_witness(image, backward_witness(ham, ans.witness)))
    unsat = sat.apply(clauses + [[2], [4]])
    assert not solve_hamming(ov_to_hamming(unsat.target).target).yes
    assert not solve_sat(clauses + [[2], [4]]).yes
