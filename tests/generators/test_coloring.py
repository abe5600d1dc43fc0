"""Graph coloring formulas: SAT iff the graph is k-colorable (checked by brute force)."""

import itertools

import networkx as nx
import pytest

from sethlab import InvalidInstance
from sethlab.cnf import dimacs_string
from sethlab.generators import coloring_formula, random_coloring, random_graph
from sethlab.solvers import solve_sat


def colorable(graph, k):
    nodes = sorted(graph.nodes)
    for colors in itertools.product(range(k), repeat=len(nodes)):
        c = dict(zip(nodes, colors))
        if all(c[u] != c[v] for u, v in graph.edges):
            return True
    return False


@pytest.mark.parametrize("seed", range(12))
def test_random_coloring_matches_brute_force(seed):
    n, p, k = 7, 0.55, 3
    graph = random_graph(n, p, seed=seed)
    cnf = random_coloring(n, p, k, seed=seed)
    assert dimacs_string(cnf) == dimacs_string(coloring_formula(graph, k))
    ans = solve_sat(cnf)
    assert ans.yes == colorable(graph, k)
    if ans.yes:  # decode the coloring from the model and check it
        true = {l for l in ans.witness if l > 0}
        color = {v: [c for c in range(k) if v * k + c + 1 in true] for v in graph.nodes}
        assert all(len(cs) == 1 for cs in color.values())
        assert all(color[u] != color[v] for u, v in graph.edges)


def test_known_graphs():
    assert not solve_sat(coloring_formula(nx.complete_graph(4), 3)).yes
    assert solve_sat(coloring_formula(nx.complete_graph(4), 4)).yes
    assert not solve_sat(coloring_formula(nx.cycle_graph(5), 2)).yes
    assert solve_sat(coloring_formula(nx.cycle_graph(6), 2)).yes
    assert solve_sat(coloring_formula(nx.empty_graph(3), 1)).yes


def test_determinism_and_validation():
    assert dimacs_string(random_coloring(20, 0.3, 3, seed=4)) == dimacs_string(random_coloring(20, 0.3, 3, seed=4))
    assert dimacs_string(random_coloring(20, 0.3, 3, seed=4)) != dimacs_string(random_coloring(20, 0.3, 3, seed=5))
    with pytest.raises(InvalidInstance, match="edge_prob: must be in"):
        random_coloring(5, 1.5, 3, seed=0)
    with pytest.raises(InvalidInstance, match="k: must be >= 1"):
        random_coloring(5, 0.5, 0, seed=0)
    with pytest.raises(InvalidInstance, match="n_vertices: must be >= 1"):
        random_coloring(0, 0.5, 3, seed=0)
