"""Every reduction of sethlab in one networkx DiGraph, and chains composed into one reduction (docs/design.md "Reduction").

Nodes are problem names; an edge holds the reductions between two problems
(the first is the default) and their size-overhead formulas.
"""

from __future__ import annotations

import dataclasses
import inspect
import time

import networkx as nx

from sethlab.errors import InvalidInstance
from sethlab.reductions.base import Decision, Image, Reduction
from sethlab.reductions.problems import get_problem

_GRAPH: nx.DiGraph | None = None
_BY_NAME: dict[str, Reduction] = {}


def register(reduction: Reduction, graph: nx.DiGraph | None = None) -> Reduction:
    """Add a reduction to the graph (and the name index); returns it."""
    g = graph if graph is not None else _graph()
    if not reduction.name or not reduction.source or not reduction.target:
        raise InvalidInstance(f"reduction: {reduction!r} needs a name, a source and a target")
    if reduction.name in _BY_NAME and _BY_NAME[reduction.name] is not reduction:
        raise InvalidInstance(f"reduction: the name {reduction.name!r} is taken")
    _BY_NAME[reduction.name] = reduction
    g.add_node(reduction.source)
    g.add_node(reduction.target)
    if g.has_edge(reduction.source, reduction.target):
        g.edges[reduction.source, reduction.target]["reductions"].append(reduction)
    else:
        g.add_edge(reduction.source, reduction.target, reductions=[reduction], overhead=reduction.overhead,
                   name=reduction.name)
    return reduction


def _builtin():
    from sethlab.reductions.attention_to_gradient import AttentionToGradient
    from sethlab.reductions.hamming_to_attention import HammingToAttention
    from sethlab.reductions.ov_to_attention import OVToAttention
    from sethlab.reductions.ov_to_hamming import OVToHamming
    from sethlab.reductions.sat_to_kov import SatToKOV
    from sethlab.reductions.sat_to_ov import SatToOV

    return [SatToOV(), SatToKOV(), OVToHamming(), OVToAttention(), HammingToAttention("tuned"), HammingToAttention("zero"),
            AttentionToGradient()]


def _graph() -> nx.DiGraph:
    global _GRAPH
    if _GRAPH is None:
        _GRAPH = nx.DiGraph()
        for r in _builtin():
            register(r, _GRAPH)
    return _GRAPH


def graph() -> nx.DiGraph:
    """The reduction graph (nodes: problems; edges: reductions with their size overhead)."""
    return _graph()


def get(name: str) -> Reduction:
    """A registered reduction by name, or a composed one named 'SRC..DST'."""
    _graph()
    if name in _BY_NAME:
        return _BY_NAME[name]
    if ".." in name:
        src, dst = name.split("..", 1)
        return path(src, dst)
    raise InvalidInstance(f"reduction: unknown {name!r}; known: {', '.join(names())}")


def names() -> list[str]:
    """Names of the registered reductions."""
    _graph()
    return sorted(_BY_NAME)


def path(src: str, dst: str) -> Reduction:
    """The shortest chain of default reductions from `src` to `dst`, composed into one reduction."""
    g = _graph()
    for node in (src, dst):
        if node not in g:
            raise InvalidInstance(f"problem: unknown {node!r}; known: {', '.join(sorted(g.nodes))}")
    try:
        nodes = nx.shortest_path(g, src, dst)
    except nx.NetworkXNoPath:
        raise InvalidInstance(f"path: no chain of reductions from {src} to {dst}") from None
    if len(nodes) < 2:
        raise InvalidInstance(f"path: {src} to itself is not a reduction")
    steps = [g.edges[a, b]["reductions"][0] for a, b in zip(nodes, nodes[1:])]
    return steps[0] if len(steps) == 1 else ComposedReduction(steps)


