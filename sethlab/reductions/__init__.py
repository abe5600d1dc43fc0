"""Reductions between problems (DESIGN.md "Reduction"): the classic chain of MATH.md 4, the reductions
to attention and its gradient of MATH.md 5-6, their registry and the verifier.

    sethlab.reductions.get(name)        a registered reduction
    sethlab.reductions.path(src, dst)   a chain composed into one reduction
    sethlab.reductions.graph()          the networkx DiGraph of problems and reductions
"""

from sethlab.reductions.base import Decision, Image, Prediction, Reduction
from sethlab.reductions.registry import get, graph, names, path, register

__all__ = ["Decision", "Image", "Prediction", "Reduction", "get", "graph", "names", "path", "register"]
