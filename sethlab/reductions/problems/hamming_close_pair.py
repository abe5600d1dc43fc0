"""Gap-Hamming close pair: some pair at distance < t, or all at >= ⌈(1+gap)t⌉ (docs/problems.md §4.4)."""

from __future__ import annotations

import numpy as np

from sethlab import generators as g
from sethlab.instances import HammingInstance
from sethlab.reductions.problems import Family, FileFormat, Param, Problem
from sethlab.solvers import solve_hamming
from sethlab.solvers.hamming import promise_violation
from sethlab.strategies import gap_hamming_instances


def _verify(inst, pair) -> bool:
    if pair is None:
        return False
    i, j = (int(v) for v in pair)
    return 0 <= i < inst.nA and 0 <= j < inst.nB and int(np.count_nonzero(inst.A[i] != inst.B[j])) < inst.t


def _gap_hamming(a, seed):
    params = {"n": a["n"], "d": a["d"], "t": a["t"], "gap": a["gap"], "n_b": a["n_b"]}
    inst, pair = g.planted_gap_hamming(a["n"], a["d"], a["t"], a["gap"], seed=seed, n_b=a["n_b"])
    return "hamming-close-pair", inst, params, {"planted_pair": list(pair)}


PROBLEM = Problem(
    "hamming-close-pair", HammingInstance, lambda x: {"nA": x.nA, "nB": x.nB, "d": x.d, "t": x.t},
    solve_hamming, _verify,
    description="is some pair at distance < t, all others >= (1+gap)t? (witness: the pair)",
    promise=promise_violation,
    file=FileFormat("npz", ("A", "B"), ("t", "gap")),
    strategy=gap_hamming_instances,
    families=(
        Family("gap-hamming", "planted Gap-Hamming instance: one pair at distance < t, all others >= (1+gap) t", (
            Param("--n", "int", required=True),
            Param("--d", "int", required=True),
            Param("--t", "int", "radius", required=True),
            Param("--gap", "float", "relative gap epsilon", required=True),
            Param("--n-b", "int"),
        ), _gap_hamming),
    ),
)
