"""CNF formulas: normalization and DIMACS reading/writing (docs/problems.md §4.1, docs/design.md "Conventions").

Every public function that takes a formula accepts a python-sat ``CNF``, a list
of clauses (each a list of nonzero ints), or a DIMACS path; ``as_cnf`` is the one
place that turns these into a ``pysat.formula.CNF`` with a correct ``nv``.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import numbers
import os
import re
from typing import Iterable

import numpy as np
from pysat.formula import CNF

from sethlab._fs import atomic_write
from sethlab.errors import InvalidInstance

__all__ = ["as_cnf", "read_dimacs", "parse_dimacs", "write_dimacs", "dimacs_string", "MAX_VARIABLE"]


# python-sat hands literals to its solvers as C ints: |literal| <= 2^31 − 1
MAX_VARIABLE = 2**31 - 1
_BOM = b"\xef\xbb\xbf"
# a line whose first non-blank byte cannot start clause data: a comment, the header, '%', or garbage
_SPECIAL = re.compile(rb"^[ \t\r\f\v]*([^-0-9 \t\r\f\v\n])", re.MULTILINE)
_COUNT = re.compile(r"[0-9]+")
_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[list(b" \t\r\n\v\f")] = True


def _literal(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInstance(f"{where}: literal {value!r} is not an integer")
    lit = int(value)
    if lit == 0:
        raise InvalidInstance(f"{where}: literal 0 is not allowed (0 only terminates clauses in DIMACS)")
    if abs(lit) > MAX_VARIABLE:
        raise InvalidInstance(f"{where}: literal {lit} is out of range (variables go up to {MAX_VARIABLE}, "
                              f"the C int python-sat's solvers take)")
    return lit


def _clauses(clauses: Iterable, field: str) -> list[list[int]]:
    out = []
    for c, clause in enumerate(clauses, start=1):
        if isinstance(clause, (str, bytes)) or not isinstance(clause, Iterable):
            raise InvalidInstance(f"{field}: clause {c} is {type(clause).__name__}, expected a list of literals")
        out.append([_literal(v, f"{field}: clause {c}") for v in clause])
    return out


_INT_TYPES = (int, np.integer)


def _fast_clauses(clauses, field: str) -> tuple[list[list[int]], int] | None:
    """(fresh clauses of Python ints, largest variable) by one vectorized check, or None to take the slow path
    that names the first faulty clause."""
    try:
        if any(isinstance(c, (str, bytes)) or not isinstance(c, (list, tuple)) for c in clauses):
            return None
        flat = list(itertools.chain.from_iterable(clauses))
    except TypeError:
        return None
    if not all(t is int or (issubclass(t, np.integer) and t is not np.bool_) for t in set(map(type, flat))):
        return None
    if not flat:
        return [[] for _ in clauses], 0
    try:
        lits = np.array(flat, dtype=np.int64)
    except OverflowError:
        return None
    if not lits.all() or np.abs(lits).max() > MAX_VARIABLE:
        return None
    with _no_gc():
        if set(map(type, flat)) == {int}:
            return [list(c) for c in clauses], int(np.abs(lits).max())
        return [[int(v) for v in c] for c in clauses], int(np.abs(lits).max())


def as_cnf(formula) -> CNF:
    """Return a fresh ``CNF`` for a pysat CNF, a list of clauses or a DIMACS path.

    ``nv`` is the larger of the declared count (pysat ``nv`` or DIMACS header) and
    the largest variable used, so declared-but-unused variables are kept. Literals are
    nonzero integers with |literal| <= MAX_VARIABLE, as python-sat's solvers need.
    """
    if isinstance(formula, (str, os.PathLike)):
        return read_dimacs(formula)
    if isinstance(formula, CNF):
        source, declared = formula.clauses, formula.nv
    elif isinstance(formula, (list, tuple)):
        source, declared = formula, 0
    else:
        raise InvalidInstance(
            f"formula: expected a pysat CNF, a list of clauses or a DIMACS path, got {type(formula).__name__}")
    if isinstance(declared, bool) or not isinstance(declared, numbers.Integral) or not 0 <= declared <= MAX_VARIABLE:
        raise InvalidInstance(f"formula: the variable count nv = {declared!r} must be an integer in 0..{MAX_VARIABLE}")
    fast = _fast_clauses(source, "formula")
    if fast is None:
        clauses = _clauses(source, "formula")
        largest = max((abs(l) for c in clauses for l in c), default=0)
    else:
        clauses, largest = fast
    cnf = CNF()
    cnf.clauses = clauses
    cnf.nv = max(int(declared), largest)
    return cnf


def read_dimacs(path: str | os.PathLike) -> CNF:
    """Read a DIMACS CNF file; a malformed file raises ``InvalidInstance`` naming the line."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise InvalidInstance(f"{name}: cannot read DIMACS file ({e.strerror or e})") from None
    return parse_dimacs(raw, source=name)


