"""Crafted and oversized inputs end quickly in one line and exit 2, or in a correct result; nothing on disk is lost.

One test (or more) per case of the robustness review: sizes planned before memory is taken, the
memory-budget syntax, CPU affinity, outputs that never clobber, SIGTERM, concurrent demos,
untrusted metadata, and strict but tolerant DIMACS reading.
"""

import json
import os
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cli import assert_usage_error, run

import sethlab
import sethlab.attention as sa
from sethlab import io
from sethlab.cnf import MAX_VARIABLE, as_cnf, parse_dimacs
from sethlab.errors import MemoryBudgetExceeded, SethlabWarning
from sethlab.generators import random_kcnf


def write(path, text):
    path.write_text(text)
    return path


# ------------------------------------------------------------------ sizes before memory


def test_chain_on_a_50_variable_formula_is_refused_with_the_sizes(tmp_path):
    f = tmp_path / "uf50.cnf"
    assert run("gen", "kcnf", "--vars", 50, "--seed", 1, "-o", f).returncode == 0
    t0 = time.perf_counter()
    r = run("chain", f)
    assert_usage_error(r, "memory_budget", "2^25 + 2^25 vectors", "N = 50")
    assert time.perf_counter() - t0 < 60  # planned from the formula, nothing built (no timing claim: a ceiling)
    with pytest.raises(MemoryBudgetExceeded, match="2\\^25"):
        sethlab.decide(random_kcnf(50, 213, 3, seed=0))
    with pytest.raises(MemoryBudgetExceeded, match="SAT -> OV image"):
        sethlab.reductions.get("sat-to-ov").apply(random_kcnf(50, 213, 3, seed=0))


def test_decide_plans_and_reports_progress():
    from sethlab.chain import plan

    f = as_cnf(random_kcnf(30, 128, 3, seed=0))
    p = plan(f)
    assert (p["nA"], p["nB"], p["d"]) == (2**15, 2**15, 128) and p["calls"] > 0 and p["peak_bytes"] > 2**15 * 128
    seen = []
    dec = sethlab.decide(random_kcnf(8, 34, 3, seed=2, planted=True), progress=lambda *a: seen.append(a))
    assert dec.answer is True and dec.truth is True
    stages = [s for s, _, _ in seen]
    assert stages[:3] == ["sat-solver", "sat-to-ov", "ov-to-attention"]
    assert seen[-1] == ("oracle calls", dec.calls, dec.calls)
    with pytest.raises(MemoryBudgetExceeded):
        sethlab.decide(random_kcnf(8, 34, 3, seed=2), memory_budget="1K")


@pytest.mark.parametrize("header", ["p cnf 1000000000000000000000000000000 1\n1 0\n", "p cnf 3000000000 1\n1 0\n"])
def test_variable_counts_beyond_the_solver_are_refused(tmp_path, header):
    assert_usage_error(run("solve", write(tmp_path / "f.cnf", header)), "python-sat")


def test_huge_literals_are_refused_not_crashed(tmp_path):
    assert_usage_error(run("solve", write(tmp_path / "f.cnf", "p cnf 3 1\n1000000000000000000000000000000 0\n")),
                       "out of range")
    with pytest.raises(sethlab.InvalidInstance, match="out of range"):
        sethlab.decide([[10**30]])
    with pytest.raises(sethlab.InvalidInstance, match="nv"):
        from pysat.formula import CNF

        cnf = CNF(from_clauses=[[1]])
        cnf.nv = 10**30
        as_cnf(cnf)


def test_a_solver_that_would_need_too_much_memory_is_refused_not_aborted(tmp_path):
    # a literal of 2e9 is a valid C int, but CaDiCaL would allocate ~400 GB for it and abort (exit 134)
    r = run("solve", write(tmp_path / "f.cnf", "p cnf 2000000000 1\n2000000000 0\n"))
    assert_usage_error(r, "memory_budget", "solving a formula")


def _npz_with(path, entries):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)


