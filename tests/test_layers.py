"""The layers of the house, read from the source with `ast`: a forbidden arrow fails CI with
its file and line.

Between packages, the layers drawn in `study/__init__.py` (the core listed there once: checked
against the files and the README here):

    study/cli/        the top floor, and the only place that wires analysis into a run
    study/sweep/      Optuna studies, workers, the MLflow link    → tracking, trial, core
    study/science/    the reference table and the findings        → trial, core
    study/tracking/   the MLflow contract, writers and readers    → trial, core
    study/trial/      task, model, forgetting, training, metrics  → core
    study/*.py        core
    analysis/         runs → frames, regimes, phase fits, figures → tracking, core

Inside a package — no import cycle, `study/sweep/`'s own layers, the one door to Optuna's private
API, the core listed once — `tests/test_package_layers.py`.

Every import counts, lazy ones inside functions included; only `if TYPE_CHECKING:` blocks
(annotations, no arrow at run time) are skipped.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("study", "analysis")
SUBPACKAGES = ("study.trial", "study.tracking", "study.sweep", "study.science", "study.cli")
OUTSIDE = ("mlflow", "optuna", "click", "rich")

# (the layer, what it may not import, why)
RULES: list[tuple[str, tuple[str, ...], str]] = [
    (
        "study.trial",
        (*OUTSIDE, "analysis", "study.tracking", "study.sweep", "study.science", "study.cli"),
        "the trial core imports no tracking, sweeps, CLI or analysis",
    ),
    (
        "study.tracking",
        ("optuna", "click", "rich", "analysis", "study.sweep", "study.science", "study.cli"),
        "the tracking contract imports no Optuna, sweeps, CLI or analysis",
    ),
    (
        "study.sweep",
        ("click", "rich", "analysis", "study.cli", "study.science"),
        "sweeps are driven by the CLI and draw nothing themselves",
    ),
    (
        "study.science",
        (*OUTSIDE, "analysis", "study.tracking", "study.sweep", "study.cli"),
        "the science settings train trials directly",
    ),
    (
        "analysis",
        ("torch", "study.trial", "study.sweep", "study.science", "study.cli"),
        "analysis reads the tracking contract, not the trial or the sweep",
    ),
]


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module, dotted
    where: str  # file:line, relative to the tree's root

    def __str__(self) -> str:
        return f"{self.where}: imports {self.target}"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(path: Path, root: Path) -> Iterator[Import]:
    """Every import in one file; `from a import b` counts as importing `a` and `a.b`."""
    module = module_name(path, root)
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = _type_checking_lines(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    rel = path.relative_to(root).as_posix()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom) or node.lineno in skip:
            continue
        where = f"{rel}:{node.lineno}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, where)
            continue
        base = node.module or ""
        if node.level:  # relative: resolved against the package
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        yield Import(module, base, where)
        for alias in node.names:
            yield Import(module, f"{base}.{alias.name}", where)


def all_imports(root: Path = ROOT) -> list[Import]:
    return [
        imp
        for package in PACKAGES
        for path in sorted((root / package).rglob("*.py"))
        for imp in imports_of(path, root)
    ]


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_of(module: str) -> str | None:
    """`study.trial`, `analysis.figures`, …, or `study` / `analysis` for a package's own
    top-level modules; None outside the two packages."""
    parts = module.split(".")
    if parts[0] not in PACKAGES:
        return None
    if len(parts) > 2 or (len(parts) == 2 and (ROOT / parts[0] / parts[1]).is_dir()):
        return ".".join(parts[:2])
    return parts[0]


def violations(imports: list[Import]) -> list[str]:
    out = set()
    for imp in imports:
        for home, forbidden, why in RULES:
            if _under(imp.module, home) and any(_under(imp.target, f) for f in forbidden):
                out.add(f"{imp} — {why}")
        if layer_of(imp.module) == "study":
            forbidden = (*OUTSIDE, "analysis", *SUBPACKAGES)
            if any(_under(imp.target, f) for f in forbidden):
                out.add(f"{imp} — the core of study/ sits below every layer")
        in_study = _under(imp.module, "study") and not _under(imp.module, "study.cli")
        if in_study and _under(imp.target, "analysis"):
            out.add(f"{imp} — only study/cli/ wires analysis into a run")
    return sorted(out)


def cycles(imports: list[Import]) -> list[list[str]]:
    """Each cycle in the graph of layers, as the path that closes it."""
    edges: dict[str, set[str]] = {}
    for imp in imports:
        a, b = layer_of(imp.module), layer_of(imp.target)
        if a and b and a != b:
            edges.setdefault(a, set()).add(b)
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt in path:
                found.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in done:
                visit(nxt, [*path, nxt])
        done.add(node)

    for node in sorted(edges):
        if node not in done:
            visit(node, [node])
    return found


def test_no_forbidden_import():
    broken = violations(all_imports())
    assert not broken, "forbidden imports:\n" + "\n".join(broken)


def test_no_cycle_between_layers():
    found = cycles(all_imports())
    assert not found, "import cycles between layers: " + "; ".join(" → ".join(c) for c in found)


@pytest.mark.parametrize("layer", SUBPACKAGES)
def test_every_layer_is_a_package(layer):
    assert (ROOT / layer.replace(".", "/") / "__init__.py").is_file()


def test_the_checker_catches_a_forbidden_import_with_its_file_and_line(tmp_path):
    """Plant forbidden arrows in a small tree shaped like this one: each is reported once."""
    for folder in ("study/trial", "study/tracking", "study/cli", "analysis"):
        (tmp_path / folder).mkdir(parents=True)
    files = {
        "study/trial/loop.py": "import math\n\n\ndef f():\n    import mlflow\n",  # lazy counts
        "study/tracking/writer.py": "from study.sweep import launch\n",
        "study/config.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import study.trial\n",
        "study/cli/main.py": "import analysis.report\nimport study.sweep.launch\n",  # allowed
        "analysis/frames.py": "import polars\nfrom study.trial.model import MaskedLM\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    imports = [i for p in sorted(tmp_path.rglob("*.py")) for i in imports_of(p, tmp_path)]
    broken = violations(imports)
    assert [b.split(" — ")[0] for b in broken] == [
        "analysis/frames.py:2: imports study.trial.model",
        "analysis/frames.py:2: imports study.trial.model.MaskedLM",
        "study/tracking/writer.py:1: imports study.sweep",
        "study/tracking/writer.py:1: imports study.sweep.launch",
        "study/trial/loop.py:5: imports mlflow",
    ]


def test_the_checker_catches_a_cycle():
    planted = [
        Import("study.tracking.trial_run", "study.sweep.launch", "a.py:1"),
        Import("study.sweep.launch", "study.trial.train", "b.py:1"),
        Import("study.trial.train", "study.tracking.trial_run", "c.py:1"),
    ]
    assert cycles(planted) == [["study.sweep", "study.trial", "study.tracking", "study.sweep"]]
    assert cycles(planted[:2]) == []
