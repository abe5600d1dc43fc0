"""Tseitin formulas: odd total charge is UNSAT, even charge per component is SAT."""

import networkx as nx
import pytest

from sethlab import InvalidInstance
from sethlab.cnf import dimacs_string
from sethlab.generators import random_tseitin, tseitin_formula
from sethlab.solvers import solve_sat, solve_sat_bruteforce


@pytest.mark.parametrize("n, degree", [(6, 3), (8, 3), (10, 4), (12, 3), (5, 4), (2, 1), (3, 0)])
def test_parity_decides_satisfiability(n, degree):
    for seed in range(3):
        odd = random_tseitin(n, degree, seed=seed)
        even = random_tseitin(n, degree, seed=seed, parity="even")
        assert not solve_sat(odd).yes
        assert solve_sat(even).yes
        if odd.nv <= 16:
            assert not solve_sat_bruteforce(odd).yes and solve_sat_bruteforce(even).yes


def test_models_satisfy_every_vertex_parity():
    graph = nx.cycle_graph(4)
    charges = {0: 1, 1: 1, 2: 0, 3: 0}
    ans = solve_sat(tseitin_formula(graph, charges))
    assert ans.yes
    edges = sorted(tuple(sorted(e)) for e in graph.edges)  # variable e+1 for the e-th sorted edge
    value = {e: ans.witness[k] > 0 for k, e in enumerate(edges)}
    for v in graph.nodes:
        assert sum(value[e] for e in edges if v in e) % 2 == charges[v]


def test_clause_count_and_determinism():
    cnf = random_tseitin(10, 3, seed=1)
    assert cnf.nv == 15 and len(cnf.clauses) == 10 * 4
    assert dimacs_string(cnf) == dimacs_string(random_tseitin(10, 3, seed=1))
    assert dimacs_string(cnf) != dimacs_string(random_tseitin(10, 3, seed=2))


@pytest.mark.parametrize("kwargs, fault", [
    (dict(n_vertices=5, degree=3), "n_vertices \\* degree must be even"),
    (dict(n_vertices=4, degree=4), "degree: must be in \\[0, 3\\]"),
    (dict(n_vertices=6, degree=3, parity="any"), "parity: expected 'odd' or 'even'"),
    (dict(n_vertices=0, degree=0), "n_vertices: must be >= 1"),
])
def test_validation(kwargs, fault):
    with pytest.raises(InvalidInstance, match=fault):
        random_tseitin(seed=0, **kwargs)


def test_formula_validation():
    with pytest.raises(InvalidInstance, match="charges: vertex 1 needs a charge"):
        tseitin_formula(nx.path_graph(2), {0: 1})
    g = nx.Graph([(0, 0)])
    with pytest.raises(InvalidInstance, match="self-loops"):
        tseitin_formula(g, {0: 0})
