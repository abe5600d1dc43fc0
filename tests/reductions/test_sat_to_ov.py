"""SAT → OV split and list (docs/reductions.md §4.1): answers, witness maps, sizes, edge cases."""

import itertools
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pysat.formula import CNF

from sethlab import InvalidInstance
from sethlab.generators import random_kcnf
from sethlab.reductions import _split_and_list as sl
from sethlab.reductions.sat_to_ov import SatToOV
from sethlab.solvers import orthogonal_pairs, satisfies, solve_ov, solve_sat

RED = SatToOV()


def sat_to_ov(cnf):
    return RED.apply(cnf)


def forward_witness(image, assignment):
    return RED.forward_witness(image, assignment)


def backward_witness(image, pair):
    return RED.backward_witness(image, pair)


@st.composite
def formulas(draw):
    """Random CNFs with N in 0..9 (odd included), repeated literals, tautologies,
    empty clauses, and declared-but-unused variables."""
    n = draw(st.integers(0, 9))
    lits = st.integers(1, max(n, 1)).flatmap(lambda v: st.sampled_from([v, -v]))
    clauses = draw(st.lists(st.lists(lits, max_size=5), max_size=25)) if n else draw(
        st.lists(st.just([]), max_size=2))
    if n and draw(st.booleans()):  # a tautology and a repeated literal
        v = draw(st.integers(1, n))
        clauses.append([v, -v])
        clauses.append([v, v, v])
    cnf = CNF(from_clauses=clauses)
    cnf.nv = n
    return cnf


def all_models(cnf):
    n = cnf.nv
    for bits in itertools.product([False, True], repeat=n):
        model = tuple(v if bits[v - 1] else -v for v in range(1, n + 1))
        if satisfies(cnf, model):
            yield model


@settings(max_examples=300, deadline=None)
@given(cnf=formulas())
def test_sat_to_ov_agrees_with_the_sat_solver(cnf):
    image = sat_to_ov(cnf)
    inst = image.target
    n = cnf.nv
    assert (inst.nA, inst.nB, inst.d) == (2 ** ((n + 1) // 2), 2 ** (n // 2), len(cnf.clauses))
    truth = solve_sat(cnf)
    ans = solve_ov(inst)
    assert ans.yes == truth.yes
    if ans.yes:
        model = backward_witness(image, ans.witness)
        assert satisfies(cnf, model)
        assert forward_witness(image, model) == ans.witness


@settings(max_examples=80, deadline=None)
@given(cnf=formulas())
def test_orthogonal_pairs_are_exactly_the_models(cnf):
    image = sat_to_ov(cnf)
    pairs = {tuple(p) for p in orthogonal_pairs(image.target).tolist()}
    models = set(all_models(cnf))
    assert {backward_witness(image, p) for p in pairs} == models
    assert {forward_witness(image, m) for m in models} == pairs


def test_vectors_follow_the_definition():
    # clauses: (x1 ∨ x3), (¬x2), (x2 ∨ ¬x3); N = 3, X1 = {1, 2}, X2 = {3}
    image = sat_to_ov([[1, 3], [-2], [2, -3]])
    A, B = image.target.A, image.target.B
    # row α of A: bit 0 sets x1, bit 1 sets x2; A[α, c] = 1 iff α sets no literal of C_c true
    assert A.tolist() == [[1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 1, 0]]
    assert B.tolist() == [[1, 1, 0], [0, 1, 1]]
    assert [c for _, c in sl.parts(image.meta["nvars"], 2)] == [2, 1]


def test_edge_cases():
    empty = sat_to_ov([])
    assert (empty.target.nA, empty.target.nB, empty.target.d) == (1, 1, 0)
    assert solve_ov(empty.target).yes and backward_witness(empty, (0, 0)) == ()
    unsat = sat_to_ov([[1, 2], []])
    assert unsat.target.A[:, 1].all() and unsat.target.B[:, 1].all()
    assert not solve_ov(unsat.target).yes
    one = sat_to_ov([[-1]])  # N = 1: X1 = {x1}, X2 empty
    assert (one.target.nA, one.target.nB) == (2, 1)
    assert backward_witness(one, solve_ov(one.target).witness) == (-1,)


def test_witness_maps_refuse_non_witnesses():
    image = sat_to_ov([[1, 2], [-1]])
    with pytest.raises(InvalidInstance, match="does not satisfy clause 2"):
        forward_witness(image, [1, 2])
    with pytest.raises(InvalidInstance, match="not orthogonal"):
        backward_witness(image, (1, 0))
    with pytest.raises(InvalidInstance, match="out of range"):
        backward_witness(image, (2, 0))
    assert forward_witness(image, {1: False, 2: True}) == (0, 1)


def test_accepts_a_dimacs_path(tmp_path):
    p = tmp_path / "f.cnf"
    p.write_text("p cnf 3 2\n1 0\n-3 0\n")
    image = sat_to_ov(p)
    assert image.meta["nvars"] == 3 and image.target.d == 2


def test_32_variables_build_quickly_and_decide_correctly():
    cnf = random_kcnf(32, 120, 3, seed=7, planted=True)
    start = time.perf_counter()
    image = sat_to_ov(cnf)
    elapsed = time.perf_counter() - start
    assert image.target.A.shape == (2 ** 16, 120) and image.target.B.shape == (2 ** 16, 120)
    assert elapsed < 30  # a generous sanity bound; the build takes well under a second
    truth = solve_sat(cnf)
    # check the image against the solver's model rather than scanning 2^32 pairs
    i, j = forward_witness(image, truth.witness)
    assert int(image.target.A[i].astype(int) @ image.target.B[j]) == 0

    def true_in_left_half(lit):
        v = abs(lit)
        return v <= 16 and bool((i >> (v - 1)) & 1) == (lit > 0)

    a_expected = [int(not any(true_in_left_half(lit) for lit in c)) for c in cnf.clauses]
    assert image.target.A[i].tolist() == a_expected


def test_random_3cnf_near_the_threshold():
    """Formulas at clause ratio 4.26 (about half satisfiable), odd and even N."""
    answers = []
    for n, seed in itertools.product([11, 12, 13, 14, 15], range(8)):
        cnf = random_kcnf(n, round(4.26 * n), 3, seed=100 * n + seed)
        image = sat_to_ov(cnf)
        truth = solve_sat(cnf)
        ans = solve_ov(image.target)
        assert ans.yes == truth.yes
        if ans.yes:
            assert satisfies(cnf, backward_witness(image, ans.witness))
        answers.append(ans.yes)
    assert 5 <= sum(answers) <= 35  # both answers occur often


@pytest.mark.slow
@pytest.mark.parametrize("n", [16, 17, 18, 19, 20])
def test_random_3cnf_sweep(n):
    for seed in range(20):
        cnf = random_kcnf(n, round(4.26 * n), 3, seed=seed)
        assert solve_ov(sat_to_ov(cnf).target).yes == solve_sat(cnf).yes
