"""DIMACS reading/writing and formula normalization (sethlab/cnf.py)."""

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pysat.formula import CNF

from sethlab import InvalidInstance
from sethlab.cnf import as_cnf, dimacs_string, parse_dimacs, read_dimacs, write_dimacs


def write(tmp_path, text, name="f.cnf"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_as_cnf_from_list_sets_nv_to_largest_variable():
    cnf = as_cnf([[1, -5], [3]])
    assert cnf.clauses == [[1, -5], [3]]
    assert cnf.nv == 5


def test_as_cnf_keeps_declared_unused_variables_and_copies():
    src = CNF(from_clauses=[[1, 2]])
    src.nv = 7
    cnf = as_cnf(src)
    assert cnf.nv == 7 and cnf.clauses == [[1, 2]]
    cnf.clauses.append([3])
    assert src.clauses == [[1, 2]]


def test_as_cnf_repairs_a_too_small_nv():
    src = CNF(from_clauses=[[1, 4]])
    src.nv = 2
    assert as_cnf(src).nv == 4


def test_as_cnf_from_path_str_and_pathlike(tmp_path):
    p = write(tmp_path, "p cnf 4 2\n1 -2 0\n3 0\n")
    for arg in (p, str(p)):
        cnf = as_cnf(arg)
        assert cnf.nv == 4 and cnf.clauses == [[1, -2], [3]]


def test_as_cnf_empty_formula_and_empty_clause():
    assert as_cnf([]).nv == 0 and as_cnf([]).clauses == []
    cnf = as_cnf([[]])
    assert cnf.clauses == [[]] and cnf.nv == 0


@pytest.mark.parametrize("bad, fault", [
    ([[1, 0]], "literal 0"),
    ([[1, 2.0]], "not an integer"),
    ([[True]], "not an integer"),
    ([["1"]], "not an integer"),
    (["12"], "clause 1"),
    ([[1], 5], "clause 2"),
    (42, "expected a pysat CNF"),
])
def test_as_cnf_rejects_malformed_formulas(bad, fault):
    with pytest.raises(InvalidInstance, match=fault):
        as_cnf(bad)


@pytest.mark.parametrize("text, fault", [
    ("p cnf 3 2\n1 2 0\n", r"line 1: header declares 2 clauses but the file has 1"),
    ("p cnf 3 1\n1 2 0\n3 0\n", r"line 1: header declares 1 clauses but the file has 2"),
    ("p cnf 2 1\n1 3 0\n", r"line 2: literal 3 out of range"),
    ("p cnf 2 1\n-3 0\n", r"line 2: literal -3 out of range"),
    ("p cnf 2 1\n1 2\n", r"line 2: clause \[1, 2\] is missing its terminating 0"),
    ("p cnf 2 2\n1 0\nc x\n2\n-1\n", r"line 4: clause \[2, -1\] is missing"),
    ("p cnf 2 1\n1 x 0\n", r"line 2: token 'x' is not an integer"),
    ("p cnf 2 1\n1 2.0 0\n", r"line 2: token '2.0'"),
    ("1 2 0\n", r"line 1: clause data before the 'p cnf' header"),
    ("c only a comment\n", r"no 'p cnf VARS CLAUSES' header"),
    ("", r"no 'p cnf"),
    ("p cnf 2 1\n1 0\np cnf 2 1\n", r"line 3: second 'p' header \(first on line 1\)"),
    ("c\np cnf 2\n1 0\n", r"line 2: malformed header"),
    ("p sat 2 1\n1 0\n", r"line 1: malformed header"),
    ("p cnf two 1\n1 0\n", r"line 1: header counts must be integers"),
    ("p cnf -1 0\n", r"line 1: header counts must be nonnegative"),
])
def test_read_dimacs_names_the_line_and_the_fault(tmp_path, text, fault):
    p = write(tmp_path, text)
    with pytest.raises(InvalidInstance, match=fault) as info:
        read_dimacs(p)
    assert str(p) in str(info.value)


def test_read_dimacs_refuses_binary_and_missing_files(tmp_path):
    p = tmp_path / "bin.cnf"
    p.write_bytes(b"\xff\xfe\x00p cnf")
    with pytest.raises(InvalidInstance, match="not UTF-8"):
        read_dimacs(p)
    with pytest.raises(InvalidInstance, match="cannot read"):
        read_dimacs(tmp_path / "missing.cnf")


def test_read_dimacs_is_lenient_where_dimacs_is(tmp_path):
    text = ("c leading comment\n\n  p  cnf  5   4  \n1 -2\n 3 0\n"
            "c a comment between clauses\n4 0 -5 0\n0\n%\n0\n")
    cnf = read_dimacs(write(tmp_path, text))
    assert cnf.nv == 5
    assert cnf.clauses == [[1, -2, 3], [4], [-5], []]


def test_parse_dimacs_keeps_declared_variables():
    cnf = parse_dimacs("p cnf 9 1\n1 0\n")
    assert cnf.nv == 9 and as_cnf(cnf).nv == 9


clauses_st = st.lists(st.lists(st.integers(1, 12).flatmap(lambda v: st.sampled_from([v, -v])), max_size=5),
                      max_size=12)


@settings(max_examples=60, deadline=None)
@given(clauses=clauses_st, extra=st.integers(0, 3))
def test_dimacs_round_trip(tmp_path_factory, clauses, extra):
    cnf = as_cnf(clauses)
    cnf.nv += extra
    p = tmp_path_factory.mktemp("rt") / "f.cnf"
    write_dimacs(cnf, p, comments=["hello", "two\nlines"])
    back = read_dimacs(p)
    assert back.clauses == clauses
    assert back.nv == cnf.nv
    assert back.comments == ["c hello", "c two", "c lines"]


def test_dimacs_string_format():
    assert dimacs_string([[1, -2], []]) == "p cnf 2 2\n1 -2 0\n0\n"


def test_write_dimacs_is_atomic_and_leaves_nothing_behind(tmp_path, monkeypatch):
    p = tmp_path / "f.cnf"
    write_dimacs([[1]], p)
    before = p.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_dimacs([[1, 2]], p)
    assert p.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["f.cnf"]


def test_write_dimacs_into_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(InvalidInstance, match="does not exist"):
        write_dimacs([[1]], tmp_path / "no" / "f.cnf")
    assert os.listdir(tmp_path) == []


def test_write_dimacs_validates_before_writing(tmp_path):
    with pytest.raises(InvalidInstance, match="literal 0"):
        write_dimacs([[0]], tmp_path / "f.cnf")
    assert os.listdir(tmp_path) == []
