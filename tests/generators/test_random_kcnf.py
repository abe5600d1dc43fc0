"""Random k-CNF generator: shape, determinism, planted satisfiability."""

import pytest

from sethlab import InvalidInstance
from sethlab.cnf import dimacs_string
from sethlab.generators import random_kcnf
from sethlab.solvers import solve_sat, solve_sat_bruteforce


def test_shape_and_distinct_variables():
    for n, k in ((10, 3), (4, 4), (7, 5), (1, 1)):
        cnf = random_kcnf(n, 50, k, seed=1)
        assert cnf.nv == n and len(cnf.clauses) == 50
        assert all(len(c) == k and len({abs(l) for l in c}) == k for c in cnf.clauses)
        assert all(1 <= abs(l) <= n for c in cnf.clauses for l in c)


@pytest.mark.parametrize("planted", [False, True])
def test_same_seed_gives_identical_output(planted):
    a = dimacs_string(random_kcnf(30, 120, 3, seed=5, planted=planted))
    assert a == dimacs_string(random_kcnf(30, 120, 3, seed=5, planted=planted))
    assert a != dimacs_string(random_kcnf(30, 120, 3, seed=6, planted=planted))


def test_planted_formulas_are_satisfiable_even_above_the_threshold():
    for seed in range(20):
        cnf = random_kcnf(14, 14 * 8, 3, seed=seed, planted=True)  # ratio 8: random ones are UNSAT
        assert solve_sat(cnf).yes and solve_sat_bruteforce(cnf).yes


def test_dense_random_formulas_are_mostly_unsat():
    results = [solve_sat(random_kcnf(12, 12 * 8, 3, seed=s)).yes for s in range(10)]
    assert results.count(False) >= 8


@pytest.mark.parametrize("args, fault", [
    ((0, 5, 3), "n_vars: must be >= 1"),
    ((5, -1, 3), "n_clauses: must be >= 0"),
    ((5, 5, 0), "k: must be >= 1"),
    ((3, 5, 4), "k: clause width 4 exceeds n_vars = 3"),
    ((3.5, 5, 2), "n_vars: must be an integer"),
])
def test_parameter_validation(args, fault):
    with pytest.raises(InvalidInstance, match=fault):
        random_kcnf(*args, seed=0)


def test_seed_validation():
    with pytest.raises(InvalidInstance, match="seed: must be None or a nonnegative integer"):
        random_kcnf(5, 5, 3, seed=-1)
    with pytest.raises(InvalidInstance, match="seed"):
        random_kcnf(5, 5, 3, seed="x")
