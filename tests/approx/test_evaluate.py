"""evaluate(): methods scored on bounded instances and on the reductions' images (docs/approx.md, "Scoring")."""

import json

import numpy as np
import pytest

import sethlab.approx as ap
from sethlab import InvalidInstance
from sethlab.approx.families import trial
from sethlab.attention import attention
from sethlab.generators import no_pair_gap_hamming
from sethlab.solvers import solve_hamming


def users_exact(Q, K, V):
    s = Q @ K.T / Q.shape[1]
    w = np.exp(s - s.max(axis=1, keepdims=True))
    return (w @ V) / w.sum(axis=1, keepdims=True)


def mean_of_v(Q, K, V):
    return np.tile(V.mean(axis=0), (Q.shape[0], 1))


@pytest.mark.parametrize("family", ["ov", "gap-hamming"])
def test_exact_callables_decide_every_image(family):
    for method in ("exact", users_exact, "sethlab.approx.builtin:exact"):
        rep = ap.evaluate(method, family, 64, trials=4, seed=1)
        assert rep.accuracy == 1.0 and rep.max_error <= 1e-12
        assert [r.truth for r in rep.rows] == [True, False, True, False]
        assert [r.answer for r in rep.rows] == [True, False, True, False]


def test_a_wrong_callable_is_caught():
    rep = ap.evaluate(mean_of_v, "ov", 64, trials=4, seed=2)
    assert rep.accuracy == 0.5  # mean of V = 1 - 1/(nB+1) everywhere: always YES
    assert rep.max_error > 0.4
    assert rep.method == "mean_of_v"


def test_wrong_shapes_and_non_finite_outputs_are_wrong_answers():
    rep = ap.evaluate(lambda Q, K, V: np.zeros((3, 3)), "ov", 32, trials=2)
    assert rep.accuracy == 0.0 and all("output" in r.refused for r in rep.rows)
    rep = ap.evaluate(lambda Q, K, V: np.full((Q.shape[0], V.shape[1]), np.nan), "ov", 32, trials=2)
    assert rep.accuracy == 0.0 and rep.max_error == float("inf")
    d = json.loads(json.dumps(rep.to_dict()))
    assert d["max_error"] == "inf" and d["accuracy"] == 0.0


def test_a_methods_own_seed_goes_through_method_params():
    a = ap.evaluate("lsh", "ov", 32, trials=2, seed=0, method_params={"seed": 3, "buckets": 4})
    b = ap.evaluate("lsh", "ov", 32, trials=2, seed=0, buckets=4, method_params={"seed": 3})
    assert a.params == b.params == {"seed": 3, "buckets": 4}
    assert [r.max_error for r in a.rows] == [r.max_error for r in b.rows]
    with pytest.raises(InvalidInstance, match="buckets"):
        ap.evaluate("lsh", "ov", 32, buckets=4, method_params={"buckets": 5})


@pytest.mark.parametrize("output, why", [
    (lambda Q, K, V: None, "None"),
    (lambda Q, K, V: users_exact(Q, K, V) + 1j, "real"),
    (lambda Q, K, V: users_exact(Q, K, V).astype(str), "real"),
    (lambda Q, K, V: [[0.0]], "shape"),
])
def test_outputs_that_are_not_real_arrays_are_wrong_answers(output, why):
    rep = ap.evaluate(output, "ov", 16, trials=2)
    assert rep.accuracy == 0.0 and all(why in r.refused for r in rep.rows)
    assert rep.max_error is None  # it ran (seconds are kept) but produced no attention output


def test_torch_outputs_are_read_in_any_float_type():
    torch = pytest.importorskip("torch")
    for dtype in (torch.float64, torch.float32, torch.bfloat16):
        rep = ap.evaluate(lambda Q, K, V, dt=dtype: torch.tensor(users_exact(Q, K, V)).to(dt), "ov", 16, trials=2)
        assert rep.accuracy == 1.0 and rep.refused == 0


def test_poly_is_refused_on_the_ov_images_and_counted_wrong():
    rep = ap.evaluate("poly", "ov", 32, trials=2)
    assert rep.refused == 2 and rep.accuracy == 0.0 and rep.seconds is None


def test_bounded_family_reports_errors_without_accuracy():
    rep = ap.evaluate("nystrom", "bounded", 256, trials=2, seed=3, ratio=0.25, landmarks=16)
    assert rep.accuracy is None and rep.bound == pytest.approx(0.25 * np.sqrt(np.log(256)))
    t = trial("bounded", 256, 3, 0, 0.25)
    assert np.abs(t.instance.Q).max() <= rep.bound and t.instance.d == 16
    err = np.abs(ap.get("nystrom", landmarks=16)(t.instance.Q, t.instance.K, t.instance.V)
                 - attention(t.instance).output).max()
    assert rep.rows[0].max_error == pytest.approx(err)
    assert rep.params == {"landmarks": 16}


def test_report_serializes_to_json():
    rep = ap.evaluate("performer", "ov", 32, trials=2, features=16)
    d = json.loads(json.dumps(rep.to_dict()))
    assert d["method"] == "performer" and d["params"] == {"features": 16} and len(d["rows"]) == 2
    assert set(d) >= {"accuracy", "max_error", "mean_relative_error", "seconds", "exact_seconds", "speed_vs_exact"}
    assert "performer on ov" in rep.summary()


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "exact", "family": "nope", "n": 8}, "family"),
    ({"method": "exact", "family": "bounded", "n": 8}, "ratio"),
    ({"method": "exact", "family": "ov", "n": 8, "ratio": 1.0}, "ratio"),
    ({"method": "exact", "family": "ov", "n": 1}, "n"),
    ({"method": "exact", "family": "ov", "n": 8, "trials": 0}, "trials"),
    ({"method": "exact", "family": "ov", "n": 8, "seed": -1}, "seed"),
    ({"method": "nope", "family": "ov", "n": 8}, "method"),
    ({"method": "no.such.module:f", "family": "ov", "n": 8}, "method"),
    ({"method": users_exact, "family": "ov", "n": 8, "k": 3}, "params"),
    ({"method": 3, "family": "ov", "n": 8}, "method"),
    ({"method": ":zeros", "family": "ov", "n": 8}, "method"),
    ({"method": ".x:y", "family": "ov", "n": 8}, "method"),
    ({"method": "exact", "family": "ov", "n": 8, "progress": 3}, "progress"),
    ({"method": "exact", "family": "ov", "n": 8, "method_params": [1]}, "method_params"),
])
def test_bad_requests_name_the_field(kwargs, match):
    with pytest.raises(InvalidInstance, match=match):
        ap.evaluate(**kwargs)


@pytest.mark.parametrize("methods", [{}, [1], {"a": ap.get("exact")}, {"a": (3, {})}])
def test_evaluate_many_checks_its_methods(methods):
    with pytest.raises(InvalidInstance, match="methods"):
        ap.evaluate_many(methods, "ov", 8, 1)


def test_no_pair_gap_hamming_has_no_close_pair():
    for seed in range(3):
        inst = no_pair_gap_hamming(50, 40, 3, 0.67, seed=seed)
        assert not solve_hamming(inst).yes
        D = (inst.A[:, None, :] != inst.B[None, :, :]).sum(axis=2)
        assert D.min() >= inst.far
