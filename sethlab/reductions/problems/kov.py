"""k-Orthogonal Vectors: one vector per list with a zero in every coordinate of their product (docs/problems.md §4.3)."""

from __future__ import annotations

import numpy as np

from sethlab import generators as g
from sethlab.instances import KOVInstance
from sethlab.reductions.problems import Family, FileFormat, Param, Problem
from sethlab.solvers import solve_kov
from sethlab.strategies import kov_instances


def _size(x) -> dict:
    return {"k": x.k, "n_max": int(x.sizes.max()), "n_total": int(x.sizes.sum()), "d": x.d}


def _verify(inst, witness) -> bool:
    if witness is None or len(witness) != inst.k:
        return False
    idx = [int(i) for i in witness]
    if not all(0 <= i < n for i, n in zip(idx, inst.sizes.tolist())):
        return False
    rows = np.stack([L[i] for L, i in zip(inst.lists, idx)]).astype(bool)
    return not rows.all(axis=0).any()


def _kov(a, seed):
    params = {"k": a["k"], "n": a["n"], "d": a["d"], "density": a["density"]}
    inst, tup = g.planted_kov(a["k"], a["n"], a["d"], seed=seed, density=a["density"])
    return "kov", inst, params, {"planted_tuple": list(tup)}


PROBLEM = Problem(
    "kov", KOVInstance, _size, solve_kov, _verify,
    description="is there one vector per list with a zero in every coordinate of their product? (witness: the tuple)",
    file=FileFormat("npz", ("vectors", "sizes")),
    strategy=kov_instances,
    families=(
        Family("kov", "random k-OV instance with one planted orthogonal k-tuple", (
            Param("--k", "int", "number of lists (at least 2)", default=3),
            Param("--n", "int", "vectors per list", required=True),
            Param("--d", "int", "dimension", required=True),
            Param("--density", "probability", "probability of a 1", default=0.5),
        ), _kov),
    ),
)
