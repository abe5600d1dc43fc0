"""CNF-SAT: is the formula satisfiable? Witness: an assignment (docs/problems.md §4)."""

from __future__ import annotations

from pysat.formula import CNF

from sethlab import generators as g
from sethlab.reductions.problems import Family, FileFormat, Param, Problem
from sethlab.solvers import satisfies, solve_sat
from sethlab.strategies import cnfs


def _size(cnf) -> dict:
    return {"N": int(cnf.nv), "m": len(cnf.clauses)}


def _verify(cnf, witness) -> bool:
    return witness is not None and satisfies(cnf, witness)


def _kcnf(a, seed):
    m = a["clauses"] if a["clauses"] is not None else round(4.26 * a["vars"])
    params = {"n_vars": a["vars"], "n_clauses": m, "k": a["k"], "planted": a["planted"]}
    return "cnf-sat", g.random_kcnf(a["vars"], m, a["k"], seed=seed, planted=a["planted"]), params, {}


def _pigeonhole(a, seed):
    params = {"n_holes": a["holes"], "n_pigeons": a["pigeons"]}
    return "cnf-sat", g.pigeonhole(a["holes"], a["pigeons"], seed=seed), params, {}


def _coloring(a, seed):
    params = {"n_vertices": a["vertices"], "edge_prob": a["edge_prob"], "k": a["colors"]}
    return "cnf-sat", g.random_coloring(a["vertices"], a["edge_prob"], a["colors"], seed=seed), params, {}


def _tseitin(a, seed):
    params = {"n_vertices": a["vertices"], "degree": a["degree"], "parity": a["parity"]}
    return "cnf-sat", g.random_tseitin(a["vertices"], a["degree"], seed=seed, parity=a["parity"]), params, {}


PROBLEM = Problem(
    "cnf-sat", CNF, _size, solve_sat, _verify,
    description="is the CNF formula satisfiable? (witness: an assignment)",
    file=FileFormat("dimacs"),
    strategy=cnfs,
    families=(
        Family("kcnf", "random k-CNF (uniform, or --planted: satisfiable by a hidden assignment)", (
            Param("--vars", "int", "number of variables N", required=True),
            Param("--clauses", "count", "number of clauses (default round(4.26 N), the 3-SAT threshold)"),
            Param("--k", "int", "clause width", default=3),
            Param("--planted", "switch", "plant a satisfying assignment"),
        ), _kcnf),
        Family("pigeonhole", "pigeonhole formula (UNSAT when pigeons > holes)", (
            Param("--holes", "int", required=True),
            Param("--pigeons", "int", "default holes + 1"),
        ), _pigeonhole),
        Family("coloring", "k-coloring of a random G(n, p) graph", (
            Param("--vertices", "int", required=True),
            Param("--edge-prob", "probability", default=0.5),
            Param("--colors", "int", default=3),
        ), _coloring),
        Family("tseitin", "Tseitin formula of a random regular graph (odd total charge: UNSAT)", (
            Param("--vertices", "int", required=True),
            Param("--degree", "int", default=3),
            Param("--parity", "choice", default="odd", choices=("odd", "even")),
        ), _tseitin),
    ),
)
