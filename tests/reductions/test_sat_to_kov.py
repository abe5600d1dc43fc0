"""CNF-SAT → k-OV (docs/reductions.md §4.3): answers, witness maps both ways, sizes, k = 2 is SAT → OV."""

import numpy as np
import pytest
from hypothesis import given, settings

from sethlab.generators import random_kcnf
from sethlab.reductions import get
from sethlab.reductions.sat_to_kov import SatToKOV
from sethlab.reductions.sat_to_ov import SatToOV
from sethlab.reductions.verify import check
from sethlab.solvers import satisfies, solve_kov, solve_sat
from sethlab.testing import cnfs


@settings(max_examples=120, deadline=None)
@given(cnf=cnfs(max_vars=9, max_clauses=14))
def test_answers_and_witnesses_for_k_2_to_4(cnf):
    truth = solve_sat(cnf)
    for k in (2, 3, 4):
        red = SatToKOV(k)
        image = red.apply(cnf)
        ans = solve_kov(image.target)
        assert ans.yes == truth.yes
        assert image.prediction.sizes == red.overhead({"N": cnf.nv, "m": len(cnf.clauses)})
        if truth.yes:
            model = red.backward_witness(image, ans.witness)
            assert satisfies(cnf, model)
            tup = red.forward_witness(image, truth.witness)
            assert get("sat-to-kov").target == "kov" and solve_kov(image.target).yes
            rows = np.stack([L[i] for L, i in zip(image.target.lists, tup)]).astype(bool)
            assert not rows.all(axis=0).any()


def test_k_two_is_split_and_list():
    cnf = random_kcnf(9, 30, 3, seed=4)
    a, b = SatToKOV(2).apply(cnf).target.lists, SatToOV().apply(cnf).target
    assert np.array_equal(a[0], b.A) and np.array_equal(a[1], b.B)


def test_sizes_follow_the_parts():
    image = SatToKOV(3).apply(random_kcnf(10, 20, 3, seed=1))
    assert image.target.sizes.tolist() == [16, 8, 8] and image.target.d == 20


def test_registered_and_verified():
    assert get("sat-to-kov").k == 3
    report = check("sat-to-kov", trials=25, seed=5)
    assert report.ok and len(report.conclusive) == 25
    assert check(SatToKOV(4), trials=15, seed=6).ok


def test_bad_k():
    with pytest.raises(Exception, match="k"):
        SatToKOV(1)
