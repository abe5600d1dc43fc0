"""Exact k-OV (docs/problems.md §4.3): against brute force, YES and NO, k = 2 against the OV solver, bad input."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings

import sethlab
from sethlab.generators import planted_kov
from sethlab.instances import KOVInstance, OVInstance
from sethlab.reductions.problems import get_problem
from sethlab.solvers import solve_kov, solve_ov
from sethlab.testing import kov_instances


def brute(inst):
    for tup in itertools.product(*(range(n) for n in inst.sizes.tolist())):
        rows = np.stack([L[i] for L, i in zip(inst.lists, tup)]).astype(bool)
        if not rows.all(axis=0).any():
            return tup
    return None


@settings(max_examples=150, deadline=None)
@given(inst=kov_instances())
def test_solver_agrees_with_brute_force(inst):
    ans = solve_kov(inst, block=3)  # small blocks: several passes, the order must survive
    first = brute(inst)
    assert ans.yes == (first is not None)
    if ans.yes:
        assert ans.witness == first and get_problem("kov").verify(inst, ans.witness)


def test_no_instance_and_k_two():
    inst = KOVInstance.from_lists(np.ones((3, 4)), np.ones((2, 4)), np.eye(4)[:1])
    assert solve_kov(inst).yes is False and brute(inst) is None
    A, B = np.array([[1, 0, 1], [0, 1, 1]]), np.array([[0, 1, 0], [1, 1, 0]])
    assert solve_kov(KOVInstance.from_lists(A, B)).witness == solve_ov(OVInstance(A, B)).witness


def test_planted_family_plants_a_witness_and_is_seeded():
    inst, tup = planted_kov(4, 20, 10, seed=7)
    assert get_problem("kov").verify(inst, tup) and solve_kov(inst).yes
    again, _ = planted_kov(4, 20, 10, seed=7)
    assert np.array_equal(inst.vectors, again.vectors)


@pytest.mark.parametrize("make, field", [
    (lambda: KOVInstance.from_lists(np.ones((2, 3))), "lists"),
    (lambda: KOVInstance.from_lists(np.ones((2, 3)), np.ones((2, 4))), "list 2"),
    (lambda: KOVInstance.from_lists(np.ones((2, 3)), [[2, 0, 0]]), "list 2"),
    (lambda: KOVInstance(np.ones((3, 2)), [1, 1]), "sizes"),
    (lambda: KOVInstance(np.ones((3, 2)), [3]), "sizes"),
    (lambda: planted_kov(1, 3, 3), "k"),
])
def test_bad_input_names_the_field(make, field):
    with pytest.raises(sethlab.InvalidInstance, match=field):
        make()