def _meta(problem="ov", arrays=None, **extra):
    meta = {"format": "sethlab-instance", "version": 1, "problem": problem, "params": {}, "seed": None,
            "provenance": [], "sha256": "0" * 64, "scalars": {},
            "arrays": arrays or {"A": {"dtype": "|u1", "shape": [1, 2]}, "B": {"dtype": "|u1", "shape": [1, 2]}}}
    meta.update(extra)
    return json.dumps(meta)


def _npy_header(shape, dtype="|u1"):
    import io as _io

    buf = _io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def test_declared_shapes_are_checked_before_anything_is_read(tmp_path):
    p = tmp_path / "lie.npz"
    huge = {"dtype": "|u1", "shape": [10**12, 12]}
    _npz_with(p, {"meta.json": _meta(arrays={"A": huge, "B": huge}), "A.npy": _npy_header((10**12, 12)),
                  "B.npy": _npy_header((10**12, 12))})
    with pytest.raises(sethlab.InvalidInstance, match="declares shape"):
        io.load(p)
    assert_usage_error(run("solve", p), "declares shape")


def test_declared_sizes_that_fit_their_entry_still_meet_the_budget(tmp_path):
    from sethlab.instances import OVInstance

    p = tmp_path / "ok.npz"
    io.save(p, OVInstance(np.ones((300, 40), np.uint8), np.zeros((300, 40), np.uint8)))
    with pytest.raises(MemoryBudgetExceeded, match="loading"):
        io.load(p, memory_budget="10K")
    assert io.load(p).instance.nA == 300


def test_an_inflating_metadata_entry_is_not_read_whole(tmp_path):
    p = tmp_path / "bomb.npz"
    _npz_with(p, {"meta.json": b" " * (64 << 20), "A.npy": b"", "B.npy": b""})  # 64 MiB of spaces, ~64 kB zipped
    assert os.path.getsize(p) < 1 << 20
    with pytest.raises(sethlab.InvalidInstance, match="metadata of more than"):
        io.load(p)


@pytest.mark.parametrize("args, words", [
    (["chain", "{cnf}", "--nodes", 100000000], ["--nodes", "nodes"]),
    (["chain", "{cnf}", "--rule", "riemann", "--nodes", 100000000], ["nodes"]),
    (["gen", "ov", "--n", 1000000000, "--d", 20, "-o", "{out}.npz"], ["memory_budget", "OV instance"]),
    (["gen", "attention", "--n", 4, "--d", 2, "--B", "1e308", "-o", "{out}.npz"], ["B: at most"]),
    (["gen", "pigeonhole", "--holes", 100000, "-o", "{out}.cnf"], ["memory_budget", "pigeonhole"]),
])
def test_oversized_flags_are_refused(tmp_path, args, words):
    cnf = tmp_path / "f.cnf"
    assert run("gen", "kcnf", "--vars", 8, "--planted", "-o", cnf).returncode == 0
    args = [str(a).format(cnf=cnf, out=tmp_path / "out") for a in args]
    assert_usage_error(run(*args), *[w for w in words if w != "--nodes"])
    assert not any(p.name.startswith("out") for p in tmp_path.iterdir())


def test_exact_engine_refuses_a_block_size_beyond_the_budget():
    n = 100_000
    rng = np.random.default_rng(0)
    g = sa.GradientInstance(rng.normal(size=(n, 2)), rng.normal(size=(n, 2)), rng.normal(size=(n, 1)),
                            np.zeros((n, 1)), np.eye(2), np.eye(1))
    with pytest.raises(MemoryBudgetExceeded, match="blocks of 100000 rows"):
        sa.loss_gradient(g, block_size=100_000)
    small = sa.GradientInstance(g.A1[:500], g.A2[:500], g.A3[:500], g.E[:500], g.X, g.Y)
    with pytest.raises(MemoryBudgetExceeded):
        sa.loss_gradient(small, memory_budget="1K")
    # the default blocks shrink to fit a tight budget, with the same result
    tight = sa.loss_gradient(small, memory_budget="300K")
    assert np.allclose(tight.grad, sa.loss_gradient(small).grad, rtol=1e-12, atol=1e-14)


