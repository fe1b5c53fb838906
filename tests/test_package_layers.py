"""The layers inside the packages, read from the source with `ast` (the layers between them:
`tests/test_layers.py`): no import cycle among a package's modules, `study/sweep/`'s own layers
as its `__init__` draws them, Optuna's private API behind one door, and the core of `study/`
listed once, in `study/__init__.py`, checked against the files and the README.

Every import counts, lazy ones inside functions included; only `if TYPE_CHECKING:` blocks are
skipped.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.test_layers import PACKAGES, ROOT, Import, all_imports, imports_of

# ---- inside a package: modules -------------------------------------------------------------


def module_of(target: str, root: Path) -> str | None:
    """The module of the tree an imported name lives in (`study.sweep.attrs.RUN` →
    `study.sweep.attrs`), or None outside the tree."""
    parts = target.split(".")
    for n in range(len(parts), 0, -1):
        path = root.joinpath(*parts[:n])
        if path.with_suffix(".py").is_file() or (path / "__init__.py").is_file():
            return ".".join(parts[:n])
    return None


def module_edges(imports: list[Import], root: Path) -> dict[str, set[str]]:
    """Arrows between modules of one package (a package's `__init__` is left out: it is the
    package, not a module beside the others)."""
    edges: dict[str, set[str]] = {}
    for imp in imports:
        target = module_of(imp.target, root)
        if target is None or target == imp.module:
            continue
        package = imp.module.rpartition(".")[0]
        if target.rpartition(".")[0] == package and target != package:
            edges.setdefault(imp.module, set()).add(target)
    return edges


def module_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Each group of modules that import each other round a loop (strongly connected)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def test_no_cycle_inside_a_package():
    groups = module_cycles(module_edges(all_imports(), ROOT))
    assert not groups, "modules that import each other round a loop: " + "; ".join(
        " ↔ ".join(g) for g in groups
    )


def test_the_checker_catches_a_cycle_inside_a_package(tmp_path):
    """A planted loop of three modules, closed by a lazy import, is found; without the lazy
    import there is none."""
    (tmp_path / "study" / "sweep").mkdir(parents=True)
    (tmp_path / "study" / "sweep" / "__init__.py").write_text("")
    files = {
        "space.py": "from study.sweep.boundary import BoundarySampler\n",
        "boundary.py": "from study.sweep import queue\n",
        "queue.py": "def fill():\n    from study.sweep.space import grid_points\n",  # lazy
        "status.py": "from study.sweep.queue import fill\n",  # into the loop, not part of it
    }
    for name, text in files.items():
        (tmp_path / "study" / "sweep" / name).write_text(text)
    paths = sorted((tmp_path / "study").rglob("*.py"))
    imports = [i for p in paths for i in imports_of(p, tmp_path)]
    groups = module_cycles(module_edges(imports, tmp_path))
    assert groups == [["study.sweep.boundary", "study.sweep.queue", "study.sweep.space"]]
    (tmp_path / "study" / "sweep" / "queue.py").write_text("def fill():\n    pass\n")
    imports = [i for p in paths for i in imports_of(p, tmp_path)]
    assert module_cycles(module_edges(imports, tmp_path)) == []


LAYER_LINE = re.compile(r"^    (\w+):\s+([\w ]+?)\s*(?:—|$)")


def drawn_layers(docstring: str) -> list[list[str]]:
    """The layers a package's docstring draws, top first: `    name:  mod mod  — what`."""
    return [m.group(2).split() for line in docstring.splitlines() if (m := LAYER_LINE.match(line))]


def test_the_sweep_layers_hold():
    package = ROOT / "study" / "sweep"
    layers = drawn_layers(ast.get_docstring(ast.parse((package / "__init__.py").read_text())))
    rank = {f"study.sweep.{m}": i for i, layer in enumerate(layers) for m in layer}
    modules = {f"study.sweep.{p.stem}" for p in package.glob("*.py") if p.stem != "__init__"}
    assert set(rank) == modules, "the drawn layers and the files differ"
    edges = module_edges([i for i in all_imports() if i.module in modules], ROOT)
    upward = [f"{a} → {b}" for a, targets in edges.items() for b in targets if rank[b] < rank[a]]
    assert not upward, "imports of a layer above: " + ", ".join(sorted(upward))


# ---- one door to Optuna's private API ------------------------------------------------------

DOOR = "study/sweep/optuna_private.py"
OWN = ("self", "cls", "aten")  # an object's own attributes; torch.ops.aten's ops are public


def private_uses(path: Path, root: Path) -> list[str]:
    """`file:line: expr` for each private attribute read off another object, and each import
    from a private Optuna module."""
    tree = ast.parse(path.read_text())
    rel = path.relative_to(root).as_posix()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            own = isinstance(node.value, ast.Name) and node.value.id in OWN
            if not own and not node.attr.startswith("__"):
                found.append(f"{rel}:{node.lineno}: {ast.unparse(node)}")
        module = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
        if module.startswith("optuna") and any(p.startswith("_") for p in module.split(".")):
            found.append(f"{rel}:{node.lineno}: from {module}")
    return sorted(found)


def test_optunas_private_api_has_one_door():
    found = [
        use
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.relative_to(ROOT).as_posix() != DOOR
        for use in private_uses(path, ROOT)
    ]
    assert not found, f"private names outside {DOOR}:\n" + "\n".join(found)
    assert private_uses(ROOT / DOOR, ROOT), "the door uses no private name: remove it"


def test_the_door_check_catches_a_private_name(tmp_path):
    (tmp_path / "queue.py").write_text(
        "from optuna.storages._rdb import models\n\n\ndef claim(study, trial):\n"
        "    self = study\n    return study._storage.get_trial(trial._trial_id), self._own\n"
    )
    assert private_uses(tmp_path / "queue.py", tmp_path) == [
        "queue.py:1: from optuna.storages._rdb",
        "queue.py:6: study._storage",
        "queue.py:6: trial._trial_id",
    ]


# ---- the core, listed once -------------------------------------------------------------------

CORE_LINE = re.compile(r"^    (\w+\.py)\s{2,}\S")


def listed_core() -> list[str]:
    doc = ast.get_docstring(ast.parse((ROOT / "study" / "__init__.py").read_text())) or ""
    return [m.group(1) for line in doc.splitlines() if (m := CORE_LINE.match(line))]


def test_the_core_is_listed_once_and_whole():
    files = sorted(p.name for p in (ROOT / "study").glob("*.py") if p.name != "__init__.py")
    assert sorted(listed_core()) == files, "study/__init__.py's core table and the files differ"
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout") :]
    missing = [name for name in files if name not in layout]
    assert not missing, f"the README's layout leaves out {missing}"
