"""sethlab.decide: CNF-SAT decided with gradient calls only, checked against the SAT solver (docs/reductions.md §4.1, §5.1, docs/quadrature.md)."""

import pytest

import sethlab
from sethlab.generators import pigeonhole, random_kcnf


FORMULAS = [
    ("random-3cnf-10", lambda s: random_kcnf(10, 43, 3, seed=s)),
    ("random-3cnf-13", lambda s: random_kcnf(13, 56, 3, seed=s)),
    ("planted-14", lambda s: random_kcnf(14, 60, 3, seed=s, planted=True)),
]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("name, make", FORMULAS)
def test_chain_matches_sat_solver(name, make, seed):
    cnf = make(seed)
    res = sethlab.decide(cnf)
    assert res.conclusive and res.answer == res.truth, res.reason
    assert res.calls == res.stages[-1]["sizes"]["calls"] > 0
    assert res.margin > res.error
    assert [s["stage"] for s in res.stages] == ["sat-solver", "sat-to-ov", "ov-to-attention", "attention-to-gradient"]


def test_unsat_pigeonhole_and_edge_formulas():
    for cnf, truth in [
        (pigeonhole(3), False),  # 4 pigeons, 3 holes: 12 variables
        ([], True),  # empty formula
        ([[1, -1], [2]], True),  # tautology and a unit
        ([[1, 1, 2], [-1], [-2]], False),  # repeated literal, UNSAT
        ([[1], [-1, 2], [-2, 3], [-3, 4], [-4, 5]], True),  # odd N
    ]:
        res = sethlab.decide(cnf)
        assert res.truth is truth
        assert res.answer is truth, res.reason


def test_empty_clause_is_unsat():
    res = sethlab.decide([[1, 2], []])
    assert res.truth is False and res.answer is False


@pytest.mark.parametrize("via", ["ov", "attention"])
def test_other_routes(via):
    cnf = random_kcnf(12, 51, 3, seed=5)
    res = sethlab.decide(cnf, via=via)
    assert res.answer == res.truth


def test_bad_route():
    with pytest.raises(sethlab.InvalidInstance, match="via"):
        sethlab.decide([[1]], via="telepathy")