def test_memory_budget_environment_syntax_is_one_and_refuses_the_rest(tmp_path):
    out = tmp_path / "a.npz"
    assert run("gen", "attention", "--n", 50, "--d", 3, "--B", 1, "-o", out).returncode == 0
    env = dict(os.environ)
    for value, ok in (("1B", False), ("1", False), ("2B", False), ("25%", True), ("64M", True), ("0.5", False),
                      ("lots", False)):
        env["SETHLAB_MEMORY_BUDGET"] = value
        r = subprocess.run([sys.executable, "-m", "sethlab", "solve", str(out)], capture_output=True, text=True,
                           env=env, timeout=600)
        if ok:
            assert r.returncode == 0, (value, r.stderr)
        else:
            assert_usage_error(r, "SETHLAB_MEMORY_BUDGET")


def test_thread_counts_follow_the_affinity_mask():
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no CPU affinity on this platform")
    code = ("import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
            "from sethlab.cpus import usable_cpus; from sethlab.attention.ops import NumpyOps; "
            "from sethlab.executors import get_executor; print(usable_cpus(), NumpyOps().threads)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["1", "1"], out.stderr


# ------------------------------------------------------------------ outputs


def test_gen_never_replaces_what_is_not_a_regular_file(tmp_path):
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    assert_usage_error(run("gen", "ov", "--n", 4, "--d", 3, "-o", fifo), "not a regular file")
    assert_usage_error(run("gen", "kcnf", "--vars", 5, "-o", os.devnull), "not a regular file")
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)
    target = write(tmp_path / "target.cnf", "keep me\n")
    (tmp_path / "link.cnf").symlink_to(target)
    assert_usage_error(run("gen", "kcnf", "--vars", 5, "-o", tmp_path / "link.cnf"), "symbolic link")
    assert target.read_text() == "keep me\n" and (tmp_path / "link.cnf").is_symlink()
    assert os.path.exists(fifo) and not os.path.isfile(fifo)


def test_reduce_refuses_to_overwrite_its_input(tmp_path):
    f = tmp_path / "f.cnf"
    assert run("gen", "kcnf", "--vars", 6, "-o", f).returncode == 0
    before = f.read_bytes()
    os.link(f, tmp_path / "hard.cnf")
    (tmp_path / "soft.cnf").symlink_to(f)
    for out in (f, tmp_path / "hard.cnf"):
        assert_usage_error(run("reduce", f, "--to", "ov", "-o", out), "is the input")
    assert_usage_error(run("reduce", f, "--to", "ov", "-o", tmp_path / "soft.cnf"), "symbolic link")
    assert f.read_bytes() == before