class ComposedReduction(Reduction):
    """A chain of reductions as one: predictions of the last step, witness maps composed through every step."""

    def __init__(self, steps: list[Reduction]):
        steps = list(steps)
        for a, b in zip(steps, steps[1:]):
            if a.target != b.source:
                raise InvalidInstance(f"path: {a.name} ends at {a.target} but {b.name} starts at {b.source}")
            if a.turing:
                raise InvalidInstance(f"path: the Turing reduction {a.name} can only be the last step")
        for k in range(1, len(steps)):  # a step may need the previous one to decide by its quantity
            need = steps[k].needs_quantity
            if need and hasattr(steps[k - 1], "with_quantity"):
                steps[k - 1] = steps[k - 1].with_quantity(need)
        self.steps = steps
        self.source, self.target = steps[0].source, steps[-1].target
        self.name = "+".join(s.name for s in steps)
        self.turing = steps[-1].turing

    def overhead(self, size: dict) -> dict:
        for s in self.steps:
            size = s.overhead(size)
        return size

    def apply(self, x) -> Image:
        """Apply every many-one step; a final Turing step gets the previous Image."""
        images = []
        cur = x
        many_one = self.steps[:-1] if self.turing else self.steps
        for s in many_one:
            image = s.apply(cur)
            images.append(image)
            cur = image.target
        if self.turing:
            last = self.steps[-1].apply(images[-1])
            images.append(last)
        final = images[-1]
        return Image(final.target, final.prediction, source_sizes=images[0].source_sizes,
                     meta={"images": images, "steps": [s.name for s in self.steps]})

    def decide(self, image: Image, result) -> Decision:
        return self.steps[-1].decide(image.meta["images"][-1], result)

    def solve(self, x, oracle=None, *, progress=None, memory_budget=None, **options) -> Decision:
        """Apply every many-one step, then solve: the last step's Turing `solve`, or the target's solver and
        `decide`. The Decision's `stages` give each step's sizes, entry bound and seconds.

        `progress(stage, done, total)` is called at each step and, for a Turing step, after every oracle call;
        `memory_budget` reaches the steps that size what they build.
        """
        report = progress or (lambda stage, done, total: None)
        stages, image, cur = [], None, x
        many_one = self.steps[:-1] if self.turing else self.steps
        for s in many_one:
            report(s.name, 0, None)
            t0 = time.perf_counter()
            kwargs = {"memory_budget": memory_budget} if "memory_budget" in inspect.signature(s.apply).parameters else {}
            image = s.apply(cur, **kwargs)
            p = image.prediction
            stages.append({"stage": s.name, "sizes": dict(p.sizes), "B": p.entry_bound,
                           "seconds": time.perf_counter() - t0})
            cur = image.target
        last = self.steps[-1]
        t0 = time.perf_counter()
        if self.turing:
            report(last.name, 0, None)
            if memory_budget is not None:
                options["memory_budget"] = memory_budget
            dec = last.solve(image, oracle, progress=lambda done, total: report("oracle calls", done, total), **options)
            stage = {"stage": last.name, "sizes": {**image.prediction.sizes, "calls": dec.calls},
                     "B": image.prediction.entry_bound, "seconds": time.perf_counter() - t0,
                     "nodes": dec.details.get("nodes"), "quadrature_error": dec.details.get("quadrature_error")}
        else:
            report(f"solve {self.target}", 0, 1)
            if memory_budget is not None and not get_problem(self.target).decision:
                options["memory_budget"] = memory_budget
            result = oracle(image.target) if oracle is not None else last.solve_target(image, **options)
            dec = last.decide(image, result)
            report(f"solve {self.target}", 1, 1)
            stage = {"stage": f"solve {self.target}", "sizes": dict(image.prediction.sizes),
                     "B": image.prediction.entry_bound, "seconds": time.perf_counter() - t0}
        return dataclasses.replace(dec, stages=stages + [stage])

    def forward_witness(self, image: Image, witness):
        for s, im in zip(self.steps, image.meta["images"]):
            if witness is None:
                return None
            witness = s.forward_witness(im, witness)
        return witness

    def backward_witness(self, image: Image, solution):
        images = image.meta["images"]
        for s, im in zip(reversed(self.steps), reversed(images)):
            if solution is None:
                return None
            solution = s.backward_witness(im, solution)
        return solution
