"""Pigeonhole formulas: UNSAT with more pigeons than holes, seeded shuffles."""

import pytest

from sethlab import InvalidInstance
from sethlab.cnf import dimacs_string
from sethlab.generators import pigeonhole
from sethlab.solvers import solve_sat, solve_sat_bruteforce


@pytest.mark.parametrize("holes", [1, 2, 3, 4, 5])
def test_more_pigeons_than_holes_is_unsat(holes):
    cnf = pigeonhole(holes)
    assert cnf.nv == holes * (holes + 1)
    assert len(cnf.clauses) == (holes + 1) + holes * (holes + 1) * holes // 2
    assert not solve_sat(cnf).yes
    assert not solve_sat(pigeonhole(holes, seed=3)).yes
    if cnf.nv <= 20:
        assert not solve_sat_bruteforce(cnf).yes


def test_enough_holes_is_sat():
    assert solve_sat(pigeonhole(4, 4, seed=1)).yes
    assert solve_sat(pigeonhole(4, 2)).yes


def test_seeded_shuffle_is_deterministic_and_only_renames():
    a, b = pigeonhole(4, seed=9), pigeonhole(4, seed=9)
    assert dimacs_string(a) == dimacs_string(b)
    assert dimacs_string(a) != dimacs_string(pigeonhole(4, seed=10))
    canonical = pigeonhole(4)
    assert sorted(map(len, a.clauses)) == sorted(map(len, canonical.clauses))
    assert dimacs_string(pigeonhole(4)) == dimacs_string(canonical)


def test_validation():
    with pytest.raises(InvalidInstance, match="n_holes: must be >= 1"):
        pigeonhole(0)
    with pytest.raises(InvalidInstance, match="n_pigeons: must be >= 1"):
        pigeonhole(2, 0)