def _wait_for(predicate, timeout=120.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_sigterm_during_the_demo_leaves_nothing_behind(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "sethlab", "demo"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(lambda: any(p.name.startswith(".sethlab-demo") for p in tmp_path.iterdir()))
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM and "terminated" in err
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_write_leaves_no_temporary_file(tmp_path):
    from sethlab._fs import atomic_write
    from sethlab.app.cli import Terminated

    def write_then_die(f):
        f.write(b"half")
        raise Terminated()

    with pytest.raises(Terminated):
        atomic_write(tmp_path / "x.npz", write_then_die)
    assert list(tmp_path.iterdir()) == []


def test_two_demos_in_one_folder_both_finish(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-m", "sethlab", "demo", "--quick"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    folders = sorted(p.name for p in tmp_path.iterdir())
    assert len(folders) == 2 and all((tmp_path / f / "report.md").exists() for f in folders)


def test_a_taken_final_name_gets_the_next_suffix(tmp_path):
    from sethlab.app.report import _publish

    (tmp_path / "rep").mkdir()
    (tmp_path / "rep" / "other.md").write_text("the other run's report")
    tmp = tmp_path / ".rep.tmp"
    tmp.mkdir()
    (tmp / "report.md").write_text("mine")
    assert _publish(str(tmp), str(tmp_path / "rep")) == str(tmp_path / "rep-2")
    assert (tmp_path / "rep" / "other.md").exists() and (tmp_path / "rep-2" / "report.md").read_text() == "mine"


# ------------------------------------------------------------------ untrusted metadata and DIMACS


def test_nan_in_metadata_is_refused_in_one_line(tmp_path):
    from sethlab.instances import OVInstance

    p = tmp_path / "ov.npz"
    io.save(p, OVInstance([[1, 0]], [[0, 1]]))
    with zipfile.ZipFile(p) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    entries["meta.json"] = entries["meta.json"].replace(b'"params":{}', b'"params":{"x":NaN}')
    bad = tmp_path / "nan.npz"
    _npz_with(bad, entries)
    assert_usage_error(run("solve", bad), "NaN")
    for junk in (b"[" * 100000, b'{"format": Infinity}', b"\xff\xfe"):
        entries["meta.json"] = junk
        _npz_with(bad, entries)
        assert_usage_error(run("solve", bad), "metadata")


def test_a_users_comment_is_not_sethlab_metadata(tmp_path):
    f = write(tmp_path / "mine.cnf", "c sethlab my own test formula\np cnf 2 2\n1 2 0\n-1 0\n")
    r = run("solve", f)
    assert r.returncode == 0 and "SATISFIABLE" in r.stdout
    damaged = write(tmp_path / "damaged.cnf", 'c sethlab {"format": "sethlab-instance", oops\np cnf 1 1\n1 0\n')
    with pytest.warns(SethlabWarning, match="metadata line is ignored"):
        rec = io.load(damaged)
    assert rec.instance.clauses == [[1]]
    r = run("solve", damaged)
    assert r.returncode == 0 and "sethlab: warning:" in r.stderr and "Traceback" not in r.stderr


def test_byte_order_mark_is_accepted_and_digits_are_ascii(tmp_path):
    f = tmp_path / "bom.cnf"
    f.write_bytes(b"\xef\xbb\xbfp cnf 2 1\n1 -2 0\n")
    assert io.load(f).instance.clauses == [[1, -2]]
    for token in ("1_0", "\u0661", "+1", "--1", "1-", "1.0", "0x1", "1e3"):
        with pytest.raises(sethlab.InvalidInstance, match=r"line 2: token .* is not an integer"):
            parse_dimacs(f"p cnf 20 1\n{token} 0\n")


def reference_parse(text):
    """A slow, obviously correct DIMACS reader (the old one), for comparison."""
    nv, clauses, cur = None, [], []
    for line in text.splitlines():
        s = line.strip()
        if not s or s[0] == "c":
            continue
        if s[0] == "%":
            break
        if s[0] == "p":
            nv = int(s.split()[2])
            continue
        for tok in s.split():
            v = int(tok)
            if v == 0:
                clauses.append(cur)
                cur = []
            else:
                cur.append(v)
    return nv, clauses


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(-9, 9).filter(bool), max_size=5), max_size=12), st.data())
def test_fast_reader_agrees_with_a_plain_one(clauses, data):
    # clauses of mixed lengths, split across lines, with comments and blank lines in between
    tokens = [str(v) for c in clauses for v in c + [0]]
    lines, i = [], 0
    while i < len(tokens):
        k = data.draw(st.integers(1, 4))
        lines.append("  ".join(tokens[i:i + k]))
        if data.draw(st.booleans()):
            lines.append(data.draw(st.sampled_from(["c a comment", "", "   ", "c"])))
        i += k
    text = "c top\np cnf 9 %d\n" % len(clauses) + "\n".join(lines) + ("\n%\n0\n" if data.draw(st.booleans()) else "\n")
    cnf = parse_dimacs(text)
    assert (cnf.nv, cnf.clauses) == reference_parse(text) == (9, [list(c) for c in clauses])
    assert all(type(v) is int for c in cnf.clauses for v in c)


def test_max_variable_is_the_c_int_limit():
    assert MAX_VARIABLE == 2**31 - 1
    assert as_cnf([[MAX_VARIABLE]]).nv == MAX_VARIABLE
