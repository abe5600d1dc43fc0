"""Instance files: .npz + JSON metadata and DIMACS (sethlab/io.py, docs/design.md "Conventions")."""

import io
import json
import os
import struct
import zipfile

import numpy as np
import pytest

from sethlab import InvalidInstance
from sethlab.errors import SethlabWarning
from sethlab.generators import planted_gap_hamming, planted_ov, random_kcnf
from sethlab.instances import HammingInstance, OVInstance
from sethlab.io import FORMAT_VERSION, _digest, load, save


@pytest.fixture
def ov_file(tmp_path):
    inst, pair = planted_ov(40, 12, seed=1)
    p = tmp_path / "ov.npz"
    save(p, inst, params={"n": 40, "d": 12, "pair": pair}, seed=1, provenance=["planted_ov"])
    return p, inst


def rewrite(path, change):
    """Rebuild the zip at ``path`` with ``change(entries: dict[name, bytes])`` applied."""
    with zipfile.ZipFile(path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    change(entries)
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in entries.items():
            zf.writestr(n, data)


def npy_bytes(arr, allow_pickle=False):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def test_ov_round_trip_with_metadata(ov_file):
    p, inst = ov_file
    rec = load(p)
    assert rec.problem == "ov" and rec.version == FORMAT_VERSION
    assert rec.params == {"n": 40, "d": 12, "pair": list(planted_ov(40, 12, seed=1)[1])}
    assert rec.seed == 1 and rec.provenance == ("planted_ov",)
    assert isinstance(rec.instance, OVInstance)
    assert rec.instance.A.tobytes() == inst.A.tobytes() and rec.instance.B.tobytes() == inst.B.tobytes()
    assert len(rec.sha256) == 64
    with np.load(p, allow_pickle=False) as z:  # an ordinary .npz too
        assert (z["A"] == inst.A).all()


def test_hamming_round_trip_keeps_scalars(tmp_path):
    inst, _ = planted_gap_hamming(30, 40, 5, 0.6, seed=2)
    save(tmp_path / "h.npz", inst)
    rec = load(tmp_path / "h.npz")
    assert rec.problem == "hamming-close-pair" and isinstance(rec.instance, HammingInstance)
    assert (rec.instance.t, rec.instance.gap, rec.instance.far) == (5, 0.6, 8)
    assert rec.seed is None and rec.params == {} and rec.provenance == ()


def test_same_seed_gives_byte_identical_files(tmp_path):
    for k in range(2):
        inst, pair = planted_ov(100, 16, seed=7)
        save(tmp_path / f"{k}.npz", inst, params={"pair": pair}, seed=7)
    assert (tmp_path / "0.npz").read_bytes() == (tmp_path / "1.npz").read_bytes()
    for k in range(2):
        save(tmp_path / f"{k}.cnf", random_kcnf(20, 80, 3, seed=7), seed=7)
    assert (tmp_path / "0.cnf").read_bytes() == (tmp_path / "1.cnf").read_bytes()


def test_cnf_round_trip_and_plain_dimacs(tmp_path):
    cnf = random_kcnf(12, 30, 3, seed=3)
    cnf.nv = 14
    save(tmp_path / "f.cnf", cnf, params={"k": 3}, seed=3, provenance=("random_kcnf",))
    rec = load(tmp_path / "f.cnf")
    assert rec.problem == "cnf-sat" and rec.instance.clauses == cnf.clauses and rec.instance.nv == 14
    assert rec.params == {"k": 3} and rec.seed == 3 and rec.provenance == ("random_kcnf",)
    (tmp_path / "plain.cnf").write_text("c hi\np cnf 2 1\n1 -2 0\n")
    rec = load(tmp_path / "plain.cnf")
    assert rec.instance.clauses == [[1, -2]] and rec.sha256 is None and rec.seed is None
    save(tmp_path / "list.cnf", [[1, -3], []])
    rec = load(tmp_path / "list.cnf")
    assert rec.instance.clauses == [[1, -3], []] and rec.instance.nv == 3


def test_edited_dimacs_keeps_the_formula_and_drops_the_metadata_with_a_warning(tmp_path):
    # the formula is the user's: an edit after sethlab wrote it is read, and the stale metadata is not trusted
    save(tmp_path / "f.cnf", random_kcnf(6, 10, 3, seed=3), seed=3)
    lines = (tmp_path / "f.cnf").read_text().splitlines()
    lines[2] = "1 2 3 0"
    (tmp_path / "f.cnf").write_text("\n".join(lines) + "\n")
    with pytest.warns(SethlabWarning, match="SHA-256"):
        rec = load(tmp_path / "f.cnf")
    assert rec.seed is None and rec.params == {} and rec.instance.clauses[0] == [1, 2, 3]


def test_tampered_array_is_refused(ov_file):
    p, inst = ov_file
    A = inst.A.copy()
    A[0, 0] ^= 1
    rewrite(p, lambda e: e.__setitem__("A.npy", npy_bytes(A)))
    with pytest.raises(InvalidInstance, match=f"{p}: content does not match its SHA-256"):
        load(p)


def test_tampered_metadata_is_refused(ov_file):
    p, _ = ov_file

    def change(e):
        meta = json.loads(e["meta.json"])
        meta["seed"] = 2
        e["meta.json"] = json.dumps(meta).encode()

    rewrite(p, change)
    with pytest.raises(InvalidInstance, match="does not match its SHA-256"):
        load(p)


def entry_data_ranges(path):
    """Byte ranges of each entry's stored (compressed) data, last byte excluded
    (deflate may end inside it, with padding bits nobody reads)."""
    data = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26: info.header_offset + 30])
            start = info.header_offset + 30 + name_len + extra_len
            yield range(start, start + info.compress_size - 1)


