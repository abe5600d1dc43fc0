"""Orthogonal Vectors: is some pair (a_i, b_j) orthogonal? Witness: the pair (docs/problems.md §4)."""

from __future__ import annotations

import numpy as np

from sethlab import generators as g
from sethlab.instances import OVInstance
from sethlab.reductions.problems import Family, FileFormat, Param, Problem
from sethlab.solvers import solve_ov
from sethlab.strategies import ov_instances


def _verify(inst, pair) -> bool:
    if pair is None:
        return False
    i, j = (int(v) for v in pair)
    return 0 <= i < inst.nA and 0 <= j < inst.nB and int(inst.A[i].astype(np.int64) @ inst.B[j]) == 0


def _ov(a, seed):
    params = {"n": a["n"], "d": a["d"], "density": a["density"], "n_b": a["n_b"], "planted": not a["no_pair"]}
    if a["no_pair"]:
        return "ov", g.no_pair_ov(a["n"], a["d"], seed=seed, density=a["density"], n_b=a["n_b"]), params, {}
    inst, pair = g.planted_ov(a["n"], a["d"], seed=seed, density=a["density"], n_b=a["n_b"])
    return "ov", inst, params, {"planted_pair": list(pair)}


PROBLEM = Problem(
    "ov", OVInstance, lambda x: {"nA": x.nA, "nB": x.nB, "d": x.d}, solve_ov, _verify,
    description="is some pair (a_i, b_j) orthogonal? (witness: the pair)",
    file=FileFormat("npz", ("A", "B")),
    strategy=ov_instances,
    families=(
        Family("ov", "random OV instance with one planted orthogonal pair (or --no-pair: certified none)", (
            Param("--n", "int", "vectors on side A (and B unless --n-b)", required=True),
            Param("--d", "int", "dimension", required=True),
            Param("--n-b", "int", "vectors on side B"),
            Param("--density", "probability", "probability of a 1", default=0.5),
            Param("--no-pair", "switch", "no orthogonal pair (certified by the exact solver)"),
        ), _ov),
    ),
)