class _Lines:
    """Byte offset → line number, counted incrementally (only for messages)."""

    def __init__(self, data: bytes):
        self.data = data

    def at(self, offset: int) -> int:
        return self.data.count(b"\n", 0, offset) + 1

    def token(self, offset: int) -> str:
        lo = offset
        while lo > 0 and not _WHITESPACE[self.data[lo - 1]]:
            lo -= 1
        hi = offset
        while hi < len(self.data) and not _WHITESPACE[self.data[hi]]:
            hi += 1
        return self.data[lo:hi].decode("utf-8", "replace")


def _header(line: str, lineno: int, source: str) -> int:
    parts = line.split()
    if len(parts) != 4 or parts[0] != "p" or parts[1] != "cnf":
        raise InvalidInstance(f"{source}: line {lineno}: malformed header {line!r}, expected 'p cnf VARS CLAUSES'")
    for part in parts[2:]:
        if part.startswith("-") and _COUNT.fullmatch(part[1:]):
            raise InvalidInstance(f"{source}: line {lineno}: header counts must be nonnegative, got {line!r}")
        if not _COUNT.fullmatch(part):
            raise InvalidInstance(f"{source}: line {lineno}: header counts must be integers (ASCII digits), "
                                  f"got {line!r}")
    nvars, nclauses = int(parts[2]), int(parts[3])
    if nvars > MAX_VARIABLE:
        raise InvalidInstance(f"{source}: line {lineno}: the header declares {nvars} variables; python-sat's solvers "
                              f"take at most {MAX_VARIABLE}")
    return nvars, nclauses


def parse_dimacs(text: str | bytes, source: str = "<string>") -> CNF:
    """Parse DIMACS text or bytes. Comments (``c``) anywhere, clauses may span lines, a ``%``
    line ends the clause list (SATLIB files), a UTF-8 byte-order mark is skipped; literals are
    ASCII digits with an optional minus sign; everything else is refused naming the line.

    The clause data is checked and converted with numpy in a few passes over the bytes
    (bench/dimacs.py: about python-sat's own C reader's time and memory).
    """
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    if data and int(np.frombuffer(data, dtype=np.uint8).max()) > 127:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInstance(f"{source}: not a DIMACS text file (not UTF-8)") from None
    lines = _Lines(data)
    header_line = None
    nvars = nclauses = 0
    comments: list[str] = []
    segments: list[tuple[int, int]] = []  # clause-data byte ranges of `data`, in order
    pos = 0
    for m in _SPECIAL.finditer(data):
        start = m.start()
        eol = data.find(b"\n", start)
        eol = len(data) if eol < 0 else eol
        segments.append((pos, start))
        pos = eol
        kind = m.group(1)
        if kind == b"%":
            break
        if kind not in (b"c", b"p"):
            off = m.start(1)
            raise InvalidInstance(f"{source}: line {lines.at(off)}: token {lines.token(off)!r} is not an integer")
        try:
            line = data[start:eol].decode("utf-8").strip()
        except UnicodeDecodeError:
            raise InvalidInstance(f"{source}: line {lines.at(start)}: not UTF-8 text") from None
        if kind == b"c":
            comments.append(line)
            continue
        lineno = lines.at(start)
        if header_line is not None:
            raise InvalidInstance(f"{source}: line {lineno}: second 'p' header (first on line {header_line})")
        _no_data_before(data, segments, source, lines)
        segments = []
        nvars, nclauses = _header(line, lineno, source)
        header_line = lineno
    else:
        segments.append((pos, len(data)))
    if header_line is None:
        _no_data_before(data, segments, source, lines)
        raise InvalidInstance(f"{source}: no 'p cnf VARS CLAUSES' header")
    clauses = _clause_data(data, segments, nvars, source, lines)
    if len(clauses) != nclauses:
        raise InvalidInstance(
            f"{source}: line {header_line}: header declares {nclauses} clauses but the file has {len(clauses)}")
    cnf = CNF()
    cnf.clauses = clauses
    cnf.nv = nvars
    cnf.comments = comments
    return cnf


def _no_data_before(data: bytes, segments, source: str, lines: _Lines) -> None:
    """Clause data before the header is an error naming its first line."""
    for a, b in segments:
        chunk = data[a:b]
        rest = chunk.lstrip()
        if rest:
            off = a + len(chunk) - len(rest)
            raise InvalidInstance(f"{source}: line {lines.at(off)}: clause data before the 'p cnf' header")