def test_flipped_content_byte_is_refused(ov_file):
    p, _ = ov_file
    data = p.read_bytes()
    ranges = list(entry_data_ranges(p))
    assert len(ranges) == 3
    for r in ranges:
        for offset in list(r)[:: max(1, len(r) // 15)]:
            damaged = bytearray(data)
            damaged[offset] ^= 0xFF
            p.write_bytes(bytes(damaged))
            with pytest.raises(InvalidInstance, match=str(p)):
                load(p)


def test_any_flipped_byte_is_refused_or_harmless(ov_file):
    p, inst = ov_file
    data = p.read_bytes()
    for offset in range(len(data)):
        damaged = bytearray(data)
        damaged[offset] ^= 0xFF
        p.write_bytes(bytes(damaged))
        try:
            rec = load(p)
        except InvalidInstance as e:
            assert str(p) in str(e)
        else:  # a flip in a field nobody reads (timestamp, attributes, local-header copy)
            assert rec.instance.A.tobytes() == inst.A.tobytes() and rec.instance.B.tobytes() == inst.B.tobytes()
            assert rec.seed == 1 and rec.problem == "ov"


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.99])
def test_truncated_file_is_refused(ov_file, keep):
    p, _ = ov_file
    data = p.read_bytes()
    p.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(InvalidInstance, match=f"{p}: damaged or truncated|{p}: damaged"):
        load(p)


def test_wrong_version_and_foreign_files_are_refused(ov_file, tmp_path):
    p, _ = ov_file

    def bump(e):
        meta = json.loads(e["meta.json"])
        meta["version"] = FORMAT_VERSION + 1
        e["meta.json"] = json.dumps(meta).encode()

    rewrite(p, bump)
    with pytest.raises(InvalidInstance, match=f"format version {FORMAT_VERSION + 1} is not supported"):
        load(p)
    plain = tmp_path / "plain.npz"
    np.savez(plain, A=np.zeros((2, 2)))
    with pytest.raises(InvalidInstance, match="not a sethlab instance file \\(no meta.json"):
        load(plain)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01\x02\xff" * 10)
    with pytest.raises(InvalidInstance, match="junk.bin: not a sethlab file"):
        load(junk)
    text = tmp_path / "notes.txt"
    text.write_text("hello world\n")
    with pytest.raises(InvalidInstance, match="notes.txt: line 1"):
        load(text)
    with pytest.raises(InvalidInstance, match="cannot read"):
        load(tmp_path / "missing.npz")
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(InvalidInstance, match="empty.npz: damaged or truncated .npz file"):
        load(tmp_path / "empty.npz")


