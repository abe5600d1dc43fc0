"""Instance files (docs/design.md "Conventions"): DIMACS for CNF, ``.npz`` + JSON metadata for the rest.

An ``.npz`` file holds one ``NAME.npy`` entry per array field and ``meta.json``:
``format`` ("sethlab-instance"), ``version``, ``problem``, ``arrays`` (dtype and
shape of each), ``scalars`` (non-array fields such as ``t`` and ``gap``),
``params``, ``seed``, ``provenance`` (the chain of reductions, oldest first) and
``sha256``. The hash covers the canonical JSON of every other metadata entry and,
in sorted name order, each array's name, dtype, shape and C-order bytes, so any
edit is detected. Zip entries carry a fixed timestamp and the metadata no clock,
so the same instance and metadata give byte-identical files. Writes are atomic.
Container bytes that carry no content (timestamps, version and attribute fields,
the local-header copies that zipfile does not read) are not checked: a change
there still loads exactly the saved instance; any change to the content is refused.
A CNF is written as DIMACS with the metadata on one ``c sethlab {...}`` line.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
import struct
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pysat.formula import CNF

from sethlab._fs import atomic_write
from sethlab.cnf import as_cnf, dimacs_string, parse_dimacs
from sethlab.errors import InvalidInstance, SethlabWarning
from sethlab.jsonable import jsonable
from sethlab.memory import require

__all__ = ["save", "load", "Record", "FORMAT", "FORMAT_VERSION"]

FORMAT = "sethlab-instance"
FORMAT_VERSION = 1
META_ENTRY = "meta.json"
DIMACS_TAG = "sethlab "
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# sethlab's own metadata is a few kB (a reduction's prediction included): anything far larger is not ours
META_LIMIT = 1 << 20


@dataclass(frozen=True)
class Kind:
    """How a problem's instances are stored: the class, its array fields and scalar fields (from its record)."""

    problem: str
    cls: type
    arrays: tuple[str, ...]
    scalars: tuple[str, ...] = ()


def _registry() -> dict[str, Kind]:
    """The .npz formats of every registered problem (sethlab.reductions.problems: `Problem.file`)."""
    from sethlab.reductions.problems import problems

    return {p.name: Kind(p.name, p.instance_type, p.file.arrays, p.file.scalars)
            for p in problems().values() if p.file.kind == "npz"}


@dataclass(frozen=True, eq=False)
class Record:
    """A loaded file: the instance and its metadata."""

    instance: Any
    problem: str
    params: dict = field(default_factory=dict)
    seed: int | None = None
    provenance: tuple = ()
    version: int = FORMAT_VERSION
    sha256: str | None = None