def _clause_data(data: bytes, segments, nvars: int, source: str, lines: _Lines) -> list[list[int]]:
    """The clauses in the given byte ranges, checked: tokens -?[0-9]+, |literal| <= nvars, each clause ended by 0."""
    pieces = [(a, b) for a, b in segments if b > a]
    body = b" ".join(data[a:b] for a, b in pieces)
    # body offset → data offset, for messages
    starts = np.cumsum([0] + [b - a + 1 for a, b in pieces])

    def where(offset: int) -> int:
        k = int(np.searchsorted(starts, offset, side="right")) - 1
        return pieces[k][0] + offset - int(starts[k]) if pieces else 0

    a = np.frombuffer(body, dtype=np.uint8)
    if a.size == 0:
        return []
    digit = (a >= 48) & (a <= 57)
    minus = a == 45
    bad = ~(digit | minus | _WHITESPACE[a])
    # a minus sign starts a token and is followed by a digit
    prev_ws = np.empty_like(digit)
    prev_ws[0] = True
    prev_ws[1:] = _WHITESPACE[a[:-1]]
    next_digit = np.zeros_like(digit)
    next_digit[:-1] = digit[1:]
    bad |= minus & ~(prev_ws & next_digit)
    if bad.any():
        off = where(int(np.argmax(bad)))
        raise InvalidInstance(f"{source}: line {lines.at(off)}: token {lines.token(off)!r} is not an integer")
    del bad, next_digit
    first = digit & (prev_ws | np.concatenate(([False], minus[:-1])))  # first digit of each token
    token_digits = np.flatnonzero(first)
    if token_digits.size == 0:  # whitespace only (np.fromstring would read it as one 0)
        return []
    ends = np.flatnonzero(digit & np.concatenate((~digit[1:], [True])))
    del digit, minus, prev_ws, first
    longest = int((ends - token_digits).max()) + 1 if ends.size else 0
    if longest > 10:  # more than 10 digits is beyond 2^31 − 1 whatever the digits
        k = int(np.argmax(ends - token_digits))
        off = where(int(token_digits[k]))
        raise InvalidInstance(f"{source}: line {lines.at(off)}: literal {lines.token(off)} is out of range "
                              f"(header declares {nvars} variables)")
    lits = np.fromstring(body, dtype=np.int64, sep=" ")
    if lits.size != token_digits.size:  # cannot happen after the checks above
        raise InvalidInstance(f"{source}: clause data could not be read as integers")
    out_of_range = np.abs(lits) > nvars
    if out_of_range.any():
        k = int(np.argmax(out_of_range))
        off = where(int(token_digits[k]))
        raise InvalidInstance(f"{source}: line {lines.at(off)}: literal {int(lits[k])} out of range "
                              f"(header declares {nvars} variables)")
    zeros = np.flatnonzero(lits == 0)
    if lits.size and lits[-1] != 0:
        begin = int(zeros[-1]) + 1 if zeros.size else 0
        off = where(int(token_digits[begin]))
        tail = lits[begin: begin + 8].tolist()
        shown = f"{tail}" if lits.size - begin <= 8 else f"{tail[:-1] + ['...']}"
        raise InvalidInstance(f"{source}: line {lines.at(off)}: clause {shown} is missing its terminating 0")
    del token_digits, ends, out_of_range
    lengths = np.diff(np.concatenate(([-1], zeros))) - 1
    return _split(lits[lits != 0], lengths)


@contextlib.contextmanager
def _no_gc():
    """Millions of new lists would trigger the cyclic collector again and again (4x slower): pause it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _split(flat: np.ndarray, lengths: np.ndarray) -> list[list[int]]:
    """Clause lists of Python ints from the literals in order and each clause's length, in C where it can:
    one `tolist` per distinct clause length (a k-CNF has one)."""
    with _no_gc():
        return _split_lists(flat, lengths)


def _split_lists(flat: np.ndarray, lengths: np.ndarray) -> list[list[int]]:
    m = lengths.size
    sizes = np.unique(lengths)
    if sizes.size == 1:
        k = int(sizes[0])
        return flat.reshape(m, k).tolist() if k else [[] for _ in range(m)]
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    out: list = [None] * m
    for k in sizes.tolist():
        idx = np.flatnonzero(lengths == k)
        rows = flat[starts[idx][:, None] + np.arange(k)].tolist() if k else [[] for _ in range(idx.size)]
        for i, row in zip(idx.tolist(), rows):
            out[i] = row
    return out


def dimacs_string(formula, comments: Iterable[str] = ()) -> str:
    """DIMACS text of ``formula``; each comment becomes one ``c`` line."""
    cnf = as_cnf(formula)
    lines = []
    for comment in comments:
        for part in str(comment).splitlines() or [""]:
            lines.append(("c " + part).rstrip())
    lines.append(f"p cnf {cnf.nv} {len(cnf.clauses)}")
    lines.extend(" ".join(map(str, clause + [0])) for clause in cnf.clauses)
    return "\n".join(lines) + "\n"


def write_dimacs(formula, path: str | os.PathLike, comments: Iterable[str] = ()) -> None:
    """Write ``formula`` as DIMACS to ``path`` atomically (temp file, fsync, rename)."""
    data = dimacs_string(formula, comments).encode("utf-8")
    atomic_write(path, lambda f: f.write(data))
