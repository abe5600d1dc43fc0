"""SAT solvers: python-sat CDCL against the vectorized brute force (docs/reductions.md §4.1)."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sethlab import InvalidInstance
from sethlab.cnf import write_dimacs
from sethlab.solvers import Answer, satisfies, solve_sat, solve_sat_bruteforce
from sethlab.solvers.sat import BRUTEFORCE_MAX_VARS


def lit(n):
    return st.integers(1, n).flatmap(lambda v: st.sampled_from([v, -v]))


formulas = st.integers(1, 9).flatmap(
    lambda n: st.lists(st.lists(lit(n), min_size=0, max_size=4), max_size=30))


def truth_by_itertools(clauses, n):
    for bits in itertools.product([False, True], repeat=n):
        if all(any(bits[abs(l) - 1] == (l > 0) for l in c) for c in clauses):
            return True
    return False


@settings(max_examples=150, deadline=None)
@given(clauses=formulas)
def test_cdcl_agrees_with_brute_force_and_witnesses_satisfy(clauses):
    cdcl = solve_sat(clauses)
    brute = solve_sat_bruteforce(clauses)
    n = max((abs(l) for c in clauses for l in c), default=0)
    assert cdcl.yes == brute.yes == truth_by_itertools(clauses, n)
    for ans in (cdcl, brute):
        if ans.yes:
            assert len(ans.witness) == n
            assert [abs(l) for l in ans.witness] == list(range(1, n + 1))
            assert satisfies(clauses, ans.witness)
        else:
            assert ans.witness is None


def test_brute_force_returns_the_first_assignment_in_index_order():
    # x1 ∨ x2 is first satisfied at index 1 (x1 true, x2 false)
    assert solve_sat_bruteforce([[1, 2]]) == Answer(True, (1, -2))
    assert solve_sat_bruteforce([[-1], [-2]]) == Answer(True, (-1, -2))


@pytest.mark.parametrize("solve", [solve_sat, solve_sat_bruteforce])
def test_edge_cases(solve, tmp_path):
    assert solve([]) == Answer(True, ())
    assert solve([[]]) == Answer(False, None)
    assert solve([[1], []]).yes is False
    assert solve([[1, -1]]).yes is True            # tautology
    assert solve([[2, 2, 2], [-2, -2]]).yes is False  # repeated literals
    assert solve([[1], [-1]]).yes is False
    p = tmp_path / "f.cnf"
    write_dimacs([[1, -3], [3]], p)
    ans = solve(p)
    assert ans.yes and ans.witness[0] == 1 and ans.witness[2] == 3 and len(ans.witness) == 3


def test_witness_covers_declared_but_unused_variables(tmp_path):
    p = tmp_path / "f.cnf"
    p.write_text("p cnf 4 1\n2 0\n")
    for solve in (solve_sat, solve_sat_bruteforce):
        ans = solve(p)
        assert ans.yes and len(ans.witness) == 4 and ans.witness[1] == 2


@pytest.mark.parametrize("name", ["cadical195", "glucose4", "minisat22", "maplesat", "lingeling", "kissat404"])
def test_named_solvers_agree(name):
    assert solve_sat([], solver=name) == Answer(True, ())
    assert solve_sat([[]], solver=name) == Answer(False, None)
    assert solve_sat([[1, -1]], solver=name).yes
    php = [[1, 2], [3, 4], [5, 6], [-1, -3], [-1, -5], [-3, -5], [-2, -4], [-2, -6], [-4, -6]]
    assert solve_sat(php, solver=name).yes is False
    assert solve_sat(php[:-1], solver=name).yes is True


def test_unknown_solver_and_too_many_variables_are_refused():
    with pytest.raises(InvalidInstance, match="solver: unknown python-sat solver 'nope'"):
        solve_sat([[1]], solver="nope")
    with pytest.raises(InvalidInstance, match=f"limited to {BRUTEFORCE_MAX_VARS} variables"):
        solve_sat_bruteforce([[BRUTEFORCE_MAX_VARS + 1]])


def test_satisfies_checks_assignments():
    assert satisfies([[1, -2]], {1: False, 2: False})
    assert not satisfies([[1, -2]], [-1, 2])
    with pytest.raises(InvalidInstance, match="not set"):
        satisfies([[1, -2]], [1])
    with pytest.raises(InvalidInstance, match="both true and false"):
        satisfies([[1, -2]], [1, -1, 2])
    with pytest.raises(InvalidInstance, match="out of range"):
        satisfies([[1]], [1, 5])
