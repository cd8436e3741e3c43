"""The package's layers: every import (in-function ones included) points down or sideways within
a layer, never up, and no two modules import each other, directly or around a loop.

The order, lowest first (``docs/architecture.md`` draws it): the integer contract (``model``)
and what only depends on it; the wire contract (``link``) and the tool set-up (``toolchain``);
the gateware (``hdl``); the compiler; the boards; the simulators; the host side; the command
line. A module may import its own layer and every layer below it.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: layer of each top-level package or module, lowest first
LAYERS = (
    ("model",),
    ("datasets", "link", "toolchain"),
    ("hdl",),
    ("compiler",),
    ("boards",),
    ("sim",),
    ("host", "viz"),
    ("cli",),
)
LEVEL = {name: level for level, names in enumerate(LAYERS) for name in names}
SKIP = {"tests", "benchmarks", "build", "docs", ".venv", "reports"}


def _modules():
    """``{dotted module name (without 'spikeforge.'): path}`` of the package."""
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).parts
        if parts[0] in SKIP or parts[0].startswith(".") or (len(parts) == 1 and parts[0] in (
                "__init__.py", "setup.py")):
            continue
        dotted = ".".join(parts)[:-3]
        found[dotted.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _resolve(module, is_package, node):
    """The spikeforge modules an import statement in ``module`` brings in (without the
    ``spikeforge.`` prefix): ``from a.b import c`` is module ``a.b.c`` if there is one, else
    ``a.b``; a relative import is resolved against ``module``'s package first."""
    if isinstance(node, ast.Import):
        return [a.name.removeprefix("spikeforge.") for a in node.names
                if a.name.startswith("spikeforge.")]
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        base = package[:len(package) - node.level + 1]
        stem = ".".join([*base, node.module] if node.module else base)
    elif (node.module or "").startswith("spikeforge."):
        stem = node.module.removeprefix("spikeforge.")
    else:
        return []
    return [f"{stem}.{a.name}" if f"{stem}.{a.name}" in MODULES else stem for a in node.names]


def import_graph():
    """``{module: {imported module: line}}`` over every import statement, wherever it is."""
    graph = {}
    for module, path in MODULES.items():
        is_package = path.name == "__init__.py"
        edges = {}
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target in _resolve(module, is_package, node):
                    if target in MODULES and target != module:
                        edges.setdefault(target, node.lineno)
        graph[module] = edges
    return graph


GRAPH = import_graph()


def _level(module):
    return LEVEL.get(module.split(".")[0])


def test_every_top_level_part_has_a_layer():
    tops = {module.split(".")[0] for module in MODULES}
    assert tops <= set(LEVEL), f"no layer for {sorted(tops - set(LEVEL))}: add it to LAYERS"


def upward_imports(graph):
    """``path:line imports X`` for every import of a higher layer."""
    return [f"{MODULES[m].relative_to(ROOT)}:{line} imports {target} ({target.split('.')[0]} "
            f"is above {m.split('.')[0]})"
            for m, edges in graph.items() for target, line in edges.items()
            if _level(target) > _level(m)]


def test_no_import_points_up():
    upward = upward_imports(GRAPH)
    assert not upward, "\n".join(upward)


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _without_package_inits(graph):
    """Edges between modules, not through a package's ``__init__`` re-exports: an import of a
    package is an import of what it re-exports, so it is left out of the cycle search (the
    ``__init__`` imports its own modules, and every module of it may import the package)."""
    packages = {m for m, p in MODULES.items() if p.name == "__init__.py"}
    return {m: [t for t in edges if t not in packages] for m, edges in graph.items()
            if m not in packages}


def test_no_import_cycles():
    cycles = _cycles(_without_package_inits(GRAPH))
    assert not cycles, "modules that import each other: " + "; ".join(
        " ↔ ".join(c) for c in cycles)


def test_the_checks_are_not_vacuous():
    """The imports this layering removed would be caught, and so would a loop of two."""
    assert upward_imports({"hdl.host_link": {"host.protocol": 54},
                           "model.training.trainer": {"compiler.discretize": 74}}) == [
        "hdl/host_link.py:54 imports host.protocol (host is above hdl)",
        "model/training/trainer.py:74 imports compiler.discretize (compiler is above model)"]
    assert _cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
    assert len(GRAPH) == len(MODULES) > 100


def test_every_gateware_file_is_in_the_hdl_docs_table():
    table = (ROOT / "docs" / "hdl.md").read_text()
    missing = [p.name for p in sorted((ROOT / "hdl").glob("*.py"))
               if p.name != "__init__.py" and f"`{p.name}`" not in table]
    assert not missing, f"describe {missing} in docs/hdl.md's file table"