def test_structural_faults_are_refused(ov_file):
    p, inst = ov_file
    original = p.read_bytes()
    cases = [
        (lambda e: e.__setitem__("C.npy", npy_bytes(inst.A)), "do not match problem 'ov'"),
        (lambda e: e.pop("B.npy"), "do not match problem 'ov'"),
        (lambda e: e.__setitem__("meta.json", b"{not json"), "damaged metadata"),
        (lambda e: e.__setitem__("meta.json", b"[1, 2]"), "not a JSON object"),
        (lambda e: e.__setitem__("A.npy", npy_bytes(np.array([[object()]], dtype=object), True)),
         "damaged array entry 'A'"),
        (lambda e: e.__setitem__("A.npy", b"\x93NUMPY garbage"), "damaged array entry 'A'"),
        (lambda e: e.__setitem__("A.npy", npy_bytes(inst.A.astype(np.int64))), "does not match its metadata"),
    ]
    for change, fault in cases:
        p.write_bytes(original)
        rewrite(p, change)
        with pytest.raises(InvalidInstance, match=fault):
            load(p)


def test_unknown_problem_and_invalid_content_with_a_valid_hash(ov_file):
    p, inst = ov_file

    def relabel(e):
        meta = json.loads(e["meta.json"])
        meta["problem"] = "mystery"
        e["meta.json"] = json.dumps(meta).encode()

    original = p.read_bytes()
    rewrite(p, relabel)
    with pytest.raises(InvalidInstance, match="unknown problem 'mystery'"):
        load(p)

    def bad_entries(e):  # a 2 in A, with the hash recomputed so only validation can object
        A = inst.A.copy()
        A[0, 0] = 2
        meta = json.loads(e["meta.json"])
        meta["sha256"] = _digest(meta, {"A": A, "B": inst.B})
        e["meta.json"] = json.dumps(meta).encode()
        e["A.npy"] = npy_bytes(A)

    p.write_bytes(original)
    rewrite(p, bad_entries)
    with pytest.raises(InvalidInstance, match=f"{p}: A: entries must be 0 or 1, found 2"):
        load(p)


def test_save_refuses_bad_input_and_writes_nothing(tmp_path, monkeypatch):
    inst = OVInstance([[1, 0]], [[0, 1]])
    with pytest.raises(InvalidInstance, match="params: not JSON-serializable"):
        save(tmp_path / "x.npz", inst, params={"f": object()})
    with pytest.raises(InvalidInstance, match="seed: must be None or an integer"):
        save(tmp_path / "x.npz", inst, seed="s")
    with pytest.raises(InvalidInstance, match="cannot save a dict"):
        save(tmp_path / "x.npz", {"A": 1})
    with pytest.raises(InvalidInstance, match="does not exist"):
        save(tmp_path / "no" / "x.npz", inst)
    assert os.listdir(tmp_path) == []

    save(tmp_path / "x.npz", inst)
    before = (tmp_path / "x.npz").read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(OSError, match="disk full"):
        save(tmp_path / "x.npz", OVInstance([[1, 1]], [[0, 1]]))
    assert (tmp_path / "x.npz").read_bytes() == before
    assert os.listdir(tmp_path) == ["x.npz"]


def test_attention_instances_are_registered_when_available(tmp_path):
    attention = pytest.importorskip("sethlab.attention.instances")
    rng = np.random.default_rng(0)
    inst = attention.AttentionInstance(rng.normal(size=(3, 2)), rng.normal(size=(4, 2)), rng.normal(size=(4, 1)))
    save(tmp_path / "a.npz", inst, provenance=[{"reduction": "ov->attention", "beta": 1.5}])
    rec = load(tmp_path / "a.npz")
    assert rec.problem == "attention" and rec.provenance == ({"reduction": "ov->attention", "beta": 1.5},)
    assert np.array_equal(rec.instance.Q, inst.Q) and np.array_equal(rec.instance.V, inst.V)
