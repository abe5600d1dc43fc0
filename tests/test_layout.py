"""The layout holds (docs/design.md): the library never imports the application, no import cycle (lazy
imports included), no import below the code, every citation points into docs/ and to a section that exists,
the public names of the README keep working, and the license matches pyproject."""

import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PKG = ROOT / "sethlab"


def modules():
    out = {}
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        out[name] = path
    return out


def imports_of(name, path, mods=None):
    """Every sethlab module `name` imports, at the top or inside functions (`from pkg import sub` counts as sub)."""
    mods = modules() if mods is None else mods
    tree = ast.parse(path.read_text())
    found = set()
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("sethlab")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            if base.startswith("sethlab"):
                subs = {f"{base}.{a.name}" for a in node.names} & set(mods)
                names = [a.name for a in node.names if f"{base}.{a.name}" not in mods]
                found |= subs | ({base} if names else set())
    return found


def graph():
    mods = modules()
    return {name: {m for m in imports_of(name, path, mods) if m in mods and m != name} for name, path in mods.items()}


def test_the_library_never_imports_the_application():
    offenders = {n: sorted(m for m in deps if m.startswith("sethlab.app"))
                 for n, deps in graph().items() if not n.startswith("sethlab.app") and n != "sethlab.__main__"}
    assert not {n: d for n, d in offenders.items() if d}


def test_no_import_cycle():
    g = graph()
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            # a package importing its own submodules is not a cycle of behaviour
            real = [c for c in comp if not any(o != c and o.startswith(c + ".") for o in comp)]
            if len(real) > 1:
                cycles.append(sorted(comp))

    for v in g:
        if v not in index:
            visit(v)
    assert not cycles


def test_no_import_below_the_code():
    late = []
    for name, path in modules().items():
        seen_code = False
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
                seen_code = True
            elif isinstance(node, (ast.Import, ast.ImportFrom)) and seen_code:
                late.append(f"{name}:{node.lineno}")
    assert not late


TEXT = [p for d in ("sethlab", "tests", "bench", "examples") for p in (ROOT / d).rglob("*.py")] + \
    [ROOT / "README.md"] + list((ROOT / "docs").glob("*.md"))


def test_nothing_cites_a_file_outside_the_repository():
    bad = [str(p.relative_to(ROOT)) for p in TEXT if re.search(r"\b(MATH|DESIGN)\.md", p.read_text())]
    assert not bad


def _headings(page):
    return set(re.findall(r"^#+ §([0-9.]+)", (ROOT / "docs" / page).read_text(), re.MULTILINE))


def test_every_docs_citation_exists():
    missing = []
    for p in TEXT:
        for page, secs in re.findall(r"docs/([a-z]+\.md)((?:,? §[0-9.]+(?:-[0-9.]+)?)*)", p.read_text()):
            if not (ROOT / "docs" / page).exists():
                missing.append(f"{p.name}: docs/{page}")
                continue
            for sec in re.findall(r"§([0-9]+(?:\.[0-9]+)*)", secs):
                if sec not in _headings(page):
                    missing.append(f"{p.name}: docs/{page} §{sec}")
    assert not missing


def test_every_named_docs_section_exists():
    """A citation by name (docs/<page>.md, "<heading>") names a heading of that page."""
    missing = []
    for p in TEXT:
        for page, name in re.findall(r'docs/([a-z_]+\.md),? "([^"]+)"', p.read_text()):
            path = ROOT / "docs" / page
            heads = set(re.findall(r"^#+ (?:§[0-9.]+ )?(.+?)\s*$", path.read_text(), re.MULTILINE)) if path.exists() else set()
            if name not in heads:
                missing.append(f"{p.name}: docs/{page} \"{name}\"")
    assert not missing


def test_license_matches_pyproject():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert 'license = { text = "MIT" }' in (ROOT / "pyproject.toml").read_text()


def test_the_readmes_public_names_keep_working():
    import sethlab
    import sethlab.attention as sa
    import sethlab.reductions as sr
    from sethlab.reductions.verify import check
    from sethlab.solvers import solve_kov, solve_ov, solve_sat
    from sethlab.testing import assert_reduction, cnfs, gap_hamming_instances, kov_instances, ov_instances

    for name in ("AttentionInstance", "GradientInstance", "attention", "loss_gradient", "plan", "loss"):
        assert callable(getattr(sa, name))
    for name in ("get", "path", "names", "Reduction", "Image", "register", "graph"):
        assert hasattr(sr, name)
    assert callable(sethlab.decide) and callable(check) and callable(assert_reduction)
    assert all(callable(f) for f in (solve_kov, solve_ov, solve_sat, cnfs, ov_instances, kov_instances,
                                     gap_hamming_instances))
    assert issubclass(sethlab.InvalidInstance, ValueError)
    import sethlab.approx as ap

    assert all(callable(getattr(ap, name)) for name in ("names", "get", "evaluate", "evaluate_many", "parameters"))


@pytest.mark.parametrize("page", ["problems.md", "polynomial.md", "rounding.md", "reductions.md", "quadrature.md",
                                  "decision.md", "misprints.md", "design.md", "approx.md", "README.md"])
def test_docs_pages_exist(page):
    assert len((ROOT / "docs" / page).read_text()) > 500
