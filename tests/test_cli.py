"""The `sethlab` command through a subprocess: every command, values checked, and bad input for each.

Exit codes: 0 success, 1 a check failed, 2 bad input or usage; bad input is one
line on stderr and never a traceback.
"""

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

import sethlab
from sethlab import io


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "sethlab", *map(str, args)], capture_output=True, text=True,
                          timeout=600, cwd=cwd)


def assert_usage_error(r, *words):
    """Exit code 2, exactly one line on stderr starting with 'sethlab: error:', no traceback."""
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sethlab: error:"), r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Generated inputs shared by the tests (each written through the CLI itself)."""
    d = tmp_path_factory.mktemp("cli")
    out = {
        "sat": d / "sat.cnf", "php": d / "php.cnf", "ov": d / "ov.npz", "ovno": d / "ovno.npz",
        "gh": d / "gh.npz",
    }
    for args in (["kcnf", "--vars", 8, "--planted", "--seed", 1, "-o", out["sat"]],
                 ["pigeonhole", "--holes", 2, "-o", out["php"]],
                 ["ov", "--n", 24, "--d", 10, "--seed", 5, "-o", out["ov"]],
                 ["ov", "--n", 24, "--d", 10, "--no-pair", "-o", out["ovno"]],
                 ["gap-hamming", "--n", 16, "--d", 32, "--t", 3, "--gap", 0.67, "-o", out["gh"]]):
        r = run("gen", *args)
        assert r.returncode == 0, r.stderr
    out["bad_cnf"] = d / "bad.cnf"
    out["bad_cnf"].write_text("p cnf 3 2\n1 2 0\n1 x 0\n")
    raw = bytearray(out["ov"].read_bytes())
    out["truncated"] = d / "truncated.npz"
    out["truncated"].write_bytes(bytes(raw[: len(raw) // 2]))
    raw[len(raw) // 2] ^= 0xFF
    out["flipped"] = d / "flipped.npz"
    out["flipped"].write_bytes(bytes(raw))
    out["dir"] = d
    return out


# ------------------------------------------------------------------ top level


def test_version_and_help():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"sethlab {sethlab.__version__}"
    r = run("--help")
    assert r.returncode == 0
    for cmd in ("demo", "gen", "reduce", "solve", "verify", "chain", "graph", "bench"):
        assert cmd in r.stdout


@pytest.mark.parametrize("args", [[], ["nonsense"], ["--bogus"]])
def test_bad_top_level_usage(args):
    assert_usage_error(run(*args))


# ------------------------------------------------------------------ gen


def test_gen_same_seed_gives_byte_identical_files(tmp_path):
    # one DIMACS and one .npz family here; every family's determinism is tested in tests/generators
    runs = (("kcnf", "cnf", ["--vars", 12], (7, 7)), ("ov", "npz", ["--n", 20, "--d", 8], (7, 7, 8)))
    for fam, ext, extra, seeds in runs:
        paths = [tmp_path / f"{fam}{k}.{ext}" for k in range(len(seeds))]
        for path, seed in zip(paths, seeds):
            r = run("gen", fam, *extra, "--seed", seed, "-o", path)
            assert r.returncode == 0, r.stderr
        assert paths[0].read_bytes() == paths[1].read_bytes(), fam
        if len(paths) > 2:
            assert paths[0].read_bytes() != paths[2].read_bytes(), fam


def test_gen_json_and_metadata(tmp_path):
    path = tmp_path / "k.cnf"
    r = run("gen", "kcnf", "--vars", 10, "--clauses", 30, "--seed", 3, "-o", path, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["problem"] == "cnf-sat" and out["sizes"] == {"N": 10, "m": 30} and out["seed"] == 3
    rec = io.load(path)
    assert rec.seed == 3 and rec.params["family"] == "kcnf" and len(rec.instance.clauses) == 30


def test_solve_planted_ov_finds_the_planted_pair(files):
    planted = io.load(files["ov"]).params["planted_pair"]
    r = run("solve", files["ov"], "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["answer"] is True and out["witness"] == planted
    r = run("solve", files["ovno"])
    assert r.returncode == 0 and r.stdout.strip() == "NO"


def test_solve_cnf_and_hamming(files):
    r = run("solve", files["sat"], "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 0 and out["answer"] is True
    from sethlab.solvers import satisfies

    assert satisfies(io.load(files["sat"]).instance, out["witness"])
    r = run("solve", files["php"])
    assert r.returncode == 0 and r.stdout.strip() == "UNSATISFIABLE"
    r = run("solve", files["gh"], "--json")
    assert json.loads(r.stdout)["witness"] == io.load(files["gh"]).params["planted_pair"]


# ------------------------------------------------------------------ reduce and solve of attention


def test_reduce_writes_image_with_provenance_and_solve_decides_it(files, tmp_path):
    out = tmp_path / "img.npz"
    r = run("reduce", files["ov"], "--to", "attention", "-o", out, "--json")
    assert r.returncode == 0, r.stderr
    rec = io.load(out)
    assert rec.problem == "attention" and list(rec.provenance) == ["ov-to-attention"]
    assert rec.params["source_sha256"] == io.load(files["ov"]).sha256
    pred = rec.params["prediction"]
    r = run("solve", out, "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    values = np.array(res["value"])[:, 0]
    assert 0 < res["error_bound"] < 1e-10 and values.max() >= pred["yes_range"][0]  # the planted row is >= 1/2
    i, _ = io.load(files["ov"]).params["planted_pair"]
    assert int(values.argmax()) == i


def test_reduce_cnf_to_gradient_names_the_chain(files, tmp_path):
    out = tmp_path / "g.npz"
    r = run("reduce", files["sat"], "--to", "attention-gradient", "-o", out)
    assert r.returncode == 0, r.stderr
    rec = io.load(out)
    assert list(rec.provenance) == ["sat-to-ov", "ov-to-attention", "attention-to-gradient"]
    assert rec.problem == "attention-gradient" and rec.seed == 1
    r = run("solve", out, "--json")
    assert r.returncode == 0 and len(json.loads(r.stdout)["value"]) == rec.instance.d


def test_reduce_default_output_path(files):
    r = run("reduce", files["gh"], "--to", "attention")
    assert r.returncode == 0, r.stderr
    assert (files["dir"] / "gh.attention.npz").exists()
    assert io.load(files["dir"] / "gh.attention.npz").provenance == ("hamming-to-attention-tuned",)


def test_solve_poly_within_its_bound(tmp_path):
    rng = np.random.default_rng(0)
    import sethlab.attention as sa

    inst = sa.AttentionInstance(rng.uniform(-1, 1, (200, 3)), rng.uniform(-1, 1, (150, 3)), rng.normal(size=(150, 2)))
    path = tmp_path / "att.npz"
    io.save(path, inst)
    exact = sa.attention(inst).output
    r = run("solve", path, "--method", "poly", "--eps", "1e-6", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["rank"] is not None and res["error_bound"] <= 1e-6
    assert np.abs(np.array(res["value"]) - exact).max() <= res["error_bound"]


# ------------------------------------------------------------------ chain


@pytest.mark.parametrize("extra", [[], ["--gradient"]])
def test_overflowing_instance_is_refused_not_solved_as_nan(tmp_path, extra):
    # scores of 1e320 cannot be held in float64: one line, exit 2, never "nan" with a bound of 0
    out = tmp_path / "huge.npz"
    assert run("gen", "attention", "--n", 4, "--d", 2, "--B", "1e160", *extra, "-o", out).returncode == 0
    for args in ([], ["--method", "poly", "--eps", "1e-3"], ["--json"]):
        r = run("solve", out, *args)
        assert_usage_error(r)
        assert "nan" not in r.stdout.lower()


def test_kov_through_the_command_line(tmp_path):
    k = tmp_path / "k.npz"
    r = run("gen", "kov", "--k", 4, "--n", 12, "--d", 8, "--seed", 2, "-o", k, "--json")
    assert r.returncode == 0, r.stderr
    tup = json.loads(r.stdout)["params"]["planted_tuple"]
    res = json.loads(run("solve", k, "--json").stdout)
    assert res["answer"] is True and len(res["witness"]) == 4 and len(tup) == 4
    f = tmp_path / "f.cnf"
    assert run("gen", "kcnf", "--vars", 9, "--planted", "-o", f).returncode == 0
    r = run("reduce", f, "--to", "kov", "-o", tmp_path / "f.kov.npz")
    assert r.returncode == 0 and "sat-to-kov" in r.stdout
    assert "YES, tuple" in run("solve", tmp_path / "f.kov.npz").stdout


def test_solve_says_when_a_gap_hamming_promise_is_broken(tmp_path):
    from sethlab.instances import HammingInstance

    path = tmp_path / "broken.npz"
    io.save(path, HammingInstance([[1, 0, 0, 0, 0, 0]], [[0] * 6], 1, 1.0))  # distance 1: neither < 1 nor >= 2
    r = run("solve", path)
    assert_usage_error(r, "promise", "undefined")
    assert "NO" not in r.stdout


def test_solve_states_the_rounding_bound_of_exact_results(tmp_path):
    out = tmp_path / "a.npz"
    assert run("gen", "attention", "--n", 30, "--d", 3, "--B", 1, "-o", out).returncode == 0
    for dtype, low, high in (("float64", 1e-17, 1e-10), ("float32", 1e-9, 1e-2)):
        res = json.loads(run("solve", out, "--dtype", dtype, "--json").stdout)
        assert res["dtype"] == dtype and low < res["error_bound"] < high


def test_chain_unsat_formula_answers_no(files):
    r = run("chain", files["php"], "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["answer"] is False and out["truth"] is False and out["correct"]
    assert out["calls"] > 1 and [s["stage"] for s in out["stages"]][-1] == "attention-to-gradient"


def test_chain_sat_formula_text(files):
    r = run("chain", files["sat"], "--to", "attention")
    assert r.returncode == 0, r.stderr
    assert "answer via attention: SAT" in r.stdout and "SAT solver: SAT" in r.stdout and "match" in r.stdout


def test_chain_riemann_is_inconclusive_not_wrong(files):
    r = run("chain", files["php"], "--rule", "riemann", "--nodes", 8, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["answer"] is None


# ------------------------------------------------------------------ graph, verify, bench


def test_graph_json():
    r = run("graph", "--json")
    assert r.returncode == 0, r.stderr
    g = json.loads(r.stdout)
    assert {n["problem"] for n in g["nodes"]} == {"cnf-sat", "ov", "kov", "hamming-close-pair", "attention",
                                                  "attention-gradient"}
    assert g["edges"] and any(e["reductions"] == ["sat-to-kov"] for e in g["edges"])
    edges = {(e["source"], e["target"]): e for e in g["edges"]}
    assert "sat-to-ov" in edges["cnf-sat", "ov"]["reductions"]
    assert edges["attention", "attention-gradient"]["turing"]
    assert edges["cnf-sat", "ov"]["example_target_sizes"] == {"nA": 1024, "nB": 1024, "d": 85}
    r = run("graph")
    assert r.returncode == 0 and "cnf-sat -> ov: sat-to-ov" in r.stdout


needs_verifier = pytest.mark.skipif(importlib.util.find_spec("sethlab.reductions.verify") is None,
                                    reason="sethlab.reductions.verify is not there yet")


@needs_verifier
def test_verify_one_reduction_json():
    r = run("verify", "ov-to-hamming", "--trials", 5, "--seed", 1, "--workers", 1, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["ok"] and out["reports"][0]["reduction"] == "ov-to-hamming"


@needs_verifier
@pytest.mark.parametrize("args,words", [([], ["--all"]), (["no-such-reduction"], ["no-such-reduction"]),
                                        (["--all", "sat-to-ov"], ["not both"]), (["--all", "--trials", 0], ["--trials"]),
                                        (["--all", "--workers", "x"], ["--workers"])])
def test_verify_bad_input(args, words):
    assert_usage_error(run("verify", *args), *words)


def test_bench_quick_json():
    r = run("bench", "--quick", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["rates"]["numpy"]["gemm_flops_per_s"] > 0 and out["exact_gradient"]["vs_floor"] > 0
    assert {p["problem"] for p in out["poly_vs_exact"]} == {"forward", "gradient"}
    assert all(p["within_bound"] for p in out["poly_vs_exact"])
    assert r.stderr == ""  # no progress bar when stderr is not a terminal


# ------------------------------------------------------------------ demo


def test_demo_quick_writes_its_folder(tmp_path):
    r = run("demo", "--quick", "--n", 64, "--d", 2, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["passed"] and all(c["status"] != "fail" for c in out["checks"]) and len(out["checks"]) >= 10
    folder = tmp_path / out["folder"]
    assert folder.is_dir() and folder.name.startswith("sethlab-demo-")
    assert (folder / "report.md").read_text().startswith("# sethlab demo report")
    assert json.loads((folder / "results.json").read_text())["passed"] is True
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]  # nothing else left behind
    assert r.stderr == ""


# ------------------------------------------------------------------ bad input, every command


BAD_FILES = {"missing": ["missing.cnf", "No such file"], "bad_cnf": ["line 3", "'x'"],
             "truncated": ["truncated.npz", "damaged"], "flipped": ["flipped.npz", "damaged"],
             "dir": ["Is a directory"]}


@pytest.mark.parametrize("cmd,bad", [(["solve"], bad) for bad in BAD_FILES]
                         + [(["chain"], bad) for bad in ("missing", "bad_cnf", "flipped")]
                         + [(["reduce", "--to", "attention"], bad) for bad in ("missing", "bad_cnf", "truncated")])
def test_bad_files(files, cmd, bad):
    words = BAD_FILES[bad]
    path = files["dir"] / "missing.cnf" if bad == "missing" else files[bad]
    assert_usage_error(run(cmd[0], path, *cmd[1:]), *words)


@pytest.mark.parametrize("args,words", [
    (["gen", "ov", "--n", 0, "--d", 3, "-o", "x.npz"], ["--n", "positive"]),
    (["gen", "kcnf", "--vars", 0, "-o", "x.cnf"], ["--vars"]),
    (["gen", "kcnf", "--vars", 3, "--k", 5, "-o", "x.cnf"], ["k"]),
    (["gen", "ov", "--n", 4, "--d", 3, "--density", 1.5, "-o", "x.npz"], ["--density"]),
    (["gen", "gap-hamming", "--n", 8, "--d", 8, "--t", 3, "--gap", 5, "-o", "x.npz"], ["gap"]),
    (["gen", "ov", "--n", 4, "--d", 3, "-o", "x.cnf"], [".npz"]),
    (["gen", "kcnf", "--vars", 4, "-o", "x.npz"], ["DIMACS"]),
    (["gen", "ov", "--n", 4, "--d", 3, "-o", "no/such/dir/x.npz"], ["does not exist"]),
    (["gen", "ov", "--n", 4, "--d", 3], ["-o"]),
    (["gen", "nosuchfamily", "-o", "x.cnf"], ["nosuchfamily"]),
    (["gen", "kcnf", "--vars", 4, "--bogus", "-o", "x.cnf"], ["--bogus"]),
    (["demo", "--n", 0], ["--n"]),
    (["demo", "--d", "abc"], ["--d"]),
    (["demo", "--bogus"], ["--bogus"]),
    (["bench", "--bogus"], ["--bogus"]),
    (["graph", "extra"], ["extra"]),
])
def test_bad_arguments(tmp_path, args, words):
    assert_usage_error(run(*args, cwd=tmp_path), *words)
    assert list(tmp_path.iterdir()) == []  # nothing written on bad input


def test_bad_arguments_needing_files(files, tmp_path):
    assert_usage_error(run("demo", "--out", tmp_path), "already exists")
    assert_usage_error(run("solve", files["ov"], "--method", "poly"), "solved exactly")
    assert_usage_error(run("solve", files["ov"], "--bogus"), "--bogus")
    assert_usage_error(run("reduce", files["ov"], "--to", "cnf-sat"), "no chain")
    assert_usage_error(run("reduce", files["ov"], "--to", "nonsense"), "nonsense")
    assert_usage_error(run("reduce", files["ov"]), "--to")
    assert_usage_error(run("chain", files["ov"]), "CNF")
    assert_usage_error(run("chain", files["php"], "--nodes", 0), "--nodes")
    assert_usage_error(run("chain", files["php"], "--rule", "simpson"), "--rule")
    img = files["dir"] / "for-poly.npz"
    assert run("reduce", files["ov"], "--to", "attention", "-o", img).returncode == 0
    assert_usage_error(run("solve", img, "--method", "poly"), "--eps")
    assert_usage_error(run("solve", img, "--method", "poly", "--eps", 0), "--eps")
    assert_usage_error(run("solve", img, "--backend", "gpu"), "--backend")


# ------------------------------------------------------------------ the progress bar (stderr, terminals only)


class _Stream:
    def __init__(self, tty):
        self.tty, self.text = tty, ""

    def isatty(self):
        return self.tty

    def write(self, s):
        self.text += s

    def flush(self):
        pass


def test_progress_bar_draws_on_a_terminal_only():
    import time

    from sethlab.app.progress import Progress

    for tty in (True, False):
        stream = _Stream(tty)
        with Progress("work", total=4, stream=stream, delay=0.0, interval=0.01) as bar:
            for _ in range(4):
                bar.advance()
                time.sleep(0.03)
        if tty:
            assert "work [" in stream.text and "4/4" in stream.text and stream.text.endswith("\r")
        else:
            assert stream.text == ""
    quiet = _Stream(True)
    with Progress("short", stream=quiet, delay=5.0, interval=0.01):
        time.sleep(0.05)
    assert quiet.text == ""  # work shorter than the delay draws nothing


def test_progress_bar_shows_calls_rate_and_time_left():
    """What `sethlab chain` and `sethlab demo` draw while deciding: calls done of planned, rate, time left."""
    import time

    from sethlab.app.progress import Progress

    stream = _Stream(True)
    with Progress("deciding", stream=stream, delay=0.0, interval=0.01) as bar:
        for k in range(1, 6):
            bar.update("f.cnf: oracle calls", k, 20)
            time.sleep(0.03)
    last = [part for part in stream.text.split("\r") if "oracle calls" in part][-1]
    assert "5/20" in last and "/s," in last and "s left" in last


def test_decide_reports_every_gradient_call():
    import sethlab
    from sethlab.generators import random_kcnf

    seen = []
    dec = sethlab.decide(random_kcnf(6, 25, 3, seed=1, planted=True),
                         progress=lambda stage, done, total: seen.append((stage, done, total)))
    calls = [(d, t) for s, d, t in seen if s == "oracle calls"]
    assert calls[-1] == (dec.calls, dec.calls) and [d for d, _ in calls] == list(range(1, dec.calls + 1))


def test_approx_scores_a_method_and_writes_json(tmp_path):
    r = run("approx", "lsh", "--family", "ov", "--n", "64", "--trials", "2", "--param", "buckets=4", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["method"] == "lsh" and d["params"] == {"buckets": 4} and d["n"] == 64 and len(d["rows"]) == 2
    assert 0.0 <= d["accuracy"] <= 1.0


def test_approx_method_seed_through_param():
    r = run("approx", "lsh", "--n", "32", "--trials", "2", "--param", "seed=3", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["params"] == {"seed": 3}


def test_approx_user_function_by_module_path():
    r = run("approx", "sethlab.approx.builtin:exact", "--family", "gap-hamming", "--n", "48", "--trials", "2")
    assert r.returncode == 0, r.stderr
    assert "accuracy 1.00" in r.stdout and "truth YES, answer YES" in r.stdout and "truth NO, answer NO" in r.stdout


@pytest.mark.parametrize("args, field", [
    (["approx", "nope", "--n", "16"], "method"),
    (["approx", "performer", "--n", "16", "--param", "features=0"], "features"),
    (["approx", "performer", "--n", "16", "--param", "nonsense=1"], "nonsense"),
    (["approx", "performer", "--n", "16", "--family", "bounded"], "ratio"),
    (["approx", "performer", "--family", "ov"], "n"),
    (["approx", "performer", "--n", "16", "--out", "x"], "out"),
    (["approx", "performer", "--sweep"], "method"),
    (["approx", "performer", "--n", "16", "--param", "features"], "param"),
    (["approx", ":", "--n", "16"], "method"),
    (["approx", "taylor", "--n", "16", "--param", "degree=171"], "degree"),
    (["approx", "performer", "--n", "16", "--param", "orthogonal=no"], "orthogonal"),
])
def test_approx_bad_requests_are_one_line(args, field):
    r = run(*args)
    assert r.returncode == 2 and field in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_approx_sweep_writes_a_complete_folder(tmp_path):
    out = tmp_path / "sweep"
    r = run("approx", "--sweep", "--quick", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert sorted(p.name for p in out.iterdir()) == ["approx_error.png", "approx_ov_accuracy.png", "report.md",
                                                     "results.json"]
    methods = {row["method"] for row in d["rows"]}
    assert methods == {"exact", "lsh", "nystrom", "performer", "poly", "taylor", "topk"}
    ov_exact = [row for row in d["rows"] if row["family"] == "ov" and row["method"] == "exact"]
    assert ov_exact and all(row["accuracy"] == 1.0 for row in ov_exact)
    assert "B/sqrt(ln n) = 1" in (out / "report.md").read_text()
    again = run("approx", "--sweep", "--quick", "--out", str(out))
    assert again.returncode == 2 and "already exists" in again.stderr
