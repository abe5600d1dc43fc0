"""CNF formulas: normalization and DIMACS reading/writing (MATH.md 4.1, DESIGN.md "Files").

Every public function that takes a formula accepts a python-sat ``CNF``, a list
of clauses (each a list of nonzero ints), or a DIMACS path; ``as_cnf`` is the one
place that turns these into a ``pysat.formula.CNF`` with a correct ``nv``.
"""

from __future__ import annotations

import numbers
import os
from typing import Iterable

from pysat.formula import CNF

from sethlab._fs import atomic_write
from sethlab.errors import InvalidInstance

__all__ = ["as_cnf", "read_dimacs", "parse_dimacs", "write_dimacs", "dimacs_string"]


def _literal(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInstance(f"{where}: literal {value!r} is not an integer")
    lit = int(value)
    if lit == 0:
        raise InvalidInstance(f"{where}: literal 0 is not allowed (0 only terminates clauses in DIMACS)")
    return lit


def _clauses(clauses: Iterable, field: str) -> list[list[int]]:
    out = []
    for c, clause in enumerate(clauses, start=1):
        if isinstance(clause, (str, bytes)) or not isinstance(clause, Iterable):
            raise InvalidInstance(f"{field}: clause {c} is {type(clause).__name__}, expected a list of literals")
        out.append([_literal(v, f"{field}: clause {c}") for v in clause])
    return out


def as_cnf(formula) -> CNF:
    """Return a fresh ``CNF`` for a pysat CNF, a list of clauses or a DIMACS path.

    ``nv`` is the larger of the declared count (pysat ``nv`` or DIMACS header) and
    the largest variable used, so declared-but-unused variables are kept.
    """
    if isinstance(formula, (str, os.PathLike)):
        return read_dimacs(formula)
    if isinstance(formula, CNF):
        clauses = _clauses(formula.clauses, "formula")
        declared = int(formula.nv)
    elif isinstance(formula, (list, tuple)):
        clauses = _clauses(formula, "formula")
        declared = 0
    else:
        raise InvalidInstance(
            f"formula: expected a pysat CNF, a list of clauses or a DIMACS path, got {type(formula).__name__}")
    cnf = CNF(from_clauses=clauses)
    cnf.nv = max(declared, max((abs(l) for c in clauses for l in c), default=0))
    return cnf


def read_dimacs(path: str | os.PathLike) -> CNF:
    """Read a DIMACS CNF file; a malformed file raises ``InvalidInstance`` naming the line."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise InvalidInstance(f"{name}: cannot read DIMACS file ({e.strerror or e})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInstance(f"{name}: not a DIMACS text file (not UTF-8)") from None
    return parse_dimacs(text, source=name)


def parse_dimacs(text: str, source: str = "<string>") -> CNF:
    """Parse DIMACS text. Comments (``c``) anywhere, clauses may span lines, a ``%``
    line ends the clause list (SATLIB files); everything else is strict."""
    header_line = None
    nvars = nclauses = 0
    clauses: list[list[int]] = []
    current: list[int] = []
    current_start = 0
    comments: list[str] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped[0] == "c":
            comments.append(stripped)
            continue
        if stripped[0] == "%":
            break
        if stripped[0] == "p":
            if header_line is not None:
                raise InvalidInstance(f"{source}: line {lineno}: second 'p' header (first on line {header_line})")
            if clauses or current:
                raise InvalidInstance(f"{source}: line {lineno}: 'p' header after clauses")
            parts = stripped.split()
            if len(parts) != 4 or parts[0] != "p" or parts[1] != "cnf":
                raise InvalidInstance(f"{source}: line {lineno}: malformed header {stripped!r}, expected 'p cnf VARS CLAUSES'")
            try:
                nvars, nclauses = int(parts[2]), int(parts[3])
            except ValueError:
                raise InvalidInstance(f"{source}: line {lineno}: header counts must be integers, got {stripped!r}") from None
            if nvars < 0 or nclauses < 0:
                raise InvalidInstance(f"{source}: line {lineno}: header counts must be nonnegative, got {stripped!r}")
            header_line = lineno
            continue
        if header_line is None:
            raise InvalidInstance(f"{source}: line {lineno}: clause data before the 'p cnf' header")
        for token in stripped.split():
            try:
                lit = int(token)
            except ValueError:
                raise InvalidInstance(f"{source}: line {lineno}: token {token!r} is not an integer") from None
            if lit == 0:
                clauses.append(current)
                current = []
                continue
            if abs(lit) > nvars:
                raise InvalidInstance(
                    f"{source}: line {lineno}: literal {lit} out of range (header declares {nvars} variables)")
            if not current:
                current_start = lineno
            current.append(lit)
    if header_line is None:
        raise InvalidInstance(f"{source}: no 'p cnf VARS CLAUSES' header")
    if current:
        raise InvalidInstance(
            f"{source}: line {current_start}: clause {current} is missing its terminating 0")
    if len(clauses) != nclauses:
        raise InvalidInstance(
            f"{source}: line {header_line}: header declares {nclauses} clauses but the file has {len(clauses)}")
    cnf = CNF(from_clauses=clauses)
    cnf.nv = nvars
    cnf.comments = comments
    return cnf


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