def _canonical_json(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def _jsonable(value, name: str):
    """Metadata as strict JSON data (the one rule of `sethlab.jsonable`); anything else is refused."""
    try:
        return jsonable(value, strict=True)
    except (TypeError, ValueError) as e:
        raise InvalidInstance(f"{name}: not JSON-serializable ({e})") from None


def _digest(meta: dict, arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    h.update(_canonical_json({k: v for k, v in meta.items() if k != "sha256"}))
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(_canonical_json([name, a.dtype.str, list(a.shape)]))
        h.update(a.tobytes())
    return h.hexdigest()


def _kind_of(instance) -> Kind:
    for kind in _registry().values():
        if type(instance) is kind.cls:
            return kind
    raise InvalidInstance(
        f"instance: cannot save a {type(instance).__name__}; known: CNF, "
        + ", ".join(k.cls.__name__ for k in _registry().values()))


def _metadata(problem: str, params, seed, provenance) -> dict:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise InvalidInstance(f"seed: must be None or an integer, got {seed!r}")
    if isinstance(provenance, (str, bytes)):
        provenance = [provenance]
    return {
        "format": FORMAT, "version": FORMAT_VERSION, "problem": problem,
        "params": _jsonable(dict(params or {}), "params"),
        "seed": None if seed is None else int(seed),
        "provenance": _jsonable(list(provenance), "provenance"),
    }


def save(path, instance, *, params=None, seed=None, provenance=()) -> None:
    """Write ``instance`` atomically: a formula (pysat ``CNF`` or list of clauses) as DIMACS,
    registered types as ``.npz``."""
    if isinstance(instance, (CNF, list, tuple)):
        cnf = as_cnf(instance)
        meta = _metadata("cnf-sat", params, seed, provenance)
        body = dimacs_string(cnf)
        meta["sha256"] = hashlib.sha256(_canonical_json(meta) + body.encode()).hexdigest()
        data = (("c " + DIMACS_TAG + _canonical_json(meta).decode() + "\n") + body).encode()
        atomic_write(path, lambda f: f.write(data))
        return
    kind = _kind_of(instance)
    meta = _metadata(kind.problem, params, seed, provenance)
    arrays = {name: np.ascontiguousarray(getattr(instance, name)) for name in kind.arrays}
    meta["arrays"] = {name: {"dtype": a.dtype.str, "shape": list(a.shape)} for name, a in arrays.items()}
    meta["scalars"] = _jsonable({name: getattr(instance, name) for name in kind.scalars}, "scalars")
    meta["sha256"] = _digest(meta, arrays)

    def write(f):
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            entries = [(META_ENTRY, None)] + [(f"{name}.npy", arrays[name]) for name in sorted(arrays)]
            for entry, arr in entries:
                info = zipfile.ZipInfo(entry, date_time=_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                with zf.open(info, "w", force_zip64=True) as fh:
                    if arr is None:
                        fh.write(_canonical_json(meta))
                    else:
                        np.lib.format.write_array(fh, arr, allow_pickle=False)

    atomic_write(path, write)


def load(path, memory_budget=None) -> Record:
    """Read a file written by ``save`` (or any DIMACS file); refuse damaged, truncated,
    tampered, wrong-version or foreign files with ``InvalidInstance`` naming the file.

    What loading will allocate is computed first (from the .npy headers, or the DIMACS file's
    size) and refused with the sizes when it exceeds the memory budget (sethlab.memory).
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            head = f.read(4)
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise InvalidInstance(f"{name}: not a regular file")
    except OSError as e:
        raise InvalidInstance(f"{name}: cannot read ({e.strerror or e})") from None
    if head.startswith(b"PK") or name.lower().endswith(".npz"):
        return _load_npz(name, memory_budget)
    return _load_dimacs(name, memory_budget)


# a DIMACS file of b bytes becomes at most this many bytes of Python clause lists while it is read
# (measured: 17 per byte for 3-literal clauses; bench/dimacs.py)
DIMACS_BYTES_PER_BYTE = 24


def _load_dimacs(name: str, memory_budget=None) -> Record:
    """A DIMACS file; its first line, when it is exactly sethlab's ``c sethlab {...}`` metadata and matches the
    formula's SHA-256, gives the record's metadata. A damaged or mismatched one is a warning, never a refusal."""
    size = os.path.getsize(name)
    require(DIMACS_BYTES_PER_BYTE * size, f"reading the {size}-byte DIMACS file {name}", memory_budget)
    with open(name, "rb") as f:
        raw = f.read()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInstance(f"{name}: not a sethlab file (neither .npz nor DIMACS text)") from None
    cnf = parse_dimacs(raw, source=name)
    body = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    eol = body.find(b"\n")
    first, rest = (body, b"") if eol < 0 else (body[:eol], body[eol + 1:])
    if not first.startswith(b"c " + DIMACS_TAG.encode() + b"{"):
        return Record(cnf, "cnf-sat")
    try:
        meta = _read_meta(first[2 + len(DIMACS_TAG):], name)
        _check_header(name, meta)
        expected = hashlib.sha256(_canonical_json({k: v for k, v in meta.items() if k != "sha256"}) + rest).hexdigest()
        if meta.get("sha256") != expected:
            raise InvalidInstance(f"{name}: the formula was edited after sethlab wrote it (SHA-256 mismatch)")
    except InvalidInstance as e:
        warnings.warn(f"{e}; its sethlab metadata line is ignored, the formula is read", SethlabWarning, stacklevel=3)
        return Record(cnf, "cnf-sat")
    return Record(cnf, "cnf-sat", meta["params"], meta["seed"], tuple(meta["provenance"]),
                  meta["version"], meta["sha256"])


def _reject_constant(name: str):
    raise ValueError(f"non-finite number {name} (metadata is JSON without NaN or Infinity)")


def _read_meta(data: bytes, name: str) -> dict:
    """Untrusted metadata bytes → a dict, or InvalidInstance (too large, bad UTF-8 or JSON, NaN, too deep, not an object)."""
    if len(data) > META_LIMIT:
        raise InvalidInstance(f"{name}: metadata of more than {META_LIMIT} bytes is not sethlab's (it writes a few kB)")
    try:
        meta = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise InvalidInstance(f"{name}: damaged metadata ({e})") from None
    if not isinstance(meta, dict):
        raise InvalidInstance(f"{name}: damaged metadata (not a JSON object)")
    return meta


def _check_header(name: str, meta: dict) -> None:
    if meta.get("format") != FORMAT:
        raise InvalidInstance(f"{name}: not a sethlab instance file (format {meta.get('format')!r})")
    version = meta.get("version")
    if version != FORMAT_VERSION:
        raise InvalidInstance(f"{name}: format version {version!r} is not supported (this sethlab reads {FORMAT_VERSION})")
    for key, types in (("params", dict), ("provenance", list), ("sha256", str), ("problem", str)):
        if not isinstance(meta.get(key), types):
            raise InvalidInstance(f"{name}: metadata field {key!r} is missing or malformed")
    if meta.get("seed") is not None and (isinstance(meta["seed"], bool) or not isinstance(meta["seed"], int)):
        raise InvalidInstance(f"{name}: metadata field 'seed' is malformed")


# what zipfile, zlib and numpy raise on damaged bytes (NotImplementedError: a flipped
# compression method or flag; RuntimeError: a flipped "encrypted" bit)
_DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError, UnicodeDecodeError,
           NotImplementedError, RuntimeError, struct.error, OverflowError)


def _array_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, entry: str):
    """(shape, dtype, data bytes) from an .npy entry's header alone, checked against the entry's declared size."""
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise InvalidInstance(f"{name}: array entry {entry!r} has .npy version {version}, not 1.0 or 2.0")
        offset = fh.tell()
    if dtype.hasobject or fortran:
        raise InvalidInstance(f"{name}: array entry {entry!r} is not a plain C-order numeric array")
    nbytes = math.prod(shape) * dtype.itemsize
    if info.file_size != offset + nbytes:
        raise InvalidInstance(f"{name}: array entry {entry!r} declares shape {shape} ({nbytes} bytes) but the entry "
                              f"holds {info.file_size - offset} bytes")
    return shape, dtype, nbytes


def _load_npz(name: str, memory_budget=None) -> Record:
    try:
        with zipfile.ZipFile(name) as zf:
            entries = zf.namelist()
            infos = {i.filename: i for i in zf.infolist()}
            if META_ENTRY not in infos:
                raise InvalidInstance(f"{name}: not a sethlab instance file (no {META_ENTRY} entry)")
            try:
                with zf.open(infos[META_ENTRY]) as fh:
                    raw = fh.read(META_LIMIT + 1)  # never more, whatever the entry declares
            except _DAMAGE as e:
                raise InvalidInstance(f"{name}: damaged metadata ({e})") from None
            meta = _read_meta(raw, name)
            _check_header(name, meta)
            kind = _registry().get(meta["problem"])
            if kind is None:
                raise InvalidInstance(f"{name}: unknown problem {meta['problem']!r}")
            wanted = {f"{a}.npy" for a in kind.arrays} | {META_ENTRY}
            if set(entries) != wanted or len(entries) != len(wanted):
                raise InvalidInstance(
                    f"{name}: entries {sorted(entries)} do not match problem {kind.problem!r} ({sorted(wanted)})")
            described = meta.get("arrays")
            scalars = meta.get("scalars")
            if not isinstance(described, dict) or not isinstance(scalars, dict) or set(scalars) != set(kind.scalars):
                raise InvalidInstance(f"{name}: metadata fields 'arrays'/'scalars' are missing or malformed")
            # sizes first: every array's header against its metadata and its entry, the total against the budget
            total = 0
            for a in kind.arrays:
                try:
                    shape, dtype, nbytes = _array_header(zf, infos[f"{a}.npy"], name, a)
                except _DAMAGE as e:
                    raise InvalidInstance(f"{name}: damaged array entry {a!r} ({e})") from None
                if described.get(a) != {"dtype": dtype.str, "shape": list(shape)}:
                    raise InvalidInstance(f"{name}: array {a!r} does not match its metadata description")
                total += nbytes + 8 * math.prod(shape)  # the array, and the instance's float64 or 0/1 copy
            shapes = ", ".join(f"{a} {tuple(described[a]['shape'])}" for a in kind.arrays)
            require(total, f"loading {name} ({kind.problem}: {shapes})", memory_budget)
            arrays = {}
            for a in kind.arrays:
                try:
                    with zf.open(f"{a}.npy") as fh:
                        arr = np.lib.format.read_array(fh, allow_pickle=False)
                        if fh.read(1):
                            raise ValueError("trailing bytes after the array")
                except _DAMAGE as e:
                    raise InvalidInstance(f"{name}: damaged array entry {a!r} ({e})") from None
                arrays[a] = arr
    except InvalidInstance:
        raise  # already names the file and the fault (it is a ValueError, so keep it out of _DAMAGE)
    except _DAMAGE as e:
        raise InvalidInstance(f"{name}: damaged or truncated .npz file ({e})") from None
    if _digest(meta, arrays) != meta["sha256"]:
        raise InvalidInstance(f"{name}: content does not match its SHA-256 (the file was altered or damaged)")
    try:
        instance = kind.cls(**arrays, **scalars)
    except InvalidInstance as e:
        raise InvalidInstance(f"{name}: {e}") from None
    except (TypeError, ValueError) as e:
        raise InvalidInstance(f"{name}: metadata scalars do not make an instance ({e})") from None
    return Record(instance, kind.problem, meta["params"], meta["seed"], tuple(meta["provenance"]),
                  meta["version"], meta["sha256"])
