"""Fast-attention methods scored on the instances that carry the lower bounds (docs/approx.md).

`names()` lists the methods, `get(name, **params)` returns one as a callable (Q, K, V) → nq×dv
array in sethlab's score convention ⟨q, k⟩/d, and `evaluate(method, family, n, trials, seed,
ratio=None, **params)` scores a method (a name, your callable, or "module:function") on bounded
instances or on the images of the OV and Gap-Hamming reductions.
"""

from __future__ import annotations

import inspect

from sethlab.approx.builtin import exact, poly
from sethlab.approx.evaluate import Report, evaluate, evaluate_many
from sethlab.approx.lsh import lsh
from sethlab.approx.nystrom import nystrom
from sethlab.approx.performer import performer
from sethlab.approx.taylor import taylor
from sethlab.approx.topk import topk
from sethlab.errors import InvalidInstance

__all__ = ["names", "get", "parameters", "evaluate", "evaluate_many", "Report", "Method"]

_METHODS = {f.__name__: f for f in (exact, poly, performer, taylor, nystrom, lsh, topk)}


class Method:
    """A method with its parameters bound: call it as method(Q, K, V)."""

    def __init__(self, name: str, fn, params: dict):
        self.name, self.fn, self.params = name, fn, dict(params)

    def __call__(self, Q, K, V):
        return self.fn(Q, K, V, **self.params)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"sethlab.approx.get({self.name!r}{', ' + args if args else ''})"


def names() -> list[str]:
    """The methods `get` knows, sorted."""
    return sorted(_METHODS)


def parameters(name: str) -> dict:
    """A method's parameters and their defaults."""
    fn = _lookup(name)
    return {p.name: p.default for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY}


def get(name: str, **params) -> Method:
    """The method `name` with `params` bound; unknown names and parameters, and bad values, are refused now."""
    fn = _lookup(name)
    known = parameters(name)
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise InvalidInstance(f"{unknown[0]}: not a parameter of {name} (it takes {', '.join(known) or 'none'})")
    fn.check(**params)  # the values' own checks, before any work
    return Method(name, fn, params)


def _lookup(name):
    if not isinstance(name, str) or name not in _METHODS:
        raise InvalidInstance(f"method: must be one of {', '.join(names())}, got {name!r}")
    return _METHODS[name]
