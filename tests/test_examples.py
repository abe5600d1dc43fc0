"""Every script and notebook in examples/ runs as a course would use it (quick mode), and says what it should."""

import json
import pathlib
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from sethlab import io
from sethlab.app.plots import unavailable as plots_unavailable

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def run(script, *args, cwd=None):
    r = subprocess.run([sys.executable, str(EXAMPLES / script), *map(str, args)], capture_output=True, text=True,
                       timeout=600, cwd=cwd)
    assert r.returncode == 0, (script, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    return r.stdout


def test_every_example_is_tested():
    tested = {"phase_transition.py", "sat_by_gradient.py", "check_your_reduction.py", "hard_instances.py",
              "course.ipynb"}
    assert {p.name for p in EXAMPLES.iterdir() if p.suffix in (".py", ".ipynb")} == tested


def test_course_notebook_is_stored_without_outputs():
    nb = nbformat.read(EXAMPLES / "course.ipynb", as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 10
    assert all(c.outputs == [] and c.execution_count is None for c in code)


def test_course_notebook_runs_cell_by_cell(tmp_path, monkeypatch):
    """Executed by a real kernel in quick mode; its last cell asserts the claims the text makes."""
    monkeypatch.setenv("SETHLAB_COURSE_QUICK", "1")
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    nb = nbformat.read(EXAMPLES / "course.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert not [o for o in outputs if o.output_type == "error"]
    assert "quick mode" in text
    assert "it satisfies the formula: True" in text
    assert "planted 3-CNF: SAT (SAT solver: SAT)" in text and "pigeonhole(2): UNSAT (SAT solver: UNSAT)" in text
    assert "smallest counterexample: [[-1]] over 1 variable(s)" in text
    assert text.rstrip().endswith("every claim of this notebook holds")
    figures = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.data]
    assert len(figures) == (2 if plots_unavailable() is None else 0)


def test_phase_transition(tmp_path):
    png = tmp_path / "pt.png"
    out = run("phase_transition.py", "--quick", "--plot", png)
    assert "rank first exceeds n at B / sqrt(ln n)" in out and "<- rank > n" in out
    if plots_unavailable() is None:
        assert png.read_bytes().startswith(b"\x89PNG")


def test_sat_by_gradient():
    out = run("sat_by_gradient.py", "--quick")
    assert out.count("gauss-legendre") == 2
    assert "SAT          (SAT solver: SAT)" in out and "UNSAT        (SAT solver: UNSAT)" in out


def test_check_your_reduction():
    out = run("check_your_reduction.py", "--quick")
    assert "my-gadget-t=d0+1: OK" in out and "my-gadget-t=d0+0: FAILED" in out
    assert "A = [[0]], B = [[0]]" in out  # hypothesis shrinks to the smallest counterexample


@pytest.fixture(scope="module")
def instance_sets(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hard")
    run("hard_instances.py", tmp / "a", "--quick", "--seed", 3)
    run("hard_instances.py", tmp / "b", "--quick", "--seed", 3)
    return tmp / "a", tmp / "b"


def test_hard_instances_truth_and_provenance(instance_sets):
    a, _ = instance_sets
    manifest = {e["file"]: e for e in json.loads((a / "manifest.json").read_text())}
    truth = {name: e.get("truth") for name, e in manifest.items()}
    assert truth["ov-planted-n64.npz"] is True and truth["ov-nopair-n64.npz"] is False
    assert truth["pigeonhole-4.cnf"] is False and truth["tseitin-8.cnf"] is False
    assert truth["gap-hamming-n64.npz"] is True
    for name, e in manifest.items():
        rec = io.load(a / name)
        assert rec.sha256 == e["sha256"] and rec.seed == e["seed"] and e["seed"] >= 3
    assert io.load(a / "ov-planted-n64.attention.npz").provenance == ("ov-to-attention",)
    assert io.load(a / "gap-hamming-n64.attention.npz").provenance == ("hamming-to-attention-tuned",)


def test_hard_instances_same_seed_same_bytes(instance_sets):
    a, b = instance_sets
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
