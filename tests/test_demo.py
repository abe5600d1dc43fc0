"""`sethlab demo` in process (quick mode): the report's content, optional extras missing, failures, atomic output."""

import json
import sys

import pytest

import sethlab.app.demo as demo
from sethlab.app import experiments
from sethlab.errors import InvalidInstance
from sethlab.app.plots import unavailable as plots_unavailable

PNG = b"\x89PNG\r\n\x1a\n"
PLOTS = ("phase_transition.png", "poly_vs_exact.png", "quadrature.png")


def _run(tmp_path, name="report", **kw):
    out = tmp_path / name
    rc = demo.run_demo(out=str(out), n=64, d=2, quick=True, **kw)
    return rc, out


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    with open(tmp / "stdout.txt", "w") as stream:
        rc, out = _run(tmp, stream=stream)
    return rc, out, json.loads((out / "results.json").read_text()), (out / "report.md").read_text()


def test_demo_passes_and_decides_sat_by_gradient_calls(quick_report):
    rc, out, res, _ = quick_report
    assert rc == 0 and res["passed"]
    assert len(res["chain"]) == 2
    for row in res["chain"]:
        assert row["answer"] == row["truth"] and row["calls"] > 1
        assert [s["stage"] for s in row["stages"]] == ["sat-solver", "sat-to-ov", "ov-to-attention",
                                                       "attention-to-gradient"]
    assert {row["truth"] for row in res["chain"]} == {True, False}  # one SAT, one UNSAT formula


def test_demo_measurements_are_consistent(quick_report):
    _, _, res, _ = quick_report
    rules = {r["rule"] for r in res["quadrature"]["rows"]}
    assert rules == {"gauss-legendre", "riemann", "certified plan"}
    assert all(r["measured_error"] <= r["stated_bound"] for r in res["quadrature"]["rows"])
    plan = next(r for r in res["quadrature"]["rows"] if r["rule"] == "certified plan")
    assert plan["answer"] is not None and plan["quadrature_bound"] <= res["quadrature"]["gap"] / 4
    assert {r["problem"] for r in res["poly"]} == {"forward", "gradient"}
    assert all(r["measured_error"] <= r["error_bound"] for r in res["poly"])
    for n in {r["n"] for r in res["phase"]}:
        ranks = [r["rank"] for r in res["phase"] if r["n"] == n]
        assert ranks == sorted(ranks)  # rank grows with B


def test_demo_report_and_plots(quick_report):
    _, out, res, md = quick_report
    assert md.startswith("# sethlab demo report")
    for section in ("## Checks", "## SAT decided by gradient calls", "## Quadrature", "## Polynomial method",
                    "## Rank phase transition", "## Plots"):
        assert section in md
    if plots_unavailable() is None:
        for name in PLOTS:
            assert (out / name).read_bytes().startswith(PNG)
            assert f"]({name})" in md
    else:
        assert "No plots:" in md


def test_demo_without_matplotlib_and_torch(tmp_path, monkeypatch, capsys):
    for mod in ("matplotlib", "matplotlib.pyplot", "torch"):
        monkeypatch.setitem(sys.modules, mod, None)  # `import mod` now raises ImportError
    rc, out = _run(tmp_path)
    assert rc == 0
    md = (out / "report.md").read_text()
    assert "No plots: matplotlib is not installed" in md
    assert not any((out / name).exists() for name in PLOTS)
    res = json.loads((out / "results.json").read_text())
    skipped = [c for c in res["checks"] if c["status"] == "skip"]
    assert len(skipped) == 1 and "torch not installed" in skipped[0]["detail"] and skipped[0]["ok"] is None
    assert "1 skipped" in (out / "report.md").read_text()
    assert "no plots: matplotlib is not installed" in capsys.readouterr().out


def test_failed_check_exits_1_and_keeps_the_report(tmp_path, monkeypatch, capsys):
    real = experiments.decide_formula

    def wrong(cnf, label="", **options):
        row = real(cnf, label, **options)
        row.update(answer=not row["truth"], correct=False, reason="forced wrong for the test")
        return row

    monkeypatch.setattr(experiments, "decide_formula", wrong)
    monkeypatch.setattr(demo.plots, "unavailable", lambda: "skipped in this test")
    rc, out = _run(tmp_path)
    assert rc == 1
    assert "| FAIL |" in (out / "report.md").read_text()
    assert "FAIL" in capsys.readouterr().out


def test_crash_leaves_nothing_behind(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(experiments, "poly_against_exact", boom)
    with pytest.raises(RuntimeError, match="simulated crash"):
        _run(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_existing_folder_is_refused(tmp_path):
    (tmp_path / "report").mkdir()
    with pytest.raises(InvalidInstance, match="already exists"):
        _run(tmp_path)
    assert list(tmp_path.iterdir()) == [tmp_path / "report"]


def test_bad_sizes_are_refused(tmp_path):
    with pytest.raises(InvalidInstance, match="n: must be a positive integer"):
        demo.run_demo(out=str(tmp_path / "r"), n=0)
    assert list(tmp_path.iterdir()) == []


def test_default_folder_is_fresh_and_printed(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(demo.plots, "unavailable", lambda: "skipped in this test")
    assert demo.run_demo(n=32, d=2, quick=True, as_json=True) == 0
    out = json.loads(capsys.readouterr().out)
    (folder,) = tmp_path.iterdir()
    assert folder.name.startswith("sethlab-demo-") and out["folder"] == str(folder)
