"""Reductions between problems (docs/design.md "Reduction"): the classic chain of docs/reductions.md §4, the reductions
to attention and its gradient of docs/reductions.md §5, docs/quadrature.md, their registry and the verifier.

    sethlab.reductions.get(name)        a registered reduction
    sethlab.reductions.path(src, dst)   a chain composed into one reduction
    sethlab.reductions.graph()          the networkx DiGraph of problems and reductions
"""

from sethlab.reductions.base import Decision, Image, Prediction, Reduction
from sethlab.reductions.registry import get, graph, names, path, register

__all__ = ["Decision", "Image", "Prediction", "Reduction", "get", "graph", "names", "path", "register"]
