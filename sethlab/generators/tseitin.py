"""Tseitin parity formulas on random regular graphs (odd total charge: UNSAT)."""

from __future__ import annotations

import itertools

import networkx as nx
from pysat.formula import CNF, IDPool

from sethlab.errors import InvalidInstance
from sethlab.generators._common import check_int, graph_seed, make_cnf, plan_cnf, rng_for

__all__ = ["tseitin_formula", "random_tseitin", "MAX_DEGREE"]

MAX_DEGREE = 16  # a vertex of degree d contributes 2^(d-1) clauses


def tseitin_formula(graph: nx.Graph, charges: dict) -> CNF:
    """One variable per edge; at each vertex the XOR of its edges equals its charge (0/1).

    SAT iff every connected component has even total charge.
    """
    pool = IDPool()
    edges = sorted(tuple(sorted(e)) for e in graph.edges)
    if any(u == v for u, v in edges):
        raise InvalidInstance("graph: self-loops are not allowed in a Tseitin formula")
    var = {e: pool.id(("e",) + e) for e in edges}
    clauses = []
    for v in sorted(graph.nodes):
        if v not in charges or charges[v] not in (0, 1):
            raise InvalidInstance(f"charges: vertex {v!r} needs a charge of 0 or 1, got {charges.get(v)!r}")
        incident = [var[tuple(sorted((v, u)))] for u in sorted(graph.neighbors(v))]
        if len(incident) > MAX_DEGREE:
            raise InvalidInstance(f"graph: vertex {v!r} has degree {len(incident)} > {MAX_DEGREE}")
        for bits in itertools.product((0, 1), repeat=len(incident)):
            if sum(bits) % 2 != charges[v]:  # forbid this wrong-parity assignment
                clauses.append([-x if b else x for x, b in zip(incident, bits)])
    return make_cnf(clauses, pool.top)


def random_tseitin(n_vertices: int, degree: int = 3, *, seed=None, parity: str = "odd") -> CNF:
    """Tseitin formula on a random ``degree``-regular graph with random charges.

    ``parity="odd"``: total charge odd, so UNSAT. ``parity="even"``: every connected
    component gets even charge, so SAT.
    """
    n = check_int(n_vertices, "n_vertices", 1)
    deg = check_int(degree, "degree", 0, min(MAX_DEGREE, n - 1))
    if n * deg % 2:
        raise InvalidInstance(f"degree: n_vertices * degree must be even, got {n} * {deg}")
    if parity not in ("odd", "even"):
        raise InvalidInstance(f"parity: expected 'odd' or 'even', got {parity!r}")
    per_vertex = 2 ** (deg - 1) if deg else 1
    plan_cnf(n * per_vertex, n * per_vertex * deg, f"the Tseitin formula of a {deg}-regular graph on {n} vertices")
    rng = rng_for(seed)
    graph = nx.random_regular_graph(deg, n, seed=graph_seed(rng))
    charge = rng.integers(0, 2, size=n)
    components = sorted(sorted(c) for c in nx.connected_components(graph))
    for comp in components:  # make each component even ...
        charge[comp[-1]] ^= int(charge[comp].sum() % 2)
    if parity == "odd":  # ... then one vertex odd
        charge[int(rng.integers(0, n))] ^= 1
    return tseitin_formula(graph, {v: int(charge[v]) for v in range(n)})
