"""The `sethlab` command through a subprocess: exit codes 0/1/2, one clear line on bad input."""

import json
import subprocess
import sys

import sethlab


def run(*args):
    return subprocess.run([sys.executable, "-m", "sethlab", *args], capture_output=True, text=True, timeout=600)


def test_version():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"sethlab {sethlab.__version__}"


def test_help_lists_demo():
    r = run("--help")
    assert r.returncode == 0 and "demo" in r.stdout


def test_no_command_is_usage_error():
    r = run()
    assert r.returncode == 2


def test_demo_quick_passes_with_json():
    r = run("demo", "--n", "300", "--d", "4", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["passed"] and len(report["checks"]) >= 4
    assert all(c["ok"] for c in report["checks"])


def test_bad_arguments_one_line_no_traceback():
    for args in (["demo", "--n", "0"], ["demo", "--bogus"], ["nonsense"], ["demo", "--n", "abc"]):
        r = run(*args)
        assert r.returncode == 2, args
        assert "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
