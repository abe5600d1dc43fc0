"""Graph k-coloring formulas on random graphs built with networkx."""

from __future__ import annotations

import networkx as nx
from pysat.formula import CNF, IDPool

from sethlab.generators._common import check_int, check_prob, graph_seed, make_cnf, plan_arrays, plan_cnf, rng_for

__all__ = ["coloring_formula", "random_graph", "random_coloring"]


def coloring_formula(graph: nx.Graph, k: int) -> CNF:
    """SAT iff ``graph`` is ``k``-colorable: variable ``x(v, c)`` says vertex ``v`` has color ``c``."""
    k = check_int(k, "k", 1)
    nv, ne = graph.number_of_nodes(), graph.number_of_edges()
    plan_cnf(nv + nv * k * (k - 1) // 2 + ne * k, nv * k * k + 2 * ne * k,
             f"the {k}-coloring formula of a graph with {nv} vertices and {ne} edges")
    pool = IDPool()
    nodes = sorted(graph.nodes)
    x = {(v, c): pool.id(("x", v, c)) for v in nodes for c in range(k)}
    clauses = [[x[v, c] for c in range(k)] for v in nodes]
    clauses += [[-x[v, c], -x[v, e]] for v in nodes for c in range(k) for e in range(c + 1, k)]
    for u, v in sorted(tuple(sorted(e)) for e in graph.edges if e[0] != e[1]):
        clauses += [[-x[u, c], -x[v, c]] for c in range(k)]
    return make_cnf(clauses, pool.top)


def random_graph(n_vertices: int, edge_prob: float, *, seed=None) -> nx.Graph:
    """The Erdős–Rényi graph ``G(n, p)`` that ``random_coloring`` uses for this seed."""
    n = check_int(n_vertices, "n_vertices", 1)
    p = check_prob(edge_prob, "edge_prob", open_low=False)
    edges = p * n * (n - 1) / 2
    plan_arrays(400 * (n + edges), f"a random graph G({n}, {p}) with about {edges:.0f} edges (networkx)")
    return nx.gnp_random_graph(n, p, seed=graph_seed(rng_for(seed)))


def random_coloring(n_vertices: int, edge_prob: float, k: int = 3, *, seed=None) -> CNF:
    """``k``-coloring of ``random_graph(n_vertices, edge_prob, seed=seed)``."""
    return coloring_formula(random_graph(n_vertices, edge_prob, seed=seed), k)
