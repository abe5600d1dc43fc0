"""The problems reductions connect, one record each (docs/design.md, "Adding a problem").

A `Problem` holds all that sethlab knows of a problem: its name, instance type, size, exact
solver, witness check, promise (what a verifier may skip), file format, default hypothesis
strategy, and generator families with their parameters (from which `sethlab gen` is built).
Each built-in problem is one module of this package; adding a problem is one module defining a
`PROBLEM` and one line in `_BUILTIN` (or a call to `register` for a problem of your own).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from sethlab.errors import InvalidInstance

# the built-in problem modules, in the order `sethlab graph` and `sethlab gen` list them
_BUILTIN = ("cnf_sat", "ov", "kov", "hamming_close_pair", "attention", "attention_gradient")


@dataclass(frozen=True)
class Param:
    """One parameter of a generator family, as the command line shows it (`--flag`).

    kind: "int" (>= 1), "count" (>= 0), "float" (> 0, finite), "probability" (in (0, 1]),
    "choice" (one of `choices`) or "switch" (present or not).
    """

    flag: str
    kind: str
    help: str = ""
    default: Any = None
    required: bool = False
    choices: tuple = ()

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class Family:
    """A seeded generator family: `make(args, seed) -> (problem, instance, params, extra)`.

    `args` maps each parameter's dest to its value; `params` is what regenerates the instance and
    `extra` what the file should also remember (say, the planted pair).
    """

    name: str
    help: str
    params: tuple
    make: Callable


@dataclass(frozen=True)
class FileFormat:
    """'dimacs' (formulas), or 'npz' with the array fields and the scalar fields that rebuild the instance."""

    kind: str
    arrays: tuple = ()
    scalars: tuple = ()


@dataclass(frozen=True)
class Problem:
    """A named problem. Decision problems have `solve -> Answer(yes, witness)` and `verify(instance, witness)`."""

    name: str
    instance_type: type
    size: Callable[[Any], dict]
    solve: Callable
    verify: Callable[[Any, Any], bool] | None = None
    decision: bool = True
    description: str = ""
    # why an instance lies outside the problem's promise (None: inside); a verifier skips those, and only those
    promise: Callable[[Any], str | None] | None = None
    file: FileFormat = FileFormat("npz")
    strategy: Callable | None = None  # (**kwargs) -> hypothesis strategy of instances
    families: tuple = ()

    def check_instance(self, x) -> None:
        """Raise InvalidInstance unless `x` is an instance of this problem."""
        if not isinstance(x, self.instance_type):
            raise InvalidInstance(f"instance: {self.name} expects {self.instance_type.__name__}, got {type(x).__name__}")

    def promise_violation(self, x) -> str | None:
        """Why `x` breaks this problem's promise, or None (problems without a promise: always None)."""
        return None if self.promise is None else self.promise(x)

    def default_strategy(self, **kwargs):
        """The hypothesis strategy the verifier draws sources from."""
        if self.strategy is None:
            raise InvalidInstance(f"problem: no default strategy for {self.name!r}")
        return self.strategy(**kwargs)


_PROBLEMS: dict[str, Problem] = {}
_loaded = False


def register(problem: Problem) -> Problem:
    """Add a problem (a name may be registered once)."""
    if not isinstance(problem, Problem):
        raise InvalidInstance(f"problem: expected a Problem, got {type(problem).__name__}")
    if problem.name in _PROBLEMS and _PROBLEMS[problem.name] is not problem:
        raise InvalidInstance(f"problem: the name {problem.name!r} is taken")
    _PROBLEMS[problem.name] = problem
    return problem


def problems() -> dict[str, Problem]:
    """All problems by name."""
    global _loaded
    if not _loaded:
        _loaded = True
        for module in _BUILTIN:
            register(importlib.import_module(f"{__name__}.{module}").PROBLEM)
    return _PROBLEMS


def get_problem(name: str) -> Problem:
    """The problem called `name`; InvalidInstance naming the known ones otherwise."""
    table = problems()
    if name not in table:
        raise InvalidInstance(f"problem: unknown {name!r}; known: {', '.join(sorted(table))}")
    return table[name]


def families() -> dict[str, tuple[Problem, Family]]:
    """Every generator family by name, with the problem that lists it."""
    return {f.name: (p, f) for p in problems().values() for f in p.families}
