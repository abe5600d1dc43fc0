"""OVInstance and HammingInstance validation (sethlab/instances.py; docs/reductions.md §4.2, §5.2)."""

import math

import numpy as np
import pytest

from sethlab import InvalidInstance
from sethlab.instances import HammingInstance, OVInstance, far_radius


def test_ov_instance_accepts_lists_arrays_and_bools():
    for A in ([[0, 1], [1, 1]], np.array([[0, 1], [1, 1]], dtype=np.float64),
              np.array([[False, True], [True, True]])):
        inst = OVInstance(A, [[1, 0]])
        assert inst.A.dtype == np.uint8
        assert inst.A.tolist() == [[0, 1], [1, 1]]
        assert (inst.nA, inst.nB, inst.d) == (2, 1, 2)


def test_ov_instance_accepts_torch_tensors():
    torch = pytest.importorskip("torch")
    inst = OVInstance(torch.tensor([[0, 1], [1, 1]]), torch.tensor([[1.0, 0.0]]))
    assert inst.A.dtype == np.uint8 and inst.A.tolist() == [[0, 1], [1, 1]] and inst.B.tolist() == [[1, 0]]


def test_ov_instance_is_read_only_and_copied():
    A = np.array([[0, 1]], dtype=np.uint8)
    inst = OVInstance(A, [[1, 0]])
    A[0, 0] = 1
    assert inst.A.tolist() == [[0, 1]]
    with pytest.raises(ValueError):
        inst.A[0, 0] = 1
    with pytest.raises(AttributeError):
        inst.A = A


def test_ov_instance_allows_dimension_zero():
    inst = OVInstance(np.zeros((2, 0)), np.zeros((3, 0)))
    assert (inst.nA, inst.nB, inst.d) == (2, 3, 0)


@pytest.mark.parametrize("A, B, fault", [
    ([[0, 2]], [[1, 0]], r"A: entries must be 0 or 1, found 2 at \(0, 1\)"),
    ([[0, 1]], [[1, -1]], r"B: entries must be 0 or 1, found -1 at \(0, 1\)"),
    ([[0, 0.5]], [[1, 0]], r"A: entries must be 0 or 1"),
    (np.array([[0, 3]], dtype=np.uint8), [[1, 0]], r"A: entries must be 0 or 1, found 3 at \(0, 1\)"),
    ([[0, math.nan]], [[1, 0]], r"A: NaN at \(0, 1\)"),
    ([["0", "1"]], [[1, 0]], r"A: entries must be numeric"),
    ([[0, 1]], [[1, 0, 1]], r"B: dimension 3 differs from A's dimension 2"),
    (np.zeros((0, 2)), [[1, 0]], r"A: empty side"),
    ([0, 1], [[1, 0]], r"A: must be a 2-D matrix"),
    ([[0, 1], [1]], [[1, 0]], r"A: not a rectangular"),
    ([[1j, 0]], [[1, 0]], r"A: entries must be numeric"),
])
def test_ov_instance_names_field_and_fault(A, B, fault):
    with pytest.raises(InvalidInstance, match=fault):
        OVInstance(A, B)


def test_hamming_instance_fields_and_far_radius():
    inst = HammingInstance([[0, 1, 1]], [[1, 1, 1]], t=3, gap=0.5)
    assert (inst.t, inst.gap, inst.far) == (3, 0.5, 5)
    assert HammingInstance([[0]], [[1]], t=np.int64(2), gap=1).t == 2
    assert HammingInstance([[0]], [[1]], t=4.0, gap=1).t == 4


@pytest.mark.parametrize("d0", range(0, 200))
def test_far_radius_of_the_gadget_is_exact(d0):
    assert far_radius(d0 + 1, 1.0 / (d0 + 1)) == d0 + 2


@pytest.mark.parametrize("t, gap, fault", [
    (-1, 0.5, r"t: must be >= 1"),
    (0, 0.5, r"t: must be >= 1"),
    (2.5, 0.5, r"t: must be an integer radius"),
    (True, 0.5, r"t: must be an integer radius"),
    ("3", 0.5, r"t: must be an integer radius"),
    (3, 0, r"gap: must be a finite number > 0"),
    (3, -0.1, r"gap: must be a finite number > 0"),
    (3, math.nan, r"gap: must be a finite number > 0"),
    (3, math.inf, r"gap: must be a finite number > 0"),
    (3, "x", r"gap: must be a positive number"),
])
def test_hamming_instance_rejects_bad_radius_and_gap(t, gap, fault):
    with pytest.raises(InvalidInstance, match=fault):
        HammingInstance([[0, 1]], [[1, 1]], t, gap)
